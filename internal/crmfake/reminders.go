package crmfake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Marked entity kinds, as a due mark's reference names them.
const (
	refCustomer    = "customer"
	refInteraction = "interaction"
	refComplaint   = "complaint"
)

func markRef(kind, id, mark string) string { return kind + "\x00" + id + "\x00" + mark }

func parseMarkRef(ref string) (kind, id, mark string, ok bool) {
	parts := strings.Split(ref, "\x00")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// markOf returns where the mark of a referenced entity is kept; callers
// hold the lock.
func (s *db) markOf(kind, id string) *string {
	switch kind {
	case refCustomer:
		if r, ok := s.customers[id]; ok {
			return &r.mark
		}
	case refInteraction:
		if r, ok := s.interactions[id]; ok {
			return &r.mark
		}
	case refComplaint:
		if r, ok := s.complaints[id]; ok {
			return &r.mark
		}
	}
	return nil
}

// DueItems implements crm.ReminderStore: every mark due at or before asOf,
// oldest first, in pages of up to 100.
func (s *ReminderStore) DueItems(_ context.Context, asOf time.Time, each func([]crm.Due) error) error {
	s.mu.Lock()
	below := sortTime(asOf) + "$"
	var due []crm.Due
	for id, r := range s.customers {
		if r.mark != "" && r.mark < below {
			due = append(due, crm.Due{Kind: crm.DueReview, SubjectID: id, CustomerID: id, At: r.c.ReviewDueAt,
				Mark: markRef(refCustomer, id, r.mark), OwnerID: r.c.OwnerID, Consent: r.c.Consent})
		}
	}
	for id, r := range s.interactions {
		if r.mark != "" && r.mark < below {
			due = append(due, crm.Due{Kind: crm.DueFollowUp, SubjectID: id, CustomerID: r.it.CustomerID, At: *r.it.FollowUpAt,
				Mark: markRef(refInteraction, id, r.mark)})
		}
	}
	for id, r := range s.complaints {
		if r.mark != "" && r.mark < below {
			c := cloneComplaint(r.c)
			at := c.SLADueAt
			if c.SLAWarnedAt.IsZero() && !c.SLAWarnAt.IsZero() {
				at = c.SLAWarnAt
			}
			due = append(due, crm.Due{Kind: crm.DueSLA, SubjectID: id, CustomerID: c.CustomerID, At: at,
				Mark: markRef(refComplaint, id, r.mark), Complaint: &c})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b crm.Due) int {
		_, _, ma, _ := parseMarkRef(a.Mark)
		_, _, mb, _ := parseMarkRef(b.Mark)
		return strings.Compare(ma, mb)
	})
	for len(due) > 0 {
		n := min(len(due), 100)
		if err := each(due[:n]); err != nil {
			return err
		}
		due = due[n:]
	}
	return nil
}

// clearMark removes the mark, or moves it to the next threshold, if it is
// still the one read, and for a complaint records which threshold was
// met; callers hold the lock.
func (s *db) clearMark(rec crm.ReminderRecord, kind, id, mark string) bool {
	m := s.markOf(kind, id)
	if m == nil || *m != mark {
		return false
	}
	if kind == refComplaint && rec.Reminder != nil {
		c := &s.complaints[id].c
		if rec.Reminder.Kind == crm.ReminderSLAWarning {
			c.SLAWarnedAt = rec.Reminder.CreatedAt.UTC()
		} else {
			c.SLABreachedAt = rec.Reminder.CreatedAt.UTC()
		}
	}
	*m = ""
	if !rec.NextMark.IsZero() {
		*m = dueMark(rec.Due.Kind, rec.Due.SubjectID, sortTime(rec.NextMark))
	}
	return true
}

// RecordReminder implements crm.ReminderStore.
func (s *ReminderStore) RecordReminder(_ context.Context, rec crm.ReminderRecord) (bool, error) {
	if err := s.hook("RecordReminder"); err != nil {
		return false, err
	}
	kind, id, mark, ok := parseMarkRef(rec.Due.Mark)
	if !ok {
		return false, fmt.Errorf("due item without a mark")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Reminder == nil {
		s.clearMark(rec, kind, id, mark)
		return false, nil
	}
	if _, made := s.reminders[rec.Reminder.ID]; made {
		// Another run made it; clear what it could not.
		s.clearMark(rec, kind, id, mark)
		return false, nil
	}
	if c := rec.Change; c != nil {
		k, ok := s.complaints[c.Prev.ID]
		if !ok || k.c.Version != c.Prev.Version || k.mark != mark {
			return false, nil // changed since it was read
		}
	} else if m := s.markOf(kind, id); m == nil || *m != mark {
		return false, nil
	}
	if l := rec.Link; l != nil {
		if _, ok := s.links[l.ID]; ok {
			return false, fmt.Errorf("portal link %s already exists", l.ID)
		}
	}
	s.reminders[rec.Reminder.ID] = *rec.Reminder
	if c := rec.Change; c != nil {
		s.putComplaint(s.complaints[c.Prev.ID], c.Next, c.Entry)
	} else {
		s.clearMark(rec, kind, id, mark)
	}
	if l := rec.Link; l != nil {
		s.links[l.ID] = &linkRec{l: *l}
	}
	s.recordPending(rec.Notes)
	if rec.Audit != nil {
		s.appendAudit(*rec.Audit)
	}
	return true, nil
}

// GetReminder implements crm.ReminderStore.
func (s *ReminderStore) GetReminder(_ context.Context, id string) (crm.Reminder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reminders[id]
	if !ok {
		return crm.Reminder{}, crm.Errorf(crm.ENOTFOUND, "reminder %s not found", id)
	}
	return r, nil
}

// CompleteReminder implements crm.ReminderStore: the stored status must
// still be prev's.
func (s *ReminderStore) CompleteReminder(_ context.Context, prev, next crm.Reminder, a crm.Audit) error {
	if err := s.hook("CompleteReminder"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reminders[prev.ID]
	if !ok || r.Status != prev.Status {
		return crm.Errorf(crm.EPRECONDITION, "reminder %s was changed by someone else", prev.ID)
	}
	s.reminders[prev.ID] = next
	s.appendAudit(a)
	return nil
}

// ListReminders implements crm.ReminderStore: an assignee's reminders,
// oldest due first.
func (s *ReminderStore) ListReminders(_ context.Context, f crm.ReminderFilter, p crm.Page) ([]crm.Reminder, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []keyed[crm.Reminder]
	for _, r := range s.reminders {
		if r.AssigneeID != f.AssigneeID || f.Kind != "" && r.Kind != f.Kind || f.Status != "" && r.Status != f.Status {
			continue
		}
		items = append(items, keyed[crm.Reminder]{r.Status + "#" + sortTime(r.DueAt) + "#" + r.ID, r})
	}
	return page(items, true, p, fmt.Sprintf("reminders|%s|%s|%s", f.AssigneeID, f.Kind, f.Status))
}

// UndeliveredNotifications implements crm.ReminderStore: pending and
// failed notifications whose lease has run out.
func (s *ReminderStore) UndeliveredNotifications(_ context.Context, each func([]crm.Notification) error) error {
	s.mu.Lock()
	now := s.now()
	var out []crm.Notification
	for _, r := range s.notifications {
		if (r.status == NotifyPending || r.status == NotifyFailed) && r.leaseUntil.Before(now) {
			out = append(out, r.n)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b crm.Notification) int { return strings.Compare(a.ID, b.ID) })
	if len(out) == 0 {
		return nil
	}
	return each(out)
}

// ClaimNotification implements crm.ReminderStore: it takes the lease and
// counts the attempt.
func (s *ReminderStore) ClaimNotification(_ context.Context, n crm.Notification) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.notifications[n.ID]
	if !ok || r.status != NotifyPending && r.status != NotifyFailed || !r.leaseUntil.Before(now) {
		return 0, false, nil
	}
	r.leaseUntil = now.Add(lease)
	r.attempts++
	return r.attempts, true, nil
}

// All returns every stored reminder, ordered by id.
func (s *ReminderStore) All() []crm.Reminder {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]crm.Reminder, 0, len(s.reminders))
	for _, r := range s.reminders {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b crm.Reminder) int { return strings.Compare(a.ID, b.ID) })
	return out
}
