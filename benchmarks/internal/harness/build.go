package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModulePath is the import path of the benchmarks module.
const ModulePath = "github.com/wirekit/websocket/benchmarks"

// ModuleRoot finds the benchmarks module's directory by walking up from the
// working directory, so the commands work from any directory inside it.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+ModulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the " + ModulePath + " module")
		}
		dir = parent
	}
}

// ErrAbsent reports a server whose source does not exist (yet).
var ErrAbsent = errors.New("source not found")

// Build compiles srv into binDir and returns the binary's path. root is
// the benchmarks module's directory.
func Build(ctx context.Context, root, binDir string, srv Server) (string, error) {
	modDir := filepath.Join(root, srv.Module)
	if !hasGoFiles(filepath.Join(modDir, srv.Package)) {
		return "", fmt.Errorf("%s: %s: %w", srv.Name, filepath.Join(modDir, srv.Package), ErrAbsent)
	}
	return build(ctx, modDir, srv.Package, filepath.Join(binDir, srv.Name))
}

// BuildLoadgen compiles cmd/loadgen into binDir.
func BuildLoadgen(ctx context.Context, root, binDir string) (string, error) {
	return build(ctx, root, "./cmd/loadgen", filepath.Join(binDir, "loadgen"))
}

func build(ctx context.Context, dir, pkg, out string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (in %s): %w\n%s", pkg, dir, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}
