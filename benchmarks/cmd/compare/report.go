package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything a run produced; it is saved as JSON.
type report struct {
	Kind     string            `json:"kind,omitempty"` // "fanout", or empty for the echo scenarios
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Machine  machine           `json:"machine"`
	Settings settings          `json:"settings"`
	Pinning  string            `json:"pinning"`
	Skipped  map[string]string `json:"skipped,omitempty"` // server → why
	Notes    []string          `json:"notes,omitempty"`
	Fanout   *fanoutSettings   `json:"fanout,omitempty"`
	Runs     []record          `json:"runs"`
}

type settings struct {
	Rounds       int    `json:"rounds"`
	Retries      int    `json:"retries"`
	RetryBudget  string `json:"retry_budget"`
	Warmup       string `json:"warmup"`
	Duration     string `json:"duration"`
	MinTicks     int64  `json:"min_server_ticks"`
	IdleConns    int    `json:"idle_conns"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	TicksPerSec  int    `json:"ticks_per_second"`
	RoundRotates bool   `json:"round_order_rotates"`
}

type machine struct {
	CPUs   int    `json:"cpus"`
	Model  string `json:"cpu_model"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

func newReport(start time.Time, o *options, pinning string) *report {
	return &report{
		Started: start,
		Machine: describeMachine(),
		Settings: settings{
			Rounds:       o.rounds,
			Retries:      o.retries,
			RetryBudget:  o.retryBudget.String(),
			Warmup:       o.warmup.String(),
			Duration:     o.duration.String(),
			MinTicks:     o.minTicks,
			IdleConns:    o.idleConns,
			GOMAXPROCS:   1,
			TicksPerSec:  100,
			RoundRotates: true,
		},
		Pinning: pinning,
		Skipped: map[string]string{},
	}
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// save writes the report to a new timestamped file in dir.
func (r *report) save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	prefix := "compare-"
	if r.Kind != "" {
		prefix = r.Kind + "-"
	}
	file := filepath.Join(dir, prefix+r.Started.Format("20060102-150405")+".json")
	return file, os.WriteFile(file, append(b, '\n'), 0o644)
}

// failed reports whether any measurement failed.
func (r *report) failed() bool {
	return slices.ContainsFunc(r.Runs, func(rec record) bool { return rec.Error != "" })
}
