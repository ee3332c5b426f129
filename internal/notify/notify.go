// Package notify delivers crm.Notifications: to an SNS topic in AWS, to a
// local JSON-lines outbox in development, and through Retrying, which retries
// either. Notifications carry ids only, so nothing here handles personal data.
package notify

import "errors"

// ErrUnavailable is wrapped by errors that a later attempt may get past:
// throttling, a server fault or a network failure.
var ErrUnavailable = errors.New("notifier unavailable")

// Unavailable reports whether err is worth retrying: it wraps
// ErrUnavailable.
func Unavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
