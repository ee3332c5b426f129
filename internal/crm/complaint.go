package crm

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Complaint statuses.
const (
	StatusNew          = "new"
	StatusAcknowledged = "acknowledged"
	StatusInProgress   = "in_progress"
	StatusResolved     = "resolved"
	StatusClosed       = "closed"
)

// Transition actions a client may ask for.
const (
	ActionInProgress = "in_progress"
	ActionResolve    = "resolved"
	ActionClose      = "closed"
	ActionReopen     = "reopened"
	ActionEscalate   = "escalated"
)

// Timeline actions recorded besides transitions.
const (
	ActionCreated      = "created"
	ActionAcknowledged = "acknowledged"
	ActionNote         = "note"
	// ActionReassigned: an open complaint assigned to the customer's owner
	// followed the customer to a new owner.
	ActionReassigned = "reassigned"
	// ActionLinked: an agent linked a complaint filed without a matching
	// customer to one.
	ActionLinked = "linked"
)

// ReassignActor is who moves what follows a customer to its new owner.
var ReassignActor = Actor{ID: "system:reassign", Roles: []Role{"system"}}

// Channels complaints arrive through.
var Channels = []string{"phone", "email", "web", "app", "store", "social"}

// DefaultCategories are the complaint categories when configuration names none.
var DefaultCategories = []string{"billing", "product", "service", "delivery", "staff", "privacy", "other"}

// transitions is the state machine: for each status, the actions allowed and
// the status each leads to. Escalation keeps the status.
var transitions = map[string]map[string]string{
	StatusNew:          {},
	StatusAcknowledged: {ActionInProgress: StatusInProgress, ActionEscalate: StatusAcknowledged},
	StatusInProgress:   {ActionResolve: StatusResolved, ActionEscalate: StatusInProgress},
	StatusResolved:     {ActionClose: StatusClosed, ActionReopen: StatusInProgress},
	StatusClosed:       {ActionReopen: StatusInProgress},
}

// AllowedActions lists, sorted, the actions allowed from status.
func AllowedActions(status string) []string {
	var out []string
	for a := range transitions[status] {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Open reports whether a complaint in status still runs against its SLA.
func Open(status string) bool { return status != StatusResolved && status != StatusClosed }

// Resolution records how a complaint was resolved.
type Resolution struct {
	Summary   string `json:"summary"`
	RootCause string `json:"rootCause"`
	Remedy    string `json:"remedy"`
}

// Complaint is one complaint and where it stands.
type Complaint struct {
	ID             string    `json:"id"`
	CustomerID     string    `json:"customerId"`
	Channel        string    `json:"channel"`
	Category       string    `json:"category"`
	Severity       string    `json:"severity"`
	Subject        string    `json:"subject"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	AssigneeID     string    `json:"assigneeId"`
	FiledBy        string    `json:"filedBy"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	AcknowledgedAt time.Time `json:"acknowledgedAt,omitzero"`
	AckDueAt       time.Time `json:"ackDueAt"`
	SLADueAt       time.Time `json:"slaDueAt"`
	// SLAWarnAt is when the share of the SLA that warns (75 %) is used up.
	SLAWarnAt       time.Time       `json:"slaWarnAt,omitzero"`
	ResolvedAt      time.Time       `json:"resolvedAt,omitzero"`
	ClosedAt        time.Time       `json:"closedAt,omitzero"`
	Resolution      *Resolution     `json:"resolution,omitempty"`
	EscalationLevel int             `json:"escalationLevel"`
	Version         int64           `json:"version"`
	Timeline        []TimelineEntry `json:"timeline,omitempty"`
	// ExternalRef is the filing client's own reference for the message
	// the complaint came from.
	ExternalRef string `json:"externalRef,omitempty"`
	// Contact is how an unlinked complaint's sender can be reached, kept
	// (sealed) only until an agent links it to a customer.
	Contact *ContactRef `json:"contact,omitempty"`
	// CustomerOwnerID is the customer's owner when the complaint was filed;
	// it scopes a sales rep's lists.
	CustomerOwnerID string `json:"-"`
	// TimelineLen counts the complaint's timeline entries.
	TimelineLen int `json:"-"`
	// SLAWarnedAt and SLABreachedAt record when the reminder run warned
	// of the SLA and flagged its breach, so each happens once.
	SLAWarnedAt   time.Time `json:"-"`
	SLABreachedAt time.Time `json:"-"`
}

// Breached reports whether the complaint missed its resolution target: it
// was resolved late, or is still open past it.
func (c Complaint) Breached(now time.Time) bool {
	if !c.ResolvedAt.IsZero() {
		return c.ResolvedAt.After(c.SLADueAt)
	}
	return Open(c.Status) && now.After(c.SLADueAt)
}

// TimelineEntry is one step in a complaint's history.
type TimelineEntry struct {
	Seq        int       `json:"seq"`
	At         time.Time `json:"at"`
	ActorID    string    `json:"actorId"`
	Action     string    `json:"action"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Note       string    `json:"note,omitempty"`
	Severity   string    `json:"severity,omitempty"`
	AssigneeID string    `json:"assigneeId,omitempty"`
	// Score is a customer's satisfaction score (survey_answered).
	Score int `json:"score,omitempty"`
}

// ComplaintInput is what a client sends to file a complaint.
type ComplaintInput struct {
	CustomerID string `json:"customerId"`
	// Customer and ExternalRef are for machine clients: the customer named
	// by a contact instead of an id, and the client's own reference.
	Customer    *ContactRef `json:"customer"`
	ExternalRef string      `json:"externalRef"`
	Channel     string      `json:"channel"`
	Category    string      `json:"category"`
	Severity    string      `json:"severity"`
	Subject     string      `json:"subject"`
	Description string      `json:"description"`
}

// TransitionInput asks for a state change.
type TransitionInput struct {
	To         string      `json:"to"`
	Note       string      `json:"note"`
	Resolution *Resolution `json:"resolution"`
	// Severity and AssigneeID apply to an escalation.
	Severity   string `json:"severity"`
	AssigneeID string `json:"assigneeId"`
}

// NoteInput adds a note to a complaint's timeline.
type NoteInput struct {
	Note string `json:"note"`
}

// ComplaintFilter selects complaints in a list. Empty fields do not filter.
type ComplaintFilter struct {
	Status     string
	AssigneeID string
	CustomerID string
	Severity   string
	Breached   bool
	// Unlinked lists the complaints filed without a matching customer.
	Unlinked bool
	// FiledBy limits the list to the complaints one caller filed.
	FiledBy string
	AsOf    time.Time
	// OwnerID limits the list to complaints about a rep's customers.
	OwnerID string
}

// Match reports whether c passes every set filter.
func (f ComplaintFilter) Match(c Complaint) bool {
	switch {
	case f.Status != "" && c.Status != f.Status,
		f.AssigneeID != "" && c.AssigneeID != f.AssigneeID,
		f.CustomerID != "" && c.CustomerID != f.CustomerID,
		f.Severity != "" && c.Severity != f.Severity,
		f.OwnerID != "" && c.CustomerOwnerID != f.OwnerID,
		f.Unlinked && c.CustomerID != "",
		f.FiledBy != "" && c.FiledBy != f.FiledBy,
		// The breach list is the working list: open complaints past due,
		// whichever index serves it. Late resolutions count in reports.
		f.Breached && !(Open(c.Status) && f.AsOf.After(c.SLADueAt)):
		return false
	}
	return true
}

// ComplaintStore persists complaints with their timelines and the
// notifications they owe, each write in one transaction.
type ComplaintStore interface {
	// CreateComplaint stores a new complaint, its first timeline entries and
	// its pending notifications.
	CreateComplaint(ctx context.Context, c Complaint, timeline []TimelineEntry, notes []Notification, a Audit) error
	// GetComplaint returns ENOTFOUND if the complaint does not exist. The
	// timeline is not loaded.
	GetComplaint(ctx context.Context, id string) (Complaint, error)
	// ComplaintTimeline returns every timeline entry, oldest first.
	ComplaintTimeline(ctx context.Context, id string) ([]TimelineEntry, error)
	// UpdateComplaint replaces prev with next and appends entry, when the
	// stored version is still prev.Version; EPRECONDITION otherwise.
	UpdateComplaint(ctx context.Context, prev, next Complaint, entry TimelineEntry, notes []Notification, a Audit) error
	// ListComplaints returns one page of complaints matching f, newest first
	// (oldest due first for Breached).
	ListComplaints(ctx context.Context, f ComplaintFilter, p Page) ([]Complaint, string, error)
	// NextInRotation returns the next value of the named counter, starting at
	// 1; concurrent callers each get a different value.
	NextInRotation(ctx context.Context, name string) (int64, error)
	// MarkNotification records the outcome of a notification's delivery.
	MarkNotification(ctx context.Context, n Notification, delivered bool, attempts int, at time.Time) error
}

var categoryRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)

// maxText bounds free text: descriptions, notes and resolution fields.
const maxText = 4000

func checkText(v *Invalid, field, s string, required bool, max int) {
	n := len([]rune(strings.TrimSpace(s)))
	switch {
	case n == 0 && required:
		v.Add(field, "required", "is required")
	case n > max:
		v.Add(field, "too_long", "is too long")
	}
}

// Validate checks a complaint input against the categories in force,
// naming every invalid field.
func (in ComplaintInput) Validate(categories []string) error {
	var v Invalid
	if strings.TrimSpace(in.CustomerID) == "" && in.Customer == nil {
		v.Add("customerId", "required", "is required")
	}
	if !slices.Contains(Channels, in.Channel) {
		v.Add("channel", "enum", "must be one of "+strings.Join(Channels, ", "))
	}
	if !slices.Contains(categories, in.Category) {
		v.Add("category", "enum", "must be one of "+strings.Join(categories, ", "))
	}
	if SeverityRank(in.Severity) < 0 {
		v.Add("severity", "enum", "must be one of "+strings.Join(Severities, ", "))
	}
	checkText(&v, "subject", in.Subject, true, 200)
	checkText(&v, "description", in.Description, true, maxText)
	return v.Err()
}

// ValidCategory reports whether s can name a complaint category.
func ValidCategory(s string) bool { return categoryRe.MatchString(s) }
