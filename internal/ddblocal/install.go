package ddblocal

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	// npmPackage is the npm package that carries DynamoDB Local, pinned by
	// version and by the sha256 of its tarball.
	npmPackage       = "amplify-dynamodb-simulator"
	npmVersion       = "2.9.30"
	npmTarballSHA256 = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"

	// tarPrefix is the directory of the tarball that is extracted.
	tarPrefix = "package/emulator/"

	// installName is the directory under the cache directory the emulator
	// is installed in.
	installName = "dynamodb-local-" + npmVersion
	// JarName is the DynamoDB Local jar inside the emulator directory.
	JarName = "DynamoDBLocal.jar"
	// markerName is written last into a verified, complete extraction,
	// before the extraction is renamed into place.
	markerName = ".clientele-installed"
	// tmpPrefix starts the names of Install's temporary directories.
	tmpPrefix = ".tmp-" + installName + "-"
)

// Install makes sure DynamoDB Local is unpacked in cacheDir and returns the
// emulator directory, cacheDir/dynamodb-local-2.9.30, which holds
// DynamoDBLocal.jar and DynamoDBLocal_lib/.
//
// If a previous install completed it returns at once. Otherwise it runs
// `npm pack amplify-dynamodb-simulator@2.9.30` in a temporary directory in
// cacheDir, refuses (and deletes) the tarball unless its sha256 is the
// pinned one, extracts package/emulator/ into another temporary directory and
// renames that into place. An flock on cacheDir/dynamodb-local-2.9.30.lock
// serialises concurrent installers (several test binaries starting at once);
// readers never see a partial extraction because the directory only appears,
// complete and marked, by rename. Progress and npm's messages go to log.
func Install(ctx context.Context, cacheDir string, log io.Writer) (emulatorDir string, err error) {
	log = logWriter(log)
	if cacheDir == "" {
		return "", errors.New("ddblocal: empty cache directory")
	}
	cacheDir, err = filepath.Abs(cacheDir)
	if err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	dest := filepath.Join(cacheDir, installName)
	if installed(dest, npmTarballSHA256) {
		return dest, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cacheDir, installName+".lock"), log)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another installer may have finished while we waited for the lock.
	if installed(dest, npmTarballSHA256) {
		return dest, nil
	}
	removeStale(cacheDir)

	fmt.Fprintf(log, "ddblocal: installing DynamoDB Local from npm %s@%s into %s\n", npmPackage, npmVersion, dest)
	started := time.Now()
	packDir, err := os.MkdirTemp(cacheDir, tmpPrefix+"npm-")
	if err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	defer os.RemoveAll(packDir)
	tgz, err := npmPack(ctx, packDir, npmPackage+"@"+npmVersion, log)
	if err != nil {
		return "", err
	}
	if err := installTarball(tgz, npmTarballSHA256, dest); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "ddblocal: installed DynamoDB Local in %s\n", time.Since(started).Round(time.Millisecond))
	return dest, nil
}

// installed reports whether dir is a complete extraction of the tarball
// whose sha256 is sum.
func installed(dir, sum string) bool {
	marker, err := os.ReadFile(filepath.Join(dir, markerName))
	if err != nil || strings.TrimSpace(string(marker)) != markerContent(sum) {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, JarName))
	return err == nil && fi.Mode().IsRegular()
}

func markerContent(sum string) string {
	return "sha256:" + sum
}

// lockFile takes an exclusive flock on name, polling so that ctx can cancel
// the wait. The lock dies with the process, so a crashed installer cannot
// leave it held.
func lockFile(ctx context.Context, name string, log io.Writer) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ddblocal: %w", err)
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("ddblocal: lock %s: %w", name, err)
		}
		if !said {
			fmt.Fprintf(log, "ddblocal: waiting for another install to finish (%s)\n", name)
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("ddblocal: waiting for lock %s: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeStale deletes temporary directories and half-installs left by
// installers that died. Call it only while holding the lock.
func removeStale(cacheDir string) {
	entries, _ := os.ReadDir(cacheDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			os.RemoveAll(filepath.Join(cacheDir, e.Name()))
		}
	}
	// An unmarked destination (say, from a version of this code that
	// extracted in place) is not trusted.
	dest := filepath.Join(cacheDir, installName)
	if _, err := os.Lstat(dest); err == nil && !installed(dest, npmTarballSHA256) {
		os.RemoveAll(dest)
	}
}

// npmPack runs `npm pack spec` in dir and returns the path of the tarball it
// wrote.
func npmPack(ctx context.Context, dir, spec string, log io.Writer) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("ddblocal: npm is needed to download DynamoDB Local: %w", err)
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, npm, "pack", spec, "--ignore-scripts")
	cmd.Dir = dir
	cmd.Stdout = &stdout
	cmd.Stderr = log
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ddblocal: npm pack %s: %w (stdout: %q)", spec, err, tail(stdout.String(), 500))
	}
	// npm prints the tarball's file name as its last line of output.
	var name string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			name = line
		}
	}
	if name == "" || name != filepath.Base(name) || !strings.HasSuffix(name, ".tgz") {
		return "", fmt.Errorf("ddblocal: npm pack %s: unexpected output %q", spec, tail(stdout.String(), 500))
	}
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("ddblocal: npm pack %s: no tarball %s", spec, p)
	}
	return p, nil
}

// installTarball checks that the tarball tgz has sha256 wantSHA256 —
// deleting it otherwise — then extracts its package/emulator/ directory to a
// temporary directory beside dest, marks it complete and renames it to dest.
func installTarball(tgz, wantSHA256, dest string) error {
	got, err := fileSHA256(tgz)
	if err != nil {
		return fmt.Errorf("ddblocal: %w", err)
	}
	if got != strings.ToLower(wantSHA256) {
		os.Remove(tgz)
		return fmt.Errorf("ddblocal: refusing %s: sha256 %s, want %s (deleted)", filepath.Base(tgz), got, wantSHA256)
	}

	tmp, err := os.MkdirTemp(filepath.Dir(dest), tmpPrefix+"x-")
	if err != nil {
		return fmt.Errorf("ddblocal: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := extract(tgz, tarPrefix, tmp); err != nil {
		return fmt.Errorf("ddblocal: extract %s: %w", filepath.Base(tgz), err)
	}
	if err := checkJar(tmp); err != nil {
		return fmt.Errorf("ddblocal: %s: %w", filepath.Base(tgz), err)
	}
	if err := os.WriteFile(filepath.Join(tmp, markerName), []byte(markerContent(got)+"\n"), 0o644); err != nil {
		return fmt.Errorf("ddblocal: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return fmt.Errorf("ddblocal: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		// Without the lock (or across hosts sharing the cache) another
		// installer may have won the race; its result is as good as ours.
		if installed(dest, got) {
			return nil
		}
		return fmt.Errorf("ddblocal: %w", err)
	}
	return nil
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// extract writes the regular files and directories of the gzipped tarball
// tgz found under prefix into dir, without the prefix. Links and entries
// escaping dir are errors.
func extract(tgz, prefix, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	found := false
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		found = true
		rel := path.Clean(strings.TrimPrefix(name, prefix))
		if rel == "." {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("entry %q escapes the destination", hdr.Name)
		}
		rel = filepath.FromSlash(rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(rel, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if d := filepath.Dir(rel); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			mode := fs.FileMode(0o644)
			if hdr.Mode&0o111 != 0 {
				mode = 0o755
			}
			out, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return err
			}
			n, err := io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", hdr.Name, err)
			}
			if n != hdr.Size {
				return fmt.Errorf("%s: short read", hdr.Name)
			}
		case tar.TypeSymlink, tar.TypeLink:
			return fmt.Errorf("entry %q is a link", hdr.Name)
		default:
			// Anything else (FIFOs, devices) has no business here.
			return fmt.Errorf("entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
		}
	}
	if !found {
		return fmt.Errorf("no %s in the tarball", prefix)
	}
	return nil
}

// checkJar makes sure dir holds the jar. (The package's emulator/sha256 is
// the sha256 of the upstream AWS tarball, not of the jar, so there is nothing
// further to compare; the tarball's own pinned sha256 covers the contents.)
func checkJar(dir string) error {
	fi, err := os.Stat(filepath.Join(dir, JarName))
	if err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("no %s in %s", JarName, tarPrefix)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
