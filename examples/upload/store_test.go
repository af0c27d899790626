package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// Uploads of one name that finish together each get a name of their own.
func TestCommitConcurrentSameName(t *testing.T) {
	st := &store{dir: t.TempDir()}
	const n = 8
	sum := sha256.Sum256([]byte("same"))
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		p, err := st.begin()
		if err != nil {
			t.Fatal(err)
		}
		p.Write([]byte("same"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, err := p.commit("a.txt", sum[:])
			if err != nil {
				t.Error(err)
			}
			names[i] = name
		}()
	}
	wg.Wait()
	slices.Sort(names)
	if len(slices.Compact(slices.Clone(names))) != n {
		t.Fatalf("names were shared: %q", names)
	}
	entries, _ := os.ReadDir(st.dir)
	if len(entries) != n {
		t.Fatalf("%d entries in the directory, want %d (no temporary files)", len(entries), n)
	}
}

func TestAbortAfterCommitKeepsTheFile(t *testing.T) {
	st := &store{dir: t.TempDir()}
	p, _ := st.begin()
	p.Write([]byte("x"))
	sum := sha256.Sum256([]byte("x"))
	name, err := p.commit("x.txt", sum[:])
	if err != nil {
		t.Fatal(err)
	}
	p.abort()
	if _, err := os.Stat(filepath.Join(st.dir, name)); err != nil {
		t.Fatalf("abort after commit removed the file: %v", err)
	}
}

func TestRemoveStale(t *testing.T) {
	st := &store{dir: t.TempDir()}
	old := time.Now().Add(-48 * time.Hour)
	for _, name := range []string{".upload-1.part", ".upload-2.part", "keep.part", "kept.txt"} {
		path := filepath.Join(st.dir, name)
		os.WriteFile(path, nil, 0o600)
		os.Chtimes(path, old, old)
	}
	fresh, _ := st.begin() // in progress: must survive
	defer fresh.abort()

	if err := st.removeStale(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	var got []string
	entries, _ := os.ReadDir(st.dir)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{filepath.Base(fresh.f.Name()), "keep.part", "kept.txt"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("left %q, want %q", got, want)
	}
}
