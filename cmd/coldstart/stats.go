package main

import (
	"bufio"
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// median returns the middle of ds, or the mean of the two middle values
// when there is an even number; zero for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// ratio returns d / floor, or 0 when there is no floor to compare with.
func ratio(d, floor time.Duration) float64 {
	if floor <= 0 {
		return 0
	}
	return float64(d) / float64(floor)
}

// pkgInit is the init time GODEBUG=inittrace=1 reported for one package.
type pkgInit struct {
	pkg string
	ms  float64
}

// inittraceLine matches the runtime's inittrace output, such as
// "init github.com/nyaruka/phonenumbers @1.2 ms, 9.8 ms clock, 4000 bytes, 20 allocs".
var inittraceLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock, [0-9]+ bytes, [0-9]+ allocs`)

// parseInittrace sums the clock time inittrace reported per package,
// slowest first, and the total. Lines that are not inittrace (the
// function's own log) are ignored.
func parseInittrace(stderr string) (pkgs []pkgInit, total float64) {
	sum := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := inittraceLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ms, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		sum[m[1]] += ms
		total += ms
	}
	for p, ms := range sum {
		pkgs = append(pkgs, pkgInit{pkg: p, ms: ms})
	}
	sortPkgs(pkgs)
	return pkgs, total
}

// combineTraces merges several inittrace runs of one binary: each
// package's median over the runs (a run that did not list it counts as 0),
// slowest first, and the median of the runs' totals. One run alone is at
// the mercy of whatever else the machine was doing.
func combineTraces(runs [][]pkgInit) (pkgs []pkgInit, total float64) {
	per := map[string][]float64{}
	var totals []float64
	for _, run := range runs {
		var t float64
		for _, p := range run {
			per[p.pkg] = append(per[p.pkg], p.ms)
			t += p.ms
		}
		totals = append(totals, t)
	}
	for p, v := range per {
		for len(v) < len(runs) {
			v = append(v, 0)
		}
		pkgs = append(pkgs, pkgInit{pkg: p, ms: medianFloat(v)})
	}
	sortPkgs(pkgs)
	return pkgs, medianFloat(totals)
}

// medianFloat is median for plain numbers.
func medianFloat(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func sortPkgs(pkgs []pkgInit) {
	slices.SortFunc(pkgs, func(a, b pkgInit) int {
		if c := cmp.Compare(b.ms, a.ms); c != 0 {
			return c
		}
		return strings.Compare(a.pkg, b.pkg)
	})
}
