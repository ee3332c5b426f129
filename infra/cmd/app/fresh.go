package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// checkFresh refuses to synthesize with a function binary older than the
// newest source it could be built from (any non-test Go file under
// functions/ or internal/, go.mod, go.sum), so that a deploy never ships
// yesterday's code with today's template. It is coarse, any source change
// makes every binary stale, because telling which package a binary depends
// on is the compiler's job, and `make build` rebuilds them all in seconds
// from the build cache (and touches them, so an unchanged binary counts as
// fresh).
func checkFresh(root string, functions []string) error {
	newest, newestPath, err := newestSource(root)
	if err != nil {
		return err
	}
	var stale []string
	for _, fn := range functions {
		bin := filepath.Join(root, "bin", fn, "bootstrap")
		fi, err := fs.Stat(dirFS(root), filepath.ToSlash(filepath.Join("bin", fn, "bootstrap")))
		if err != nil {
			return fmt.Errorf("function %s: %w (run `make build` first)", fn, err)
		}
		if fi.ModTime().Before(newest) {
			stale = append(stale, bin)
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("%s older than %s: run `make build` (cdk.json runs it before every cdk command)", strings.Join(stale, ", "), newestPath)
	}
	return nil
}

// newestSource returns the modification time and path of the newest source
// under root.
func newestSource(root string) (time.Time, string, error) {
	var newest time.Time
	var path string
	consider := func(p string, fi fs.FileInfo) {
		if fi.ModTime().After(newest) {
			newest, path = fi.ModTime(), p
		}
	}
	fsys := dirFS(root)
	for _, f := range []string{"go.mod", "go.sum"} {
		if fi, err := fs.Stat(fsys, f); err == nil {
			consider(f, fi)
		}
	}
	for _, dir := range []string{"functions", "internal"} {
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			consider(p, fi)
			return nil
		})
		if err != nil {
			return time.Time{}, "", err
		}
	}
	return newest, path, nil
}

func dirFS(root string) fs.FS { return os.DirFS(root) }
