package crm

import (
	"context"
	"time"
)

// Notification kinds.
const (
	NotifyComplaintAssigned     = "complaint_assigned"
	NotifyComplaintAcknowledged = "complaint_acknowledged"
	NotifyComplaintEscalated    = "complaint_escalated"
)

// Recipient kinds.
const (
	RecipientStaff    = "staff"
	RecipientCustomer = "customer"
)

// Notification tells one recipient that something happened to an entity. It
// carries ids, never personal data: the delivery side looks up what the
// recipient may see.
type Notification struct {
	// ID is deterministic for the event, so a resend is recognizable as one.
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	RecipientType string    `json:"recipientType"`
	RecipientID   string    `json:"recipientId"`
	SubjectType   string    `json:"subjectType"`
	SubjectID     string    `json:"subjectId"`
	At            time.Time `json:"at"`
	// Link is the self-service link a review request carries. It is made
	// from LinkID and LinkExpiresAt when the notification is sent and never
	// stored: it is the customer's credential.
	Link          string    `json:"link,omitempty"`
	LinkID        string    `json:"-"`
	LinkExpiresAt time.Time `json:"-"`
}

// Notifier delivers notifications.
type Notifier interface {
	// Notify delivers n once. It returns an error when delivery failed; the
	// caller records the failure.
	Notify(ctx context.Context, n Notification) error
}
