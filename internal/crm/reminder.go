package crm

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Reminder kinds.
const (
	ReminderStaleCustomer = "stale_customer"
	ReminderSLAWarning    = "sla_warning"
	ReminderSLABreach     = "sla_breach"
	ReminderFollowUp      = "follow_up"
)

// ReminderKinds lists the reminder kinds.
var ReminderKinds = []string{ReminderStaleCustomer, ReminderSLAWarning, ReminderSLABreach, ReminderFollowUp}

// Reminder statuses.
const (
	ReminderOpen = "open"
	ReminderDone = "done"
)

// Notification kinds the reminder run sends.
const (
	NotifyReminder        = "reminder_due"
	NotifyReviewRequested = "review_requested"
)

// SystemActor is who the reminder run acts as in timelines and the audit trail.
var SystemActor = Actor{ID: "system:reminders", Roles: []Role{"system"}}

// Reminder tells the person responsible for a customer, complaint or
// follow-up that it needs them.
type Reminder struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	SubjectType string    `json:"subjectType"`
	SubjectID   string    `json:"subjectId"`
	CustomerID  string    `json:"customerId"`
	AssigneeID  string    `json:"assigneeId"`
	DueAt       time.Time `json:"dueAt"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"createdAt"`
	DoneAt      time.Time `json:"doneAt,omitzero"`
	DoneBy      string    `json:"doneBy,omitempty"`
}

// ReminderID is deterministic: one reminder per kind, subject and due
// instant, so that any number of runs, retried or concurrent, make it once.
func ReminderID(kind, subjectID string, due time.Time) string {
	sum := sha256.Sum256([]byte(kind + "|" + subjectID + "|" + due.UTC().Format(time.RFC3339Nano)))
	return "r_" + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:26]
}

// What fell due, as the store's due index reports it.
const (
	DueReview   = "review"
	DueSLA      = "sla"
	DueFollowUp = "follow_up"
)

// Due is one item the reminder run found due.
type Due struct {
	Kind       string
	SubjectID  string
	CustomerID string
	// At is the instant the item's mark fell due.
	At time.Time
	// Mark identifies the due mark the store found, so that clearing it
	// fails if the item has been changed since.
	Mark string
	// OwnerID and Consent describe the customer of a review.
	OwnerID string
	Consent Consent
	// Complaint is the complaint whose SLA threshold came.
	Complaint *Complaint
}

// ComplaintChange is a complaint update committed with a reminder.
type ComplaintChange struct {
	Prev, Next Complaint
	Entry      TimelineEntry
}

// ReminderRecord is everything one due item leads to, committed together.
type ReminderRecord struct {
	Due Due
	// Reminder is nil when the item is no longer due (the complaint was
	// resolved, the customer erased): only the mark is cleared.
	Reminder *Reminder
	// Notes are recorded pending and delivered after the commit.
	Notes []Notification
	// Link is the self-service link sent with a review request.
	Link *PortalLink
	// NextMark moves the mark to a later threshold; zero clears it.
	NextMark time.Time
	// Change escalates a breached complaint.
	Change *ComplaintChange
	// Audit is recorded when the commit changes a complaint or makes a link.
	Audit *Audit
}

// ReminderFilter selects reminders in a list.
type ReminderFilter struct {
	AssigneeID string
	Kind       string
	Status     string
}

// ReminderStore keeps reminders, the due marks they come from, and the
// notifications they owe.
type ReminderStore interface {
	// DueItems calls each with pages of the items due at or before asOf.
	DueItems(ctx context.Context, asOf time.Time, each func([]Due) error) error
	// RecordReminder commits a record: the reminder, its pending
	// notifications and link, the complaint change, and the cleared or
	// moved mark, all or nothing. It reports whether the reminder was
	// created; false with a nil error means another run made it first or
	// the item changed since it was read, and nothing was written but the
	// clearing of a stale mark.
	RecordReminder(ctx context.Context, r ReminderRecord) (bool, error)
	GetReminder(ctx context.Context, id string) (Reminder, error)
	// CompleteReminder marks prev done as next; EPRECONDITION if it changed.
	CompleteReminder(ctx context.Context, prev, next Reminder, a Audit) error
	ListReminders(ctx context.Context, f ReminderFilter, p Page) ([]Reminder, string, error)
	// UndeliveredNotifications calls each with the notifications recorded
	// but not sent: pending ones whose sender's lease has run out, and
	// failed ones with attempts left.
	UndeliveredNotifications(ctx context.Context, each func([]Notification) error) error
	// ClaimNotification leases n to one sender; false if another holds it
	// or it was sent.
	ClaimNotification(ctx context.Context, n Notification) (attempt int, ok bool, err error)
	// MarkNotification records the outcome of a delivery.
	MarkNotification(ctx context.Context, n Notification, delivered bool, attempts int, at time.Time) error
}

// BreachPolicy says what the run does to a complaint past its SLA, besides
// reminding its assignee.
type BreachPolicy struct {
	// Escalate raises the escalation level and records it in the timeline.
	Escalate bool
	// EscalateTo, if set, takes over breached complaints.
	EscalateTo string
}

// Reminders runs the reminder job and serves the reminder list.
type Reminders struct {
	Store     ReminderStore
	Customers CustomerStore
	Portal    *Portal
	// Surveys makes the links and texts of survey notifications that
	// the run redelivers.
	Surveys  *Surveys
	SLA      SLAPolicy
	Breach   BreachPolicy
	Notifier Notifier
	Now      func() time.Time
	// Workers bounds how many items are recorded at once (default 4).
	Workers int
}

// RunReport counts what one run did.
type RunReport struct {
	AsOf        time.Time      `json:"asOf"`
	Due         int            `json:"due"`
	Created     map[string]int `json:"created"`
	Existing    int            `json:"existing"`
	Cleared     int            `json:"cleared"`
	Failed      int            `json:"failed"`
	Notified    int            `json:"notified"`
	Redelivered int            `json:"redelivered"`
	NotifyFails int            `json:"notifyFailures"`
}

// Run finds everything due at asOf, records a reminder for each with its
// notifications, then delivers what earlier runs recorded but did not
// send. Every effect is keyed by a deterministic id and committed with the
// clearing of the due mark, so a repeated, retried or concurrent run
// creates and sends nothing twice, and one that fails half-way leaves marks
// the next run picks up. It returns an error when any item failed, after
// doing all the others.
func (s *Reminders) Run(ctx context.Context, asOf time.Time) (RunReport, error) {
	asOf = asOf.UTC().Truncate(time.Millisecond)
	rep := RunReport{AsOf: asOf, Created: map[string]int{}}
	var mu sync.Mutex
	var errs []error
	workers := s.Workers
	if workers <= 0 {
		workers = 4
	}
	err := s.Store.DueItems(ctx, asOf, func(page []Due) error {
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		for _, d := range page {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				rec, err := s.plan(ctx, d, asOf)
				created := false
				if err == nil {
					created, err = s.Store.RecordReminder(ctx, rec)
				}
				sent, failed := 0, 0
				if created {
					sent, failed = s.deliver(ctx, rec.Notes, 1)
				}
				mu.Lock()
				defer mu.Unlock()
				rep.Due++
				rep.Notified += sent
				rep.NotifyFails += failed
				switch {
				case err != nil:
					rep.Failed++
					errs = append(errs, err)
				case created:
					rep.Created[rec.Reminder.Kind]++
				case rec.Reminder == nil:
					rep.Cleared++
				default:
					rep.Existing++
				}
			}()
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		return rep, err
	}
	if err := s.redeliver(ctx, &rep); err != nil {
		return rep, err
	}
	if len(errs) > 0 {
		return rep, errors.Join(errs[0], Errorf(EUNAVAILABLE, "%d of %d due items failed; the next run retries them", len(errs), rep.Due))
	}
	return rep, nil
}

// plan decides what a due item leads to.
func (s *Reminders) plan(ctx context.Context, d Due, asOf time.Time) (ReminderRecord, error) {
	rec := ReminderRecord{Due: d}
	switch d.Kind {
	case DueReview:
		r := s.reminder(ReminderStaleCustomer, "customer", d.SubjectID, d.CustomerID, d.OwnerID, d.At, asOf)
		rec.Reminder = &r
		rec.Notes = []Notification{s.staffNote(r, asOf)}
		if d.Consent.Reminders && s.Portal != nil {
			l := s.Portal.link("p_"+strings.TrimPrefix(r.ID, "r_"), d.CustomerID, d.OwnerID, asOf)
			rec.Link = &l
			rec.Notes = append(rec.Notes, Notification{
				ID: "n_" + r.ID + "_" + NotifyReviewRequested, Kind: NotifyReviewRequested, RecipientType: RecipientCustomer,
				RecipientID: d.CustomerID, SubjectType: "customer", SubjectID: d.CustomerID, At: asOf, LinkID: l.ID, LinkExpiresAt: l.ExpiresAt,
			})
			a := NewAudit(ctx, SystemActor, "customer.portal_link", "customer", d.CustomerID)
			rec.Audit = &a
		}
	case DueFollowUp:
		c, err := s.Customers.GetCustomer(ctx, d.CustomerID)
		if code := ErrorCode(err); code == ENOTFOUND || code == EGONE {
			return rec, nil // the customer is gone: nothing to follow up
		} else if err != nil {
			return rec, err
		}
		r := s.reminder(ReminderFollowUp, "interaction", d.SubjectID, c.ID, c.OwnerID, d.At, asOf)
		rec.Reminder = &r
		rec.Notes = []Notification{s.staffNote(r, asOf)}
	case DueSLA:
		c := *d.Complaint
		if !Open(c.Status) {
			return rec, nil
		}
		if asOf.Before(c.SLADueAt) {
			r := s.reminder(ReminderSLAWarning, "complaint", c.ID, c.CustomerID, c.AssigneeID, d.At, asOf)
			rec.Reminder, rec.NextMark = &r, c.SLADueAt
			rec.Notes = []Notification{s.staffNote(r, asOf)}
			return rec, nil
		}
		r := s.reminder(ReminderSLABreach, "complaint", c.ID, c.CustomerID, c.AssigneeID, c.SLADueAt, asOf)
		rec.Reminder = &r
		if s.Breach.Escalate {
			next := c
			next.EscalationLevel++
			next.Version, next.UpdatedAt, next.TimelineLen, next.SLABreachedAt = c.Version+1, asOf, c.TimelineLen+1, asOf
			entry := TimelineEntry{Seq: next.TimelineLen, At: asOf, ActorID: SystemActor.ID, Action: ActionEscalate,
				From: c.Status, To: c.Status, Note: "SLA breached: escalated automatically"}
			if s.Breach.EscalateTo != "" && s.Breach.EscalateTo != c.AssigneeID {
				next.AssigneeID, entry.AssigneeID = s.Breach.EscalateTo, s.Breach.EscalateTo
				r.AssigneeID = next.AssigneeID
			}
			rec.Change = &ComplaintChange{Prev: c, Next: next, Entry: entry}
			a := NewAudit(ctx, SystemActor, "complaint."+ActionEscalate, "complaint", c.ID, "status", "timeline", "assigneeId", "escalationLevel")
			rec.Audit = &a
			rec.Notes = append(rec.Notes, Notification{
				ID: "n_" + r.ID + "_" + NotifyComplaintEscalated, Kind: NotifyComplaintEscalated, RecipientType: RecipientStaff,
				RecipientID: next.AssigneeID, SubjectType: "complaint", SubjectID: c.ID, At: asOf,
			})
		}
		rec.Notes = append([]Notification{s.staffNote(r, asOf)}, rec.Notes...)
	}
	return rec, nil
}

func (s *Reminders) reminder(kind, subjectType, subjectID, customerID, assignee string, due, asOf time.Time) Reminder {
	return Reminder{ID: ReminderID(kind, subjectID, due), Kind: kind, SubjectType: subjectType, SubjectID: subjectID,
		CustomerID: customerID, AssigneeID: assignee, DueAt: due.UTC(), Status: ReminderOpen, CreatedAt: asOf}
}

func (s *Reminders) staffNote(r Reminder, asOf time.Time) Notification {
	return Notification{ID: "n_" + r.ID + "_" + NotifyReminder, Kind: NotifyReminder, RecipientType: RecipientStaff,
		RecipientID: r.AssigneeID, SubjectType: "reminder", SubjectID: r.ID, At: asOf}
}

// deliver sends notifications its caller holds the lease of, and records
// each outcome.
func (s *Reminders) deliver(ctx context.Context, notes []Notification, attempt int) (sent, failed int) {
	return deliver(ctx, s.Notifier, s.Store, notes, attempt, s.Now().UTC(), func(n *Notification) {
		if n.Kind == NotifySurveyRequested || n.Kind == NotifySurveyLowScore {
			// A survey's link and text are the survey's to make.
			if s.Surveys != nil {
				s.Surveys.complete(n)
			}
			return
		}
		if n.LinkID != "" && s.Portal != nil {
			n.Link = s.Portal.url(n.LinkID, n.RecipientID, n.LinkExpiresAt)
		}
	})
}

// redeliver sends what was recorded but never sent: by a process that
// died between commit and send, or a send that failed. Each is leased to
// one sender first, so concurrent runs do not both send it.
func (s *Reminders) redeliver(ctx context.Context, rep *RunReport) error {
	return s.Store.UndeliveredNotifications(ctx, func(notes []Notification) error {
		for _, n := range notes {
			attempt, ok, err := s.Store.ClaimNotification(ctx, n)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			sent, failed := s.deliver(ctx, []Notification{n}, attempt)
			rep.Redelivered += sent
			rep.NotifyFails += failed
		}
		return nil
	})
}

// Done marks a reminder done. Its assignee and admins may; to anyone else
// it does not exist. Marking a done reminder done again changes nothing.
func (s *Reminders) Done(ctx context.Context, actor Actor, id string) (Reminder, error) {
	for attempt := 1; ; attempt++ {
		prev, err := s.Store.GetReminder(ctx, id)
		if err != nil {
			return Reminder{}, err
		}
		if prev.AssigneeID != actor.ID && !actor.Has(RoleAdmin) {
			return Reminder{}, Errorf(ENOTFOUND, "reminder %s not found", id)
		}
		if prev.Status == ReminderDone {
			return prev, nil
		}
		next := prev
		next.Status, next.DoneAt, next.DoneBy = ReminderDone, s.Now().UTC().Truncate(time.Millisecond), actor.ID
		err = s.Store.CompleteReminder(ctx, prev, next, NewAudit(ctx, actor, "reminder.done", "reminder", id, "status"))
		if ErrorCode(err) == EPRECONDITION && attempt < 3 {
			continue
		}
		if err != nil {
			return Reminder{}, err
		}
		return next, nil
	}
}

// Validate names every bad filter: kind one of ReminderKinds, status open,
// done or all.
func (f ReminderFilter) Validate() error {
	var v Invalid
	if f.Kind != "" && !slices.Contains(ReminderKinds, f.Kind) {
		v.Add("kind", "enum", "must be one of "+strings.Join(ReminderKinds, ", "))
	}
	switch f.Status {
	case "", "all", ReminderOpen, ReminderDone:
	default:
		v.Add("status", "enum", "must be one of open, done, all")
	}
	return v.Err()
}

// List returns one page of reminders (open ones unless the filter says
// done or all). Everyone may list their own; admins
// and auditors anyone's.
func (s *Reminders) List(ctx context.Context, actor Actor, f ReminderFilter, p Page) ([]Reminder, string, error) {
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	if f.AssigneeID == "" || f.AssigneeID == "me" {
		f.AssigneeID = actor.ID
	}
	switch f.Status {
	case "":
		f.Status = ReminderOpen
	case "all":
		f.Status = ""
	}
	if f.AssigneeID != actor.ID && !actor.Has(RoleAdmin) && !actor.Has(RoleAuditor) {
		return nil, "", &Error{Code: EFORBIDDEN, Message: "you may list only your own reminders",
			Fields: []FieldError{{Field: "assignee", Code: "forbidden", Message: "must be me"}}}
	}
	return s.Store.ListReminders(ctx, f, p)
}
