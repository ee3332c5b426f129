package crmfake

import (
	"context"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Idempotency windows, as in the DynamoDB store: how long a completed
// response is replayed, and how long an unfinished request holds its key.
const (
	idemTTL        = 24 * time.Hour
	idemInProgress = 30 * time.Second
)

type idemRec struct {
	hash            string
	resp            *crm.SavedResponse
	expiresAt       time.Time
	inProgressUntil time.Time
}

// BeginIdempotent implements crm.IdempotencyStore.
func (s *IdempotencyStore) BeginIdempotent(_ context.Context, key, hash string, now time.Time) (*crm.SavedResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.idem[key]
	// An expired record is absent, and a request that died in progress
	// gives its key up once its window passes.
	if !ok || r.expiresAt.Before(now) || r.resp == nil && r.inProgressUntil.Before(now) {
		s.idem[key] = &idemRec{hash: hash, expiresAt: now.Add(idemTTL), inProgressUntil: now.Add(idemInProgress)}
		return nil, nil
	}
	switch {
	case r.hash != hash:
		return nil, crm.Errorf(crm.EIDEMPOTENCY, "this Idempotency-Key was used with a different request")
	case r.resp != nil:
		resp := *r.resp
		return &resp, nil
	}
	return nil, crm.Errorf(crm.ECONFLICT, "a request with this Idempotency-Key is in progress; retry shortly")
}

// CompleteIdempotent implements crm.IdempotencyStore.
func (s *IdempotencyStore) CompleteIdempotent(_ context.Context, key string, resp crm.SavedResponse, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hash string
	if r, ok := s.idem[key]; ok {
		hash = r.hash
	}
	s.idem[key] = &idemRec{hash: hash, resp: &resp, expiresAt: now.Add(idemTTL)}
	return nil
}

// ReleaseIdempotent implements crm.IdempotencyStore.
func (s *IdempotencyStore) ReleaseIdempotent(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.idem, key)
	return nil
}
