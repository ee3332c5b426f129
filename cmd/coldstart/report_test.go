package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func msList(vs ...float64) []time.Duration {
	var ds []time.Duration
	for _, v := range vs {
		ds = append(ds, time.Duration(v*float64(time.Millisecond)))
	}
	return ds
}

// testReport is the baseline's shape: customers at 64 ms against a 42 ms
// floor, reports within both targets.
func testReport() *report {
	return &report{n: 3, top: 2, rows: []row{
		{binary: binary{name: "customers", arm64Size: 21102754, links: map[string]bool{watchedModules[0]: true}},
			event: "customers-list.json", inits: msList(64, 900, 60), totals: msList(80, 70, 75),
			initPkgs: []pkgInit{{"github.com/nyaruka/phonenumbers", 6.5}, {"runtime", 0.1}, {"time", 0.01}}, initTraceMS: 6.61},
		{binary: binary{name: "reports", arm64Size: 12000000, links: map[string]bool{}},
			event: "reports-data-quality.json", inits: msList(45, 48, 47), totals: msList(54, 50, 52)},
		{binary: binary{name: floorName, arm64Size: 9896098, links: map[string]bool{}},
			event: "healthz.json", inits: msList(42, 41, 43), totals: msList(40, 41, 39)},
	}}
}

func TestWriteMarkdown(t *testing.T) {
	var buf bytes.Buffer
	m := machine{date: "2026-11-30 12:00 UTC", os: "linux/amd64", cpu: "AMD EPYC", goVersion: "go1.26.8", commit: "abc1234", cores: 2, load: "0.50"}
	if err := testReport().writeMarkdown(&buf, m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		// Medians, not means: the 900 ms outlier does not move customers.
		"| customers | 21 102 754 B (21.1 MB) | 64.0 ms | 1.52× | 75.0 ms | 1.88× | misses |",
		"| reports | 12 000 000 B (12.0 MB) | 47.0 ms | 1.12× | 52.0 ms | 1.30× | meets |",
		"| floor | 9 896 098 B (9.9 MB) | 42.0 ms | 1.00× | 40.0 ms | 1.00× | – |",
		"| customers | 60.0 ms – 900.0 ms | 70.0 ms – 80.0 ms | yes | no | no | customers-list.json |",
		"| customers | 6.6 ms | nyaruka/phonenumbers 6.50, runtime 0.10 |",
		"2 cores (AMD EPYC), go1.26.8, commit abc1234; load average 0.50",
		"3 cold starts per binary",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q; got:\n%s", want, out)
		}
	}
	if strings.Contains(out, "time 0.01") {
		t.Error("listed more packages than -top")
	}
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	r := testReport()
	r.notes = []string{"customers measured with its list"}
	if err := r.writeText(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	var customers string
	for _, l := range lines {
		if strings.HasPrefix(l, "customers ") {
			customers = l
			break
		}
	}
	for _, want := range []string{"64.0 ms", "1.52×", "75.0 ms", "1.88×", "misses"} {
		if !strings.Contains(customers, want) {
			t.Errorf("customers line %q lacks %q", customers, want)
		}
	}
	if !strings.Contains(buf.String(), "note: customers measured with its list") {
		t.Error("the note is missing")
	}
}
