package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wirekit/websocket/benchmarks/loadgen"
)

// RunLoadgen runs the load generator binary bin, pinned to cpu, with args,
// and decodes its result. A failed run's error carries the load
// generator's own explanation, such as the first echo that did not match.
func RunLoadgen(ctx context.Context, bin string, cpu int, args ...string) (*loadgen.Result, error) {
	cmd := command(ctx, cpu, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return nil, err
	}
	var res loadgen.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("load generator output: %w", err)
	}
	return &res, nil
}
