package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// byteSize is a size in bytes that flags take as "100MiB", "1.5GB" or
// "4096": binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal
// ones (kB, MB, GB, TB) powers of 1000.
type byteSize int64

var units = []struct {
	suffix string
	factor float64
}{
	// Longest first, so "MiB" is not read as "M" followed by junk.
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

func parseSize(s string) (byteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	factor := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(n) || n < 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes such as 4096, 512KiB or 100MiB", s)
	}
	v := n * factor
	if v >= math.MaxInt64 {
		return 0, errors.New("size " + strconv.Quote(s) + " is too large")
	}
	return byteSize(v), nil
}

// Set implements flag.Value.
func (b *byteSize) Set(s string) error {
	v, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String implements flag.Value, in the largest binary unit that divides
// the size exactly.
func (b byteSize) String() string {
	n := int64(b)
	for _, u := range []struct {
		name  string
		shift uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
