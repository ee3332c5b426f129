// Package disposable knows the domains of disposable (throwaway) email
// services. It is its own package because the list is 1.8 MB: only the
// functions that write customer records link it.
package disposable

import (
	_ "embed"
	"strings"
)

// domains is the disposable-email-domains project's list (index.json and
// wildcard.json of its npm package disposable-email-domains 1.0.62, MIT
// licence, sha256 of the package
// f221b2fd3d3b2429141f7f5856a59cfea2745f165c420ab4a48bb5697edaea00), one
// domain a line, lower case, in byte order. Refresh it by replacing the
// file from a newer release of the same package, sorted with LC_ALL=C.
//
//go:embed domains.txt
var domains string

// Listed reports whether domain (lower case) or one of its parents is on
// the list, which also covers the list's wildcard entries. It searches the
// embedded text in place: no set is built, so a cold start pays nothing
// for the list and a lookup reads about seventeen lines.
func Listed(domain string) bool {
	return orParent(domain, func(d string) bool { return has(domains, d) })
}

// orParent reports whether listed holds domain or one of its parents.
func orParent(domain string, listed func(string) bool) bool {
	for d := domain; d != ""; {
		if listed(d) {
			return true
		}
		_, rest, ok := strings.Cut(d, ".")
		if !ok {
			break
		}
		d = rest
	}
	return false
}

// has reports whether list, newline-separated lines in byte order, holds
// the line d. It bisects by byte offset and widens each probe to its line.
func has(list, d string) bool {
	lo, hi := 0, len(list) // lo is always a line's start
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo
		if i := strings.LastIndexByte(list[lo:mid], '\n'); i >= 0 {
			start = lo + i + 1
		}
		end := len(list)
		if i := strings.IndexByte(list[start:], '\n'); i >= 0 {
			end = start + i
		}
		switch line := list[start:end]; {
		case d == line:
			return true
		case d < line:
			hi = start
		default:
			lo = end + 1
		}
	}
	return false
}
