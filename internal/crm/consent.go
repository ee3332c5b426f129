package crm

import (
	"context"
	"time"
)

// Consent purposes, as a consent record names them.
const (
	PurposeReminders = "reminders"
	PurposeMarketing = "marketing"
)

// Consent sources: who changed a consent.
const (
	ConsentByStaff  = "staff"
	ConsentByPortal = "portal"
	ConsentByImport = "import"
)

// ConsentRecord is one change of one consent. Actor is a staff id, or the
// customer's portal actor id ("customer:<id>") for the customer's own
// change: never personal data.
type ConsentRecord struct {
	Purpose string    `json:"purpose"`
	Granted bool      `json:"granted"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
	Actor   string    `json:"actor"`
}

// ConsentRetention says which consent records an erasure keeps.
type ConsentRetention string

// What an erasure keeps of a customer's consent history.
const (
	// RetainNoConsents destroys the whole history with the customer.
	RetainNoConsents ConsentRetention = "none"
	// RetainWithdrawals keeps the records of withdrawn consent: the proof
	// that the customer said stop, and when.
	RetainWithdrawals ConsentRetention = "withdrawals"
	// RetainAllConsents keeps every record.
	RetainAllConsents ConsentRetention = "all"
)

// Keeps reports whether an erasure under r keeps rec.
func (r ConsentRetention) Keeps(rec ConsentRecord) bool {
	switch r {
	case RetainAllConsents:
		return true
	case RetainWithdrawals:
		return !rec.Granted
	}
	return false
}

// ConsentStore reads consent histories. The records are written by the
// customer writes that change consent (Customer.ConsentChanges), in the
// same transaction, so history and current state never disagree.
type ConsentStore interface {
	// ListConsents returns one page of a customer's consent records,
	// newest first, and the next page's cursor ("" on the last). Returns
	// EINVALID for a cursor it did not issue for this customer.
	ListConsents(ctx context.Context, customerID string, p Page) ([]ConsentRecord, string, error)
}

type consentSourceKey struct{}

// WithConsentSource marks ctx's customer writes as coming from source
// (ConsentByImport for an import); without it they are staff edits.
func WithConsentSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, consentSourceKey{}, source)
}

func consentSource(ctx context.Context) string {
	if s, ok := ctx.Value(consentSourceKey{}).(string); ok && s != "" {
		return s
	}
	return ConsentByStaff
}

// consentChanges returns the records of what changed from prev to next. A
// new customer (isNew) records every consent it starts with granted: not
// granting is the default, not a choice anyone made.
func consentChanges(prev, next Consent, isNew bool, at time.Time, source, actor string) []ConsentRecord {
	var out []ConsentRecord
	add := func(purpose string, was, is bool) {
		if was != is || (isNew && is) {
			out = append(out, ConsentRecord{Purpose: purpose, Granted: is, At: at, Source: source, Actor: actor})
		}
	}
	add(PurposeReminders, prev.Reminders, next.Reminders)
	add(PurposeMarketing, prev.Marketing, next.Marketing)
	return out
}

// Consents returns one page of the consent history of a customer the
// actor may see, newest first: the first record of a purpose is its
// current state.
func (s *Customers) Consents(ctx context.Context, actor Actor, customerID string, p Page) ([]ConsentRecord, string, error) {
	if _, err := s.Get(ctx, actor, customerID); err != nil {
		return nil, "", err
	}
	if s.ConsentLog == nil {
		return nil, "", Errorf(EINTERNAL, "no consent store")
	}
	return s.ConsentLog.ListConsents(ctx, customerID, p)
}
