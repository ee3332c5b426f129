package main

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"Empty", nil, 0},
		{"One", []time.Duration{7 * ms}, 7 * ms},
		{"OddUnsorted", []time.Duration{30 * ms, 10 * ms, 20 * ms}, 20 * ms},
		{"EvenIsMeanOfMiddleTwo", []time.Duration{40 * ms, 10 * ms, 30 * ms, 20 * ms}, 25 * ms},
		{"OutlierDoesNotMove", []time.Duration{10 * ms, 11 * ms, 12 * ms, 13 * ms, 900 * ms}, 12 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := median(in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("median reordered its input: %v", in)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name        string
		d, floor    time.Duration
		want        float64
		meetsTarget bool
	}{
		{"Baseline", 64 * time.Millisecond, 42 * time.Millisecond, 64.0 / 42, false},
		{"AtFloor", 42 * time.Millisecond, 42 * time.Millisecond, 1, true},
		{"NoFloor", 42 * time.Millisecond, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ratio(tt.d, tt.floor)
			if math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("ratio(%v, %v) = %v, want %v", tt.d, tt.floor, got, tt.want)
			}
			if meets := got <= targetInit; meets != tt.meetsTarget {
				t.Errorf("ratio %.3f meets the init target: %v, want %v", got, meets, tt.meetsTarget)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		init, total float64
		want        string
	}{
		{1.15, 1.3, "meets"},
		{1.16, 1.0, "misses"},
		{1.0, 1.31, "misses"},
		{1.53, 1.6, "misses"},
	}
	for _, tt := range tests {
		if got := verdict(tt.init, tt.total); got != tt.want {
			t.Errorf("verdict(%v, %v) = %q, want %q", tt.init, tt.total, got, tt.want)
		}
	}
}

func TestParseInittrace(t *testing.T) {
	stderr := `init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
init runtime @0.035 ms, 0.045 ms clock, 0 bytes, 0 allocs
{"time":"2026-11-22T08:00:00Z","level":"INFO","msg":"init done"}
init github.com/nyaruka/phonenumbers @1.2 ms, 6.5 ms clock, 4000 bytes, 20 allocs
init github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas @8.0 ms, 0.6 ms clock, 100 bytes, 2 allocs
init runtime @9.0 ms, 0.055 ms clock, 0 bytes, 0 allocs
init broken line without numbers
`
	pkgs, total := parseInittrace(stderr)
	want := []pkgInit{
		{"github.com/nyaruka/phonenumbers", 6.5},
		{"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas", 0.6},
		{"runtime", 0.1},
		{"internal/bytealg", 0},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("got %d packages %v, want %d", len(pkgs), pkgs, len(want))
	}
	for i := range want {
		if pkgs[i].pkg != want[i].pkg || math.Abs(pkgs[i].ms-want[i].ms) > 1e-9 {
			t.Errorf("package %d = %v, want %v", i, pkgs[i], want[i])
		}
	}
	if math.Abs(total-7.2) > 1e-9 {
		t.Errorf("total = %v ms, want 7.2", total)
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{21102754, "21 102 754 B (21.1 MB)"},
		{999, "999 B (0.0 MB)"},
		{1000, "1 000 B (0.0 MB)"},
	}
	for _, tt := range tests {
		if got := size(tt.in); got != tt.want {
			t.Errorf("size(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCombineTraces(t *testing.T) {
	runs := [][]pkgInit{
		{{"github.com/nyaruka/phonenumbers", 6}, {"runtime", 0.1}},
		{{"github.com/nyaruka/phonenumbers", 23}, {"runtime", 0.1}, {"os", 2.8}},
		{{"github.com/nyaruka/phonenumbers", 7}, {"runtime", 0.3}},
	}
	pkgs, total := combineTraces(runs)
	want := []pkgInit{{"github.com/nyaruka/phonenumbers", 7}, {"runtime", 0.1}, {"os", 0}}
	if len(pkgs) != len(want) {
		t.Fatalf("got %v, want %v", pkgs, want)
	}
	for i := range want {
		if pkgs[i].pkg != want[i].pkg || math.Abs(pkgs[i].ms-want[i].ms) > 1e-9 {
			t.Errorf("package %d = %v, want %v", i, pkgs[i], want[i])
		}
	}
	// Totals 6.1, 25.9, 7.3: the median is the middle run's.
	if math.Abs(total-7.3) > 1e-9 {
		t.Errorf("total = %v, want 7.3", total)
	}
}
