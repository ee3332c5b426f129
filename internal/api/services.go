package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/webhooks"
)

// Services are the domain services a function built. A function builds
// only those its routes use and leaves the rest nil; the route table hands
// each handler maker just the one or two it calls, through the narrow
// interfaces below, so a handler can be tested with a hand-written fake.
type Services struct {
	Customers  *crm.Customers
	Complaints *crm.Complaints
	Portal     *crm.Portal
	Reminders  *crm.Reminders
	Reports    *crm.Reports
	// Imports runs background bulk imports.
	Imports *crm.Imports
	// Surveys answers the satisfaction-survey links.
	Surveys *crm.Surveys
	// Approvals decides four-eyes requests.
	Approvals *crm.Approvals
	Audit     crm.AuditLog
	// AuditVerifications serve the latest verification of the audit trail.
	AuditVerifications crm.AuditVerifications
	// Webhooks registers webhook endpoints (the webhooks function).
	Webhooks *webhooks.Service
	// Access counts, per user, the refused requests the access report
	// shows.
	Access      crm.AccessCounter
	Idempotency crm.IdempotencyStore
	// Clients limits each machine client's requests.
	Clients ClientLimit
	// Health checks the dependencies; nil error means healthy.
	Health func(ctx context.Context) error
	Logger *slog.Logger
	Now    func() time.Time
	// Timeout is the function's timeout: a request must be answered within
	// it, less a margin, whatever its dependencies do. Zero means 10s.
	Timeout time.Duration

	// Data stewardship: Duplicates lists the likely duplicates the stream
	// keeps; BulkReassign files bulk reassignments and reports progress.
	Duplicates   *crm.Duplicates
	BulkReassign *crm.BulkReassign
	// Merges merges customers and undoes merges.
	Merges *crm.Merges
}

// The narrow interfaces the handler makers take, each implemented by a
// service of package crm.
type (
	customerCreator interface {
		Create(ctx context.Context, a crm.Actor, in crm.CustomerInput, allowDuplicate bool) (crm.Customer, error)
	}
	customerReader interface {
		Get(ctx context.Context, a crm.Actor, id string) (crm.Customer, error)
		SensitiveRead(ctx context.Context, a crm.Actor, c crm.Customer, action string) error
	}
	// sensitiveReader records that a response shows sensitive fields in
	// full: wherever it happens, that is a sensitive read.
	sensitiveReader interface {
		SensitiveRead(ctx context.Context, a crm.Actor, c crm.Customer, action string) error
	}
	customerUpdater interface {
		Change(ctx context.Context, a crm.Actor, id string, ifMatch *int64, edit func(crm.CustomerInput) (crm.CustomerInput, error)) (crm.Customer, *crm.Approval, error)
	}
	customerVerifier interface {
		Verify(ctx context.Context, a crm.Actor, id string, ifMatch *int64) (crm.Customer, error)
	}
	customerEraser interface {
		RequestErase(ctx context.Context, a crm.Actor, id string) (*crm.Approval, error)
	}
	customerExporter interface {
		Export(ctx context.Context, a crm.Actor, id, cursor string) (crm.Export, error)
	}
	customerLister interface {
		List(ctx context.Context, a crm.Actor, f crm.CustomerFilter, p crm.Page) ([]crm.Customer, string, error)
	}
	interactionAdder interface {
		AddInteraction(ctx context.Context, a crm.Actor, customerID string, in crm.InteractionInput) (crm.Interaction, error)
	}

	complaintFiler interface {
		File(ctx context.Context, a crm.Actor, in crm.ComplaintInput) (crm.Complaint, error)
	}
	complaintReader interface {
		Get(ctx context.Context, a crm.Actor, id string) (crm.Complaint, error)
	}
	complaintLister interface {
		List(ctx context.Context, a crm.Actor, f crm.ComplaintFilter, p crm.Page) ([]crm.Complaint, string, error)
	}
	complaintTransitioner interface {
		Transition(ctx context.Context, a crm.Actor, id string, ifMatch *int64, in crm.TransitionInput) (crm.Complaint, error)
	}
	complaintLinker interface {
		Link(ctx context.Context, a crm.Actor, id string, in crm.LinkInput) (crm.Complaint, error)
	}
	complaintNoter interface {
		AddNote(ctx context.Context, a crm.Actor, id string, in crm.NoteInput) (crm.Complaint, error)
	}

	portalLinker interface {
		CreateLink(ctx context.Context, a crm.Actor, customerID string) (crm.PortalLink, error)
	}
	portalRevoker interface {
		RevokeLinks(ctx context.Context, a crm.Actor, customerID string) (int, error)
	}
	portalUpdater interface {
		Update(ctx context.Context, token, clientAddr string, in crm.PortalInput) (crm.PortalView, error)
	}

	reminderLister interface {
		List(ctx context.Context, a crm.Actor, f crm.ReminderFilter, p crm.Page) ([]crm.Reminder, string, error)
	}
	reminderCompleter interface {
		Done(ctx context.Context, a crm.Actor, id string) (crm.Reminder, error)
	}

	dataQualityReporter interface {
		DataQuality(ctx context.Context, a crm.Actor) (crm.DataQualityReport, error)
	}
	complaintReporter interface {
		Complaints(ctx context.Context, from, to time.Time) (crm.ComplaintReport, error)
	}
	accessReporter interface {
		Access(ctx context.Context, from, to time.Time) (crm.AccessReport, error)
	}
	customerReporter interface {
		Customers(ctx context.Context) (crm.CustomerReport, error)
	}

	auditLister interface {
		ListAudit(ctx context.Context, f crm.AuditFilter, p crm.Page) ([]crm.AuditEntry, string, error)
	}
)

var (
	_ customerCreator       = (*crm.Customers)(nil)
	_ customerReader        = (*crm.Customers)(nil)
	_ customerUpdater       = (*crm.Customers)(nil)
	_ customerVerifier      = (*crm.Customers)(nil)
	_ customerEraser        = (*crm.Customers)(nil)
	_ customerExporter      = (*crm.Customers)(nil)
	_ customerLister        = (*crm.Customers)(nil)
	_ interactionAdder      = (*crm.Customers)(nil)
	_ complaintFiler        = (*crm.Complaints)(nil)
	_ complaintReader       = (*crm.Complaints)(nil)
	_ complaintLister       = (*crm.Complaints)(nil)
	_ complaintTransitioner = (*crm.Complaints)(nil)
	_ complaintNoter        = (*crm.Complaints)(nil)
	_ complaintLinker       = (*crm.Complaints)(nil)
	_ portalLinker          = (*crm.Portal)(nil)
	_ portalUpdater         = (*crm.Portal)(nil)
	_ reminderLister        = (*crm.Reminders)(nil)
	_ reminderCompleter     = (*crm.Reminders)(nil)
	_ dataQualityReporter   = (*crm.Reports)(nil)
	_ complaintReporter     = (*crm.Reports)(nil)
	_ customerReporter      = (*crm.Reports)(nil)
)
