// Package phone normalizes phone numbers as people type them to E.164.
//
// It parses and validates as Google's libphonenumber does, with that
// library's numbering metadata (territories.go, generated from the pinned
// github.com/nyaruka/phonenumbers module), and gives the same answer as
// that module for every input; the tests compare the two. It exists so
// that a function parsing phone numbers links about a hundred kilobytes of
// plain data, read in place, instead of a protocol-buffer collection that
// must be decoded when the program starts.
package phone

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// ErrInvalid is returned for anything that is not a valid number.
var ErrInvalid = errors.New("invalid phone number")

// E164 parses raw, read as a number of region when it has no country code,
// and returns it in E.164 form. Numbers that parse but cannot exist (wrong
// length, unassigned ranges) are refused.
func E164(raw, region string) (string, error) {
	if len(raw) > 64 {
		return "", ErrInvalid
	}
	code, nsn, ok := parse(raw, region)
	if !ok || !valid(code, nsn) {
		return "", ErrInvalid
	}
	return "+" + strconv.Itoa(code) + nsn, nil
}

const (
	minNSN = 2  // shortest national significant number
	maxNSN = 17 // longest (the ITU says 15; Germany has longer)
)

// parse reads raw as libphonenumber's parser does and returns the calling
// code and national significant number, or false where it finds no number.
func parse(raw, region string) (code int, nsn string, ok bool) {
	if raw == "" || len(raw) > 250 {
		return 0, "", false
	}
	number, ok := candidate(raw)
	if !ok || !viable(number) {
		return 0, "", false
	}
	home := regionPlan(region)
	if home == nil && !strings.ContainsAny(number, plusChars) {
		return 0, "", false // no way to tell the country
	}
	number = stripExtension(number)

	code, national, err := countryCode(number, home)
	if err == errUnknownCode {
		// A plus sign before an unknown code: try again without it.
		if _, end, found := plusRun(number); found {
			code, national, err = countryCode(number[end:], home)
			if err == nil && code == 0 {
				err = errUnknownCode
			}
		}
	}
	if err != nil {
		return 0, "", false
	}

	p := home // the plan the national number is read in
	if code != 0 {
		if main := planAt(plansFor(code)[0]); main.id != region {
			p = &main
		}
	} else {
		national = normalize(number)
		if home != nil {
			code = home.code
		}
	}
	if len(national) < minNSN {
		return 0, "", false
	}
	if p != nil {
		// Keep the national prefix where removing it leaves too few digits
		// for the plan: the original may be a valid short number.
		stripped := p.stripNationalPrefix(national)
		if fit := p.fit(len(stripped)); fit != tooShort && fit != possibleLocally && fit != impossible {
			national = stripped
		}
	}
	if len(national) < minNSN || len(national) > maxNSN {
		return 0, "", false
	}
	return code, significant(national), true
}

var (
	errTooShortAfterIDD = errors.New("too short after the international prefix")
	errUnknownCode      = errors.New("unknown country calling code")
)

// countryCode takes the country calling code off the front of number: after
// a plus sign, after the home region's international prefix, or, when the
// number starts with the home region's own code and reads better without
// it, that code. It returns 0 and no national number when there is none.
func countryCode(number string, home *plan) (code int, national string, err error) {
	if number == "" {
		return 0, "", nil
	}
	full, international := stripInternationalPrefix(number, home)
	if international {
		if len(full) <= minNSN {
			return 0, "", errTooShortAfterIDD
		}
		if full[0] != '0' {
			for n := 1; n <= 3 && n <= len(full); n++ {
				if c, _ := strconv.Atoi(full[:n]); knownCode(c) {
					return c, full[n:], nil
				}
			}
		}
		return 0, "", errUnknownCode
	}
	if home == nil {
		return 0, "", nil
	}
	own := strconv.Itoa(home.code)
	if !strings.HasPrefix(full, own) {
		return 0, "", nil
	}
	rest := home.stripNationalPrefix(full[len(own):])
	if (!home.re.general.MatchString(full) && home.re.general.MatchString(rest)) || home.fit(len(full)) == tooLong {
		return home.code, rest, nil
	}
	return 0, "", nil
}

// stripInternationalPrefix normalizes number and reports whether it was
// written internationally: with leading plus signs, or with the home
// region's international prefix followed by something other than 0
// (country codes never start with 0), which it removes.
func stripInternationalPrefix(number string, home *plan) (string, bool) {
	if start, end, found := plusRun(number); found && start == 0 {
		return normalize(number[end:]), true
	}
	n := normalize(number)
	if home == nil {
		return n, false
	}
	m := home.re.idd.FindStringIndex(n)
	if m == nil {
		return n, false
	}
	for _, r := range n[m[1]:] {
		if unicode.IsDigit(r) {
			if digitsOnly(string(r)) == "0" {
				return n, false
			}
			break
		}
	}
	return n[m[1]:], true
}

// significant is the national significant number libphonenumber keeps for a
// normalized national number: the number as an integer, after the leading
// zeros it records (all of them, but one when the number is only zeros).
// A number it cannot read as an integer keeps only those zeros and 0.
func significant(national string) string {
	if _, err := strconv.ParseUint(national, 10, 64); err == nil {
		return national
	}
	zeros := 0
	if len(national) > 1 && national[0] == '0' {
		zeros = 1
		for zeros < len(national)-1 && national[zeros] == '0' {
			zeros++
		}
	}
	return strings.Repeat("0", zeros) + "0"
}
