package crm

import (
	"context"
	"time"
)

// SavedResponse is the first response to an idempotent request, replayed to
// its retries.
type SavedResponse struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header"`
	Body   []byte            `json:"body"`
	// Subject is the customer the response is about, so that erasing the
	// customer can find and destroy it.
	Subject string `json:"-"`
}

// IdempotencyStore keeps idempotency records in the manner of the Powertools
// idempotency utility: a status, an expiry and a hash of the request payload.
type IdempotencyStore interface {
	// BeginIdempotent claims key for a request whose payload hashes to hash.
	// It returns the saved response when an earlier request with the same key
	// and payload completed; EIDEMPOTENCY when the key was used with another
	// payload; ECONFLICT while the earlier request is still in progress.
	BeginIdempotent(ctx context.Context, key, hash string, now time.Time) (*SavedResponse, error)
	// CompleteIdempotent saves the response for key's retries.
	CompleteIdempotent(ctx context.Context, key string, resp SavedResponse, now time.Time) error
	// ReleaseIdempotent forgets key, so a retry runs the request afresh.
	ReleaseIdempotent(ctx context.Context, key string) error
}
