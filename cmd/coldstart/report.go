package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets the restructured functions are held to, as multiples of the
// floor's medians.
const (
	targetInit  = 1.15
	targetTotal = 1.3
)

// row is one binary's figures.
type row struct {
	binary
	event         string
	inits, totals []time.Duration
	initPkgs      []pkgInit
	initTraceMS   float64
}

// report is a whole run's figures, the floor last.
type report struct {
	rows []row
	n    int
	top  int
	// traces is how many inittrace runs each binary's figures are the
	// median of.
	traces int
	notes  []string
}

func (r *report) floor() *row {
	for i := range r.rows {
		if r.rows[i].name == floorName {
			return &r.rows[i]
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func times(x float64) string {
	if x == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", x)
}

// size prints bytes with thousands separated by thin spaces, and MB.
func size(b int64) string {
	s := fmt.Sprint(b)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	out = append([]string{s}, out...)
	return fmt.Sprintf("%s B (%.1f MB)", strings.Join(out, " "), float64(b)/1e6)
}

func (r *report) topPkgs(rw row) string {
	var parts []string
	for i, p := range rw.initPkgs {
		if i == r.top {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", strings.TrimPrefix(p.pkg, "github.com/"), p.ms))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// verdict says whether a function meets both targets.
func verdict(initRatio, totalRatio float64) string {
	if initRatio <= targetInit && totalRatio <= targetTotal {
		return "meets"
	}
	return "misses"
}

// writeText prints the table for a terminal.
func (r *report) writeText(w io.Writer) error {
	fl := r.floor()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "binary\tarm64 size\tinit p50\t× floor\tinit+invoke p50\t× floor\ttargets\tinittrace total\ttop init packages (ms)")
	for _, rw := range r.rows {
		im, tm := median(rw.inits), median(rw.totals)
		ir, tr := ratio(im, median(fl.inits)), ratio(tm, median(fl.totals))
		v := verdict(ir, tr)
		if rw.name == floorName {
			v = "–"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f ms\t%s\n", rw.name, size(rw.arm64Size), ms(im), times(ir), ms(tm), times(tr), v, rw.initTraceMS, r.topPkgs(rw))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "binary\tinit min–max\tinit+invoke min–max"
	for _, m := range watchedModules {
		head += "\t" + shortModule(m)
	}
	fmt.Fprintln(tw, head+"\tevent")
	for _, rw := range r.rows {
		line := fmt.Sprintf("%s\t%s–%s\t%s–%s", rw.name, ms(minOf(rw.inits)), ms(maxOf(rw.inits)), ms(minOf(rw.totals)), ms(maxOf(rw.totals)))
		for _, m := range watchedModules {
			line += "\t" + yesNo(rw.links[m])
		}
		fmt.Fprintln(tw, line+"\t"+rw.event)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// writeMarkdown writes the figures as a section of docs/benchmarks.md,
// with the machine they were measured on.
func (r *report) writeMarkdown(w io.Writer, m machine) error {
	fl := r.floor()
	b := &strings.Builder{}
	fmt.Fprintf(b, "## Cold start: each function against the SDK floor\n\n")
	fmt.Fprintf(b, "Measured by `cmd/coldstart` (`make coldstart`), %d cold starts per binary, on %s: %s, %d cores (%s), %s, commit %s; load average %s as the run ended.\n\n",
		r.n, m.date, m.os, m.cores, m.cpu, m.goVersion, m.commit, or(m.load, "unknown"))
	fmt.Fprintf(b, "Each binary is built for linux/amd64 with the bootstrap flags (`CGO_ENABLED=0 -tags lambda.norpc -trimpath -ldflags \"-s -w\"`), "+
		"exec'd fresh %d times, interleaved round-robin with the others, against a local Lambda Runtime API and DynamoDB Local. "+
		"*init* is exec to the first `GET …/invocation/next`; *init + first invoke* is exec to the `POST …/response` to one API Gateway request. "+
		"The floor (`cmd/coldstart/floor`) only builds the DynamoDB, KMS and SNS clients, reads one item at init and one per request. "+
		"Targets: init ≤ %.2f× the floor, init + first invoke ≤ %.2f×. Sizes are of the linux/arm64 builds, as deployed.\n\n", r.n, targetInit, targetTotal)
	fmt.Fprintln(b, "| binary | arm64 size | init p50 | × floor | init + first invoke p50 | × floor | targets |")
	fmt.Fprintln(b, "|---|---|---:|---:|---:|---:|---|")
	for _, rw := range r.rows {
		im, tm := median(rw.inits), median(rw.totals)
		ir, tr := ratio(im, median(fl.inits)), ratio(tm, median(fl.totals))
		v := verdict(ir, tr)
		if rw.name == floorName {
			v = "–"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", rw.name, size(rw.arm64Size), ms(im), times(ir), ms(tm), times(tr), v)
	}
	fmt.Fprintf(b, "\nSpread, what each binary links, and the event it answered:\n\n")
	head, sep := "| binary | init min–max | init + first invoke min–max", "|---|---|---"
	for _, mod := range watchedModules {
		head += " | links " + shortModule(mod)
		sep += "|---"
	}
	fmt.Fprintln(b, head+" | event |")
	fmt.Fprintln(b, sep+"|---|")
	for _, rw := range r.rows {
		line := fmt.Sprintf("| %s | %s – %s | %s – %s", rw.name, ms(minOf(rw.inits)), ms(maxOf(rw.inits)), ms(minOf(rw.totals)), ms(maxOf(rw.totals)))
		for _, mod := range watchedModules {
			line += " | " + yesNo(rw.links[mod])
		}
		fmt.Fprintln(b, line+" | "+rw.event+" |")
	}
	fmt.Fprintf(b, "\nWhere package initialization goes, before `main` runs (`GODEBUG=inittrace=1`: clock ms per package, the median of %d runs each; the top %d):\n\n", max(r.traces, 1), r.top)
	fmt.Fprintln(b, "| binary | all packages | top packages (ms) |")
	fmt.Fprintln(b, "|---|---:|---|")
	for _, rw := range r.rows {
		fmt.Fprintf(b, "| %s | %.1f ms | %s |\n", rw.name, rw.initTraceMS, r.topPkgs(rw))
	}
	for _, n := range r.notes {
		fmt.Fprintf(b, "\nNote: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func minOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	m := ds[0]
	for _, d := range ds[1:] {
		m = min(m, d)
	}
	return m
}

func maxOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	m := ds[0]
	for _, d := range ds[1:] {
		m = max(m, d)
	}
	return m
}

// machine is what a figure was measured on.
type machine struct {
	date, os, cpu, goVersion, commit string
	cores                            int
	// load is /proc/loadavg's 1-minute figure when the run ended: other
	// work on the machine is the main source of noise.
	load string
}

// describeMachine reads the machine's description: CPU model from
// /proc/cpuinfo, the Go toolchain that built the binaries, the commit.
func describeMachine(goCmd, root string) machine {
	m := machine{
		date:  time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		os:    runtime.GOOS + "/" + runtime.GOARCH,
		cores: runtime.NumCPU(),
		cpu:   "unknown CPU",
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.load = f[0]
		}
	}
	m.goVersion = runtime.Version()
	if out, err := exec.Command(goCmd, "env", "GOVERSION").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	m.commit = "unknown"
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		m.commit = strings.TrimSpace(string(out))
		cmd = exec.Command("git", "status", "--porcelain", "--untracked-files=no")
		cmd.Dir = root
		if out, err := cmd.Output(); err == nil && len(out) > 0 {
			m.commit += " (with uncommitted changes)"
		}
	}
	return m
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
