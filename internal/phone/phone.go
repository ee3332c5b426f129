// Package phone normalizes phone numbers with a port of Google's
// libphonenumber.
package phone

import (
	"errors"

	"github.com/nyaruka/phonenumbers"
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
	n, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", ErrInvalid
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}
