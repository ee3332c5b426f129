package main

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// floorName is the SDK-floor binary's name among the functions'.
const floorName = "floor"

// floorPkg is the SDK floor's package, relative to the module root.
const floorPkg = "./cmd/coldstart/floor"

// watchedModules are the modules whose presence in a binary says whether it
// links more than it serves: phone parsing, notifications and the local
// stream reader.
var watchedModules = []string{
	"github.com/nyaruka/phonenumbers",
	"github.com/aws/aws-sdk-go-v2/service/sns",
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams",
}

// binary is one program under test, built for both architectures.
type binary struct {
	name string
	// path is the linux/amd64 build, the one this machine runs.
	path string
	// arm64Size is the size in bytes of the linux/arm64 build, what is
	// deployed.
	arm64Size int64
	// links says, per watched module, whether the build lists it.
	links map[string]bool
}

// functionNames lists the functions under root/functions, each a
// directory with a main.go.
func functionNames(root string) ([]string, error) {
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no functions/*/main.go under %s", root)
	}
	slices.Sort(names)
	return names, nil
}

// buildAll builds every function and the floor for linux/amd64 and
// linux/arm64 into dir, with the Makefile's flags for a bootstrap, and reads
// the arm64 sizes and module lists. The floor comes last.
func buildAll(ctx context.Context, goCmd, root, dir string, names []string, log io.Writer) ([]binary, error) {
	pkgs := []string{}
	for _, n := range names {
		pkgs = append(pkgs, "./functions/"+n)
	}
	pkgs = append(pkgs, floorPkg)
	for _, arch := range []string{"amd64", "arm64"} {
		fmt.Fprintf(log, "building %d binaries for linux/%s…\n", len(pkgs), arch)
		out := filepath.Join(dir, arch) + string(filepath.Separator)
		args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out}, pkgs...)
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build for linux/%s: %w", arch, err)
		}
	}
	var bins []binary
	for _, n := range append(slices.Clone(names), floorName) {
		b := binary{name: n, path: filepath.Join(dir, "amd64", n)}
		arm := filepath.Join(dir, "arm64", n)
		fi, err := os.Stat(arm)
		if err != nil {
			return nil, err
		}
		b.arm64Size = fi.Size()
		if b.links, err = linkedModules(arm); err != nil {
			return nil, err
		}
		bins = append(bins, b)
	}
	return bins, nil
}

// linkedModules reports which watched modules the binary's build
// information lists: what `go version -m` prints.
func linkedModules(path string) (map[string]bool, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read build information of %s: %w", path, err)
	}
	links := map[string]bool{}
	for _, d := range info.Deps {
		for _, w := range watchedModules {
			if d.Path == w {
				links[w] = true
			}
		}
	}
	return links, nil
}

// shortModule is the last element of a module path, for table headings.
func shortModule(m string) string { return m[strings.LastIndex(m, "/")+1:] }
