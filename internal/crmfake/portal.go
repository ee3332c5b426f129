package crmfake

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

type linkRec struct {
	l         crm.PortalLink
	usedAt    time.Time
	revokedAt time.Time
}

// valid reports whether the link may still be used at now.
func (r *linkRec) valid(now time.Time) bool {
	return r.usedAt.IsZero() && r.revokedAt.IsZero() && now.Before(r.l.ExpiresAt)
}

// RevokePortalLinks implements crm.PortalStore.
func (s *PortalStore) RevokePortalLinks(_ context.Context, customerID string, now time.Time, a crm.Audit) (int, error) {
	if err := s.hook("RevokePortalLinks"); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.revokeLinks(customerID, now)
	s.appendAudit(a)
	return n, nil
}

// revokeLinks revokes the customer's links valid at now; callers hold the
// lock.
func (s *db) revokeLinks(customerID string, now time.Time) int {
	n := 0
	for _, r := range s.links {
		if r.l.CustomerID == customerID && r.valid(now) {
			r.revokedAt = now
			n++
		}
	}
	return n
}

// CreatePortalLink implements crm.PortalStore: the customer must exist and
// not be erased.
func (s *PortalStore) CreatePortalLink(_ context.Context, l crm.PortalLink, a crm.Audit) error {
	if err := s.hook("CreatePortalLink"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.customer(l.CustomerID); err != nil {
		return crm.Errorf(crm.ENOTFOUND, "customer %s not found", l.CustomerID)
	}
	if _, ok := s.links[l.ID]; ok {
		return fmt.Errorf("portal link %s already exists", l.ID)
	}
	s.links[l.ID] = &linkRec{l: l}
	s.appendAudit(a)
	return nil
}

// PortalLink implements crm.PortalStore.
func (s *PortalStore) PortalLink(_ context.Context, id string, now time.Time) (crm.PortalLink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.links[id]
	if !ok || !r.valid(now) {
		return crm.PortalLink{}, crm.Errorf(crm.ENOTFOUND, "portal link not valid")
	}
	return crm.PortalLink{ID: r.l.ID, CustomerID: r.l.CustomerID, ExpiresAt: r.l.ExpiresAt}, nil
}

// UpdateCustomerByLink implements crm.PortalStore: the change and the use
// of the link happen together or not at all.
func (s *PortalStore) UpdateCustomerByLink(_ context.Context, linkID string, prev, next crm.Customer, now time.Time, a crm.Audit, notes []crm.Notification) error {
	if err := s.hook("UpdateCustomerByLink"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.checkUpdate(prev, next)
	if crm.ErrorCode(err) == crm.ECONFLICT {
		return err
	}
	// A used or expired link has done its work, whatever else went wrong.
	if r, ok := s.links[linkID]; !ok || !r.valid(now) {
		return crm.Errorf(crm.ENOTFOUND, "portal link not valid")
	}
	if err != nil {
		return err
	}
	s.applyUpdate(prev, next)
	s.links[linkID].usedAt = now
	s.recordPending(notes)
	s.appendAudit(a)
	return nil
}

// Allow implements crm.PortalStore with a fixed-window counter per key.
// Like the DynamoDB store, a request over the limit changes nothing.
func (s *PortalStore) Allow(_ context.Context, key string, max int, window time.Duration, now time.Time) (bool, error) {
	if err := s.hook("Allow"); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key + "#" + strconv.FormatInt(now.Truncate(window).Unix(), 10)
	if s.rates[k] >= max {
		return false, nil
	}
	s.rates[k]++
	return true, nil
}

// RateKeys returns every key a limiter has counted by, for tests that
// check what the limiters store.
func (s *PortalStore) RateKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.rates))
	for k := range s.rates {
		keys = append(keys, k)
	}
	return keys
}
