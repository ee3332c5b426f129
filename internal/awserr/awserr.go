// Package awserr classifies errors from AWS SDK clients.
package awserr

import (
	"context"
	"errors"
	"net"

	"github.com/aws/smithy-go"
)

// Transient reports whether an SDK error is the service's or the network's
// passing trouble rather than the request's fault, so that retrying later
// may succeed: a server fault, an HTTP 429 or 5xx, a connection that failed
// or timed out. throttleCodes names further error codes to count as
// transient, such as a service's throttling exception.
func Transient(err error, throttleCodes map[string]bool) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (throttleCodes[apiErr.ErrorCode()] || apiErr.ErrorFault() == smithy.FaultServer) {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && (status.HTTPStatusCode() == 429 || status.HTTPStatusCode() >= 500) {
		return true
	}
	var connErr interface{ ConnectionError() bool }
	var netErr net.Error
	return errors.As(err, &connErr) && connErr.ConnectionError() ||
		errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded)
}
