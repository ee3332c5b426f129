package dynamo

import "github.com/clientele-crm/clientele/internal/crm"

// The stores, one per aggregate. Each is a small view of the one Table:
// they share its client, its sealer and its blind index, and each
// implements only the domain interface of what it stores.
type (
	// Customers stores customers, their uniqueness claims, interactions
	// and lists.
	Customers struct{ *Table }
	// Complaints stores complaints with their timelines.
	Complaints struct {
		*Table
		Notifications
	}
	// Reminders stores reminders and the due marks they come from.
	Reminders struct {
		*Table
		Notifications
	}
	// Notifications keeps the notifications that writes owe until they
	// are sent.
	Notifications struct{ *Table }
	// PortalLinks stores self-service links and the portal's rate limits.
	PortalLinks struct{ *Table }
	// AuditLog appends to and reads the audit trail.
	AuditLog struct{ *Table }
	// Aggregates keeps the report counters.
	Aggregates struct{ *Table }
	// Idempotency keeps the saved responses of idempotent requests.
	Idempotency struct{ *Table }
)

var (
	_ crm.CustomerStore    = (*Customers)(nil)
	_ crm.ComplaintStore   = (*Complaints)(nil)
	_ crm.ReminderStore    = (*Reminders)(nil)
	_ crm.PortalStore      = (*PortalLinks)(nil)
	_ crm.AuditLog         = (*AuditLog)(nil)
	_ crm.AggregateStore   = (*Aggregates)(nil)
	_ crm.WriteCounter     = (*Aggregates)(nil)
	_ crm.IdempotencyStore = (*Idempotency)(nil)
)

// Customers returns the customer store of t.
func (t *Table) Customers() *Customers { return &Customers{t} }

// Complaints returns the complaint store of t.
func (t *Table) Complaints() *Complaints { return &Complaints{t, Notifications{t}} }

// Reminders returns the reminder store of t.
func (t *Table) Reminders() *Reminders { return &Reminders{t, Notifications{t}} }

// PortalLinks returns the self-service link store of t.
func (t *Table) PortalLinks() *PortalLinks { return &PortalLinks{t} }

// AuditLog returns the audit trail of t.
func (t *Table) AuditLog() *AuditLog { return &AuditLog{t} }

// Aggregates returns the report counters of t.
func (t *Table) Aggregates() *Aggregates { return &Aggregates{t} }

// Idempotency returns the idempotency records of t.
func (t *Table) Idempotency() *Idempotency { return &Idempotency{t} }
