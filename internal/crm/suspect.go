package crm

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Suspect values pass validation but look like placeholders or junk. They
// are judged when a record is written, the one time its plaintext is at
// hand, and the verdict is kept as reason codes, which name the kind of
// doubt and never the value.
const (
	SuspectSamplePhone      = "sample_phone"
	SuspectRepeatedPhone    = "repeated_digits_phone"
	SuspectPlaceholderEmail = "placeholder_email"
	SuspectDisposableEmail  = "disposable_email"
	SuspectPlaceholderName  = "placeholder_name"
	SuspectCityOnlyAddress  = "city_only_address"
)

// samplePhones are numbers printed as examples (China Mobile's customer
// service sample, the ones form tutorials use), in E.164.
var samplePhones = []string{"+8613800138000", "+8613888888888", "+8613912345678", "+8612345678901", "+11234567890", "+12345678900", "+15555555555"}

// placeholderLocals are email local parts that nobody reads.
var placeholderLocals = []string{"test", "tests", "testing", "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
	"null", "none", "nobody", "example", "sample", "fake", "asdf", "abc", "xxx", "a", "aa", "aaa", "123", "1234", "12345", "123456"}

// reservedDomains and reservedTLDs are reserved for examples and tests
// (RFC 2606, RFC 6761), or, for test.com, used as if they were.
var (
	reservedDomains = []string{"example.com", "example.org", "example.net", "test.com"}
	reservedTLDs    = []string{".test", ".example", ".invalid", ".localhost", ".local"}
)

// placeholderNames are names that stand in for a missing one, compared
// case-insensitively after trimming.
var placeholderNames = []string{"test", "testing", "test customer", "customer", "client", "unknown", "n/a", "na", "none", "null",
	"xxx", "asdf", "abc", "sample", "demo", "temp", "客户", "测试", "顾客", "未知", "无", "先生", "女士"}

// SuspectReasons returns the reason codes of c's suspect values, or nil.
// c must be standardized (phone in E.164, email lower case). Disposable
// email domains are judged only where p.DisposableDomain is set.
func (p Policy) SuspectReasons(c Customer) []string {
	var out []string
	if c.Phone != "" {
		switch {
		case slices.Contains(samplePhones, c.Phone) || sequentialDigits(c.Phone):
			out = append(out, SuspectSamplePhone)
		case repeatedDigits(c.Phone):
			out = append(out, SuspectRepeatedPhone)
		}
	}
	if local, domain, ok := strings.Cut(c.Email, "@"); ok {
		reserved := slices.Contains(reservedDomains, domain) || slices.ContainsFunc(reservedTLDs, func(t string) bool { return strings.HasSuffix(domain, t) })
		switch {
		case slices.Contains(placeholderLocals, local) || reserved:
			out = append(out, SuspectPlaceholderEmail)
		case p.DisposableDomain != nil && p.DisposableDomain(domain):
			out = append(out, SuspectDisposableEmail)
		}
	}
	if NameSuspect(c.Name) {
		out = append(out, SuspectPlaceholderName)
	}
	if a := c.Address; a != nil && a.City != "" && a.Line1 == "" && a.Line2 == "" && a.PostalCode == "" {
		out = append(out, SuspectCityOnlyAddress)
	}
	return out
}

// NameSuspect reports whether a name looks like a placeholder. Names are
// stored in the clear by design (lists search them), so this is the one
// signal a rebuild can re-run on every record without opening sealed
// fields.
func NameSuspect(name string) bool {
	n := strings.ToLower(collapse(name))
	if slices.Contains(placeholderNames, n) || strings.HasPrefix(n, "test ") {
		return true
	}
	// One character repeated ("aaaa", "…").
	if r, size := utf8.DecodeRuneInString(n); utf8.RuneCountInString(n) > 2 && strings.Count(n, string(r)) == len(n)/size {
		return true
	}
	return false
}

// repeatedDigits reports a number whose national part is mostly one digit
// (seven or more the same in a row).
func repeatedDigits(e164 string) bool {
	run, prev := 0, rune(0)
	for _, r := range e164[1:] {
		if r == prev {
			run++
		} else {
			run, prev = 1, r
		}
		if run >= 7 {
			return true
		}
	}
	return false
}

// sequentialDigits reports a number ending in an ascending or descending
// run of eight or more digits ("…12345678").
func sequentialDigits(e164 string) bool {
	d := e164[1:]
	up, down := 1, 1
	for i := len(d) - 1; i > 0; i-- {
		switch d[i] - d[i-1] {
		case 1:
			up, down = up+1, 1
		case 255: // d[i-1] = d[i] + 1, as a byte
			down, up = down+1, 1
		default:
			return up >= 8 || down >= 8
		}
		if up >= 8 || down >= 8 {
			return true
		}
	}
	return up >= 8 || down >= 8
}
