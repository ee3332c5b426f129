package disposable

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func lines() []string { return strings.Split(strings.TrimSuffix(domains, "\n"), "\n") }

// TestListIsInByteOrder guards the bisection: a refreshed list that is not
// sorted byte-wise would make Listed miss domains on it.
func TestListIsInByteOrder(t *testing.T) {
	l := lines()
	if len(l) < 100_000 {
		t.Fatalf("the list has %d domains; the release it comes from has over 120 000", len(l))
	}
	if !slices.IsSorted(l) {
		t.Fatal("domains.txt is not in byte order: sort it with LC_ALL=C sort")
	}
	if slices.Contains(l, "") {
		t.Fatal("domains.txt has an empty line")
	}
}

// TestEveryListedDomainIsFound checks the bisection against the list
// itself: each line is found, and so are subdomains of it.
func TestEveryListedDomainIsFound(t *testing.T) {
	for _, d := range lines() {
		if !Listed(d) {
			t.Fatalf("line %q is not found", d)
		}
	}
	for _, d := range []string{"mailinator.com", "x.33mail.com", "a.b.mailinator.com"} {
		if !Listed(d) {
			t.Errorf("%s is not listed", d)
		}
	}
}

// TestUnlistedDomainsAreNot checks names next to listed ones in the
// order, which a bisection that is off by a line would report.
func TestUnlistedDomainsAreNot(t *testing.T) {
	for _, d := range []string{"corp.cn", "gmail.com", "qq.com", "163.com", "example.org", "", "com", "mailinator.co", "mailinator.comm", "zzzzzzzz.zz", "0"} {
		if Listed(d) {
			t.Errorf("%q is listed", d)
		}
	}
	set := map[string]bool{}
	l := lines()
	for _, d := range l {
		set[d] = true
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		d := l[r.IntN(len(l))]
		// A neighbour in byte order: one byte changed or appended.
		probe := d + string(rune('a'+r.IntN(26)))
		if i := r.IntN(len(d)); r.IntN(2) == 0 {
			probe = d[:i] + string(rune('a'+r.IntN(26))) + d[i+1:]
		}
		if want := listedBySet(set, probe); Listed(probe) != want {
			t.Fatalf("Listed(%q) = %v, want %v", probe, !want, want)
		}
	}
}

func listedBySet(set map[string]bool, domain string) bool {
	return orParent(domain, func(d string) bool { return set[d] })
}

func BenchmarkListed(b *testing.B) {
	for range b.N {
		Listed("li.wei.mail.corp.cn")
	}
}
