package crmfake

import (
	"context"
	"slices"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// AppendAudit implements crm.AuditLog.
func (s *AuditLog) AppendAudit(_ context.Context, a crm.Audit) error {
	if err := s.hook("AppendAudit"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendAudit(a)
	return nil
}

// ListAudit implements crm.AuditLog: newest first, the last seven days
// unless the filter says otherwise.
func (s *AuditLog) ListAudit(_ context.Context, f crm.AuditFilter, p crm.Page) ([]crm.AuditEntry, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fp := "audit|" + f.EntityID + "|" + f.Actor + "|" + f.From.Format(time.RFC3339Nano) + "|" + f.To.Format(time.RFC3339Nano)
	if f.To.IsZero() {
		f.To = s.now()
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-7 * 24 * time.Hour)
	}
	if f.From.After(f.To) {
		return nil, "", crm.Invalid{{Field: "from", Code: "range", Message: "must not be after to"}}.Err()
	}
	var items []keyed[crm.AuditEntry]
	for _, e := range s.audit {
		if f.Actor != "" && e.Actor != f.Actor || f.EntityID != "" && e.EntityID != f.EntityID || e.At.Before(f.From) || e.At.After(f.To) {
			continue
		}
		e.Roles, e.ChangedFields = slices.Clone(e.Roles), slices.Clone(e.ChangedFields)
		items = append(items, keyed[crm.AuditEntry]{sortTime(e.At) + "#" + padSeq(e.Seq), e})
	}
	return page(items, false, p, fp)
}

func padSeq(n int64) string {
	const digits = "0123456789"
	b := []byte("000000000000")
	for i := len(b) - 1; i >= 0 && n > 0; i-- {
		b[i] = digits[n%10]
		n /= 10
	}
	return string(b)
}

// Entries returns the whole trail, oldest first.
func (s *AuditLog) Entries() []crm.AuditEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.audit)
}
