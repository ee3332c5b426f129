package crm

import (
	"context"
	"time"
)

// Notification kinds.
const (
	NotifyComplaintAssigned = "complaint_assigned"
	// NotifySelfServiceUpdate tells a customer's owner that the customer
	// changed their details through a self-service link.
	NotifySelfServiceUpdate     = "customer_self_service_update"
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
	// Language is the recipient's language (BCP 47), for the text.
	Language string `json:"language,omitempty"`
	// Text is the message in Language, put in when the notification is
	// sent; like the link, it is made from the kind and never stored.
	Text string `json:"text,omitempty"`
}

// Notifier delivers notifications.
type Notifier interface {
	// Notify delivers n once. It returns an error when delivery failed; the
	// caller records the failure.
	Notify(ctx context.Context, n Notification) error
}

// notificationMarker records the outcome of a send.
type notificationMarker interface {
	MarkNotification(ctx context.Context, n Notification, delivered bool, attempts int, at time.Time) error
}

// deliver sends each of notes, after complete (if any) fills in what is
// only put in at sending time, and records each outcome as attempt at at.
// A failed send stays on record as failed, never dropped. A failure to
// record is safe to drop: the notification then stays pending, and the
// reminder run redelivers pending notifications once their lease runs out
// (at least once; receivers de-duplicate on the notification id).
func deliver(ctx context.Context, n Notifier, m notificationMarker, notes []Notification, attempt int, at time.Time, complete func(*Notification)) (sent, failed int) {
	for _, note := range notes {
		if complete != nil {
			complete(&note)
		}
		err := n.Notify(ctx, note)
		if err == nil {
			sent++
		} else {
			failed++
		}
		_ = m.MarkNotification(ctx, note, err == nil, attempt, at)
	}
	return sent, failed
}
