// Package crm holds Clientele's domain: customers, their interactions, the
// rules that standardize and validate them, roles, and the errors every other
// package speaks. It imports only the standard library.
package crm

import (
	"errors"
	"fmt"
)

// Error codes. The API maps each to one HTTP status.
const (
	EINVALID      = "invalid"      // the request is malformed or a field is invalid
	ENOTFOUND     = "not_found"    // no such entity, or not visible to the caller
	EGONE         = "gone"         // the entity was erased
	ECONFLICT     = "conflict"     // duplicate, or an illegal state change
	EPRECONDITION = "precondition" // If-Match does not match the current version
	EFORBIDDEN    = "forbidden"    // the caller's role may not do this
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EUNAVAILABLE  = "unavailable"  // a dependency is unavailable or throttled
	ETOOLARGE     = "too_large"    // the request body is over the limit
	EUNSUPPORTED  = "unsupported"  // the media type is not accepted
	EINTEGRITY    = "integrity"    // stored data failed its integrity check
	EINTERNAL     = "internal"     // a bug
	EIDEMPOTENCY  = "idempotency"  // an idempotency key was reused with another request
	ETHROTTLED    = "throttled"    // the caller sent too many requests
	EMOVED        = "moved"        // the customer was merged into another (MergedInto)
)

// FieldError names one invalid field. Message never contains the field's value,
// so a FieldError is safe to log.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the one error type of the domain. Message is written for API
// clients and never holds personal data.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// DuplicateOf is the id of the existing customer a write collided with.
	DuplicateOf string
	// Allowed lists the legal alternatives where a request asked for an illegal one.
	Allowed []string
	// MergedInto is the survivor a merged-away customer redirects to.
	MergedInto string
	// ConflictFields names the fields whose edits stand in the way.
	ConflictFields []string
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d invalid fields)", e.Code, e.Message, len(e.Fields))
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// Invalid collects field errors; Err returns nil when none were added.
type Invalid []FieldError

// Add records that field is invalid.
func (v *Invalid) Add(field, code, message string) {
	*v = append(*v, FieldError{Field: field, Code: code, Message: message})
}

// Err returns an EINVALID *Error naming every collected field, or nil.
func (v Invalid) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "the request has invalid fields", Fields: v}
}
