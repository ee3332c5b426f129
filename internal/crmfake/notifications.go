package crmfake

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Notification delivery, as in the DynamoDB store: recorded pending with a
// lease for the process that made the change, then marked sent or failed;
// dead after maxAttempts failures.
const (
	lease       = 2 * time.Minute
	maxAttempts = 5
)

// Notification statuses.
const (
	NotifyPending = "pending"
	NotifySent    = "sent"
	NotifyFailed  = "failed"
	NotifyDead    = "dead"
)

type notificationRec struct {
	n          crm.Notification
	status     string
	attempts   int
	leaseUntil time.Time
}

// recordPending records notes pending, each once; callers hold the lock.
func (s *db) recordPending(notes []crm.Notification) {
	for _, n := range notes {
		if _, ok := s.notifications[n.ID]; !ok {
			s.notifications[n.ID] = &notificationRec{n: n, status: NotifyPending, leaseUntil: s.now().Add(lease)}
		}
	}
}

// MarkNotification implements crm.ComplaintStore.
func (s *ComplaintStore) MarkNotification(ctx context.Context, n crm.Notification, delivered bool, attempts int, at time.Time) error {
	return s.markNotification(ctx, n, delivered, attempts, at)
}

// MarkNotification implements crm.ReminderStore.
func (s *ReminderStore) MarkNotification(ctx context.Context, n crm.Notification, delivered bool, attempts int, at time.Time) error {
	return s.markNotification(ctx, n, delivered, attempts, at)
}

// markNotification records the outcome of a delivery.
func (s *db) markNotification(_ context.Context, n crm.Notification, delivered bool, attempts int, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := NotifyFailed
	switch {
	case delivered:
		status = NotifySent
	case attempts >= maxAttempts:
		status = NotifyDead
	}
	// The link is the customer's credential: it is never stored.
	n.Link = ""
	s.notifications[n.ID] = &notificationRec{n: n, status: status, attempts: attempts}
	return nil
}

// NotificationStatus returns the recorded status of a notification ("" if
// none was recorded) and its attempts.
func (s *Stores) NotificationStatus(id string) (string, int) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if r, ok := s.db.notifications[id]; ok {
		return r.status, r.attempts
	}
	return "", 0
}

// Notifications returns every recorded notification with the status given,
// or all of them for "".
func (s *Stores) Notifications(status string) []crm.Notification {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	var out []crm.Notification
	for _, r := range s.db.notifications {
		if status == "" || r.status == status {
			out = append(out, r.n)
		}
	}
	slices.SortFunc(out, func(a, b crm.Notification) int { return strings.Compare(a.ID, b.ID) })
	return out
}
