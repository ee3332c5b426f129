package crm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Assignment modes.
const (
	AssignOwner      = "owner"       // the customer's owner handles it
	AssignRoundRobin = "round_robin" // the next of the configured service agents
)

// Assignment is the policy that picks who handles a new complaint.
type Assignment struct {
	Mode   string
	Agents []string
	// Triage handles, in owner mode, complaints filed without a matching
	// customer until one is linked (default DefaultTriageAssignee).
	Triage string
}

// Complaints carries out complaint operations for an actor.
type Complaints struct {
	Store     ComplaintStore
	Customers CustomerStore
	// Policy standardizes the contact a machine client names a customer by.
	Policy     Policy
	SLA        SLAPolicy
	Assignment Assignment
	Categories []string
	Notifier   Notifier
	Now        func() time.Time
	NewID      func(prefix string) string
	// Surveys, when set, sends a satisfaction survey with each resolution.
	Surveys *Surveys
}

func (s *Complaints) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// File records a complaint, acknowledges it at once, assigns it, starts its
// SLA and notifies the assignee (and the customer, if they agreed to be
// contacted). The customer must exist and, for a sales rep, be their own.
// Returns EINVALID naming every bad field, or ENOTFOUND for the customer.
func (s *Complaints) File(ctx context.Context, actor Actor, in ComplaintInput) (Complaint, error) {
	in.Subject, in.Description = strings.TrimSpace(in.Subject), strings.TrimSpace(in.Description)
	in.Category = strings.ToLower(strings.TrimSpace(in.Category))
	contact, v := s.intake(actor, &in)
	if err := in.Validate(s.Categories); err != nil || len(v) > 0 {
		var e *Error
		if errors.As(err, &e) {
			v = append(v, e.Fields...)
		}
		return Complaint{}, v.Err()
	}
	var cust Customer
	var err error
	if contact != nil {
		// A contact that matches no one files the complaint unlinked; the
		// answer is the same and the work about the same either way, so
		// the caller cannot tell which it was.
		cust, err = s.match(ctx, *contact)
	} else {
		cust, err = s.Customers.GetCustomer(ctx, in.CustomerID)
	}
	if err == nil && actor.OwnScopeOnly() && cust.OwnerID != actor.ID {
		err = Errorf(ENOTFOUND, "customer %s not found", in.CustomerID)
	}
	linked := true
	if err != nil && contact != nil && (ErrorCode(err) == ENOTFOUND || ErrorCode(err) == EGONE) {
		cust, err, linked = Customer{}, nil, false
	}
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Complaint{}, &Error{Code: ENOTFOUND, Message: "the customer does not exist",
				Fields: []FieldError{{Field: "customerId", Code: "not_found", Message: "no such customer"}}}
		}
		return Complaint{}, err
	}
	var assignee string
	if linked {
		assignee, err = s.assign(ctx, cust)
	} else {
		assignee, err = s.triageAssignee(ctx)
	}
	if err != nil {
		return Complaint{}, err
	}
	now := s.now()
	ackDue, slaDue := s.SLA.Due(in.Severity, now)
	warnAt := s.SLA.Warn(in.Severity, now)
	c := Complaint{
		ID: s.NewID("k"), CustomerID: cust.ID, CustomerOwnerID: cust.OwnerID,
		Channel: in.Channel, Category: in.Category, Severity: in.Severity, Subject: in.Subject, Description: in.Description,
		Status: StatusAcknowledged, AssigneeID: assignee, FiledBy: actor.ID, ExternalRef: in.ExternalRef,
		CreatedAt: now, UpdatedAt: now, AcknowledgedAt: now, AckDueAt: ackDue, SLADueAt: slaDue, SLAWarnAt: warnAt, Version: 1, TimelineLen: 2,
	}
	fields := []string{"customerId", "channel", "category", "severity", "subject", "description", "status", "assigneeId"}
	if !linked {
		c.Contact = contact
		fields[0] = "contact"
	}
	if c.ExternalRef != "" {
		fields = append(fields, "externalRef")
	}
	timeline := []TimelineEntry{
		{Seq: 1, At: now, ActorID: actor.ID, Action: ActionCreated, To: StatusNew, Severity: c.Severity},
		{Seq: 2, At: now, ActorID: "system", Action: ActionAcknowledged, From: StatusNew, To: StatusAcknowledged, AssigneeID: assignee},
	}
	notes := []Notification{s.notification(c, NotifyComplaintAssigned, RecipientStaff, assignee, now)}
	if linked && cust.Consent.Reminders {
		notes = append(notes, s.notification(c, NotifyComplaintAcknowledged, RecipientCustomer, cust.ID, now))
	}
	audit := NewAudit(ctx, actor, "complaint.create", "complaint", c.ID, fields...)
	if err := s.Store.CreateComplaint(ctx, c, timeline, notes, audit); err != nil {
		return Complaint{}, err
	}
	s.deliver(ctx, notes)
	c.Timeline = timeline
	return c, nil
}

// assign applies the assignment policy. Round robin draws from an atomic
// counter, so concurrent intakes never pick the same turn.
func (s *Complaints) assign(ctx context.Context, cust Customer) (string, error) {
	if s.Assignment.Mode != AssignRoundRobin || len(s.Assignment.Agents) == 0 {
		return cust.OwnerID, nil
	}
	n, err := s.Store.NextInRotation(ctx, "complaint-assignment")
	if err != nil {
		return "", err
	}
	return s.Assignment.Agents[(n-1)%int64(len(s.Assignment.Agents))], nil
}

func (s *Complaints) notification(c Complaint, kind, recipientType, recipient string, at time.Time) Notification {
	return Notification{
		ID:   "n_" + c.ID + "_" + kind + "_" + recipientType + "_" + recipient + "_" + at.Format("20060102T150405.000"),
		Kind: kind, RecipientType: recipientType, RecipientID: recipient, SubjectType: "complaint", SubjectID: c.ID, At: at,
	}
}

// deliver sends notifications recorded as pending with the write that owes
// them; the request they belong to has already succeeded.
func (s *Complaints) deliver(ctx context.Context, notes []Notification) {
	var complete func(*Notification)
	if s.Surveys != nil {
		complete = s.Surveys.complete
	}
	deliver(ctx, s.Notifier, s.Store, notes, 1, s.now(), complete)
}

// Get returns a complaint with its timeline if the actor may see it: a sales
// rep sees complaints about the customers they own now.
func (s *Complaints) Get(ctx context.Context, actor Actor, id string) (Complaint, error) {
	c, err := s.visible(ctx, actor, id)
	if err != nil {
		return Complaint{}, err
	}
	if c.Timeline, err = s.Store.ComplaintTimeline(ctx, id); err != nil {
		return Complaint{}, err
	}
	return c, nil
}

func (s *Complaints) visible(ctx context.Context, actor Actor, id string) (Complaint, error) {
	c, err := s.Store.GetComplaint(ctx, id)
	if err != nil {
		return Complaint{}, err
	}
	if actor.Client && c.FiledBy != actor.ID {
		// An integration reads back what it filed, nothing else.
		return Complaint{}, Errorf(ENOTFOUND, "complaint %s not found", id)
	}
	if actor.OwnScopeOnly() {
		cust, err := s.Customers.GetCustomer(ctx, c.CustomerID)
		if err != nil || cust.OwnerID != actor.ID {
			return Complaint{}, Errorf(ENOTFOUND, "complaint %s not found", id)
		}
	}
	return c, nil
}

// Transition moves a complaint through its state machine. Returns ECONFLICT
// naming the allowed actions for an illegal one, EINVALID for a resolution
// or escalation missing what it needs, EPRECONDITION when another change got
// there first.
func (s *Complaints) Transition(ctx context.Context, actor Actor, id string, ifMatch *int64, in TransitionInput) (Complaint, error) {
	if err := in.validate(); err != nil {
		return Complaint{}, err
	}
	prev, err := s.visible(ctx, actor, id)
	if err != nil {
		return Complaint{}, err
	}
	if ifMatch != nil && *ifMatch != prev.Version {
		return Complaint{}, Errorf(EPRECONDITION, "complaint %s is at another version", id)
	}
	to, ok := transitions[prev.Status][in.To]
	if !ok {
		return Complaint{}, &Error{Code: ECONFLICT, Message: "a complaint that is " + prev.Status + " cannot be " + in.To, Allowed: AllowedActions(prev.Status)}
	}
	if prev.TimelineLen >= MaxTimeline && (in.To == ActionReopen || in.To == ActionEscalate) {
		return Complaint{}, errTimelineFull()
	}
	now := s.now()
	next := prev
	next.Status, next.UpdatedAt, next.Version, next.TimelineLen = to, now, prev.Version+1, prev.TimelineLen+1
	entry := TimelineEntry{Seq: next.TimelineLen, At: now, ActorID: actor.ID, Action: in.To, From: prev.Status, To: to, Note: strings.TrimSpace(in.Note)}
	var notes []Notification
	var survey *Survey
	switch in.To {
	case ActionResolve:
		r := Resolution{Summary: strings.TrimSpace(in.Resolution.Summary), RootCause: strings.TrimSpace(in.Resolution.RootCause), Remedy: strings.TrimSpace(in.Resolution.Remedy)}
		next.Resolution, next.ResolvedAt = &r, now
		if survey, notes, err = s.survey(ctx, next, entry, notes); err != nil {
			return Complaint{}, err
		}
	case ActionClose:
		next.ClosedAt = now
	case ActionReopen:
		next.Resolution, next.ResolvedAt, next.ClosedAt = nil, time.Time{}, time.Time{}
	case ActionEscalate:
		if in.Severity != "" {
			if SeverityRank(in.Severity) <= SeverityRank(prev.Severity) {
				return Complaint{}, Invalid{{Field: "severity", Code: "not_higher", Message: "an escalation must raise the severity"}}.Err()
			}
			next.Severity, entry.Severity = in.Severity, in.Severity
		}
		if in.AssigneeID != "" {
			next.AssigneeID, entry.AssigneeID = in.AssigneeID, in.AssigneeID
		}
		next.EscalationLevel++
		// The targets of the new severity, counted from intake: the customer
		// has been waiting since then.
		next.AckDueAt, next.SLADueAt = s.SLA.Due(next.Severity, prev.CreatedAt)
		next.SLAWarnAt = s.SLA.Warn(next.Severity, prev.CreatedAt)
		notes = append(notes, s.notification(next, NotifyComplaintEscalated, RecipientStaff, next.AssigneeID, now))
	}
	fields := []string{"status", "timeline"}
	switch in.To {
	case ActionResolve:
		fields = append(fields, "resolution")
	case ActionEscalate:
		fields = append(fields, "severity", "assigneeId", "slaDueAt")
	}
	a := NewAudit(ctx, actor, "complaint."+in.To, "complaint", id, fields...)
	if survey != nil {
		err = s.Surveys.Store.ResolveWithSurvey(ctx, prev, next, entry, *survey, notes, a)
	} else {
		err = s.Store.UpdateComplaint(ctx, prev, next, entry, notes, a)
	}
	if err != nil {
		return Complaint{}, err
	}
	s.deliver(ctx, notes)
	return next, nil
}

// survey adds to a resolution the satisfaction survey it owes the
// customer, if surveys are on and the customer agreed to service contact.
// A customer erased meanwhile is sent nothing.
func (s *Complaints) survey(ctx context.Context, next Complaint, entry TimelineEntry, notes []Notification) (*Survey, []Notification, error) {
	if s.Surveys == nil {
		return nil, notes, nil
	}
	cust, err := s.Customers.GetCustomer(ctx, next.CustomerID)
	if code := ErrorCode(err); code == ENOTFOUND || code == EGONE {
		return nil, notes, nil
	} else if err != nil {
		return nil, notes, err
	}
	sv, n, ok := s.Surveys.plan(cust, next, entry)
	if !ok {
		return nil, notes, nil
	}
	return &sv, append(notes, n), nil
}

func (in TransitionInput) validate() error {
	var v Invalid
	valid := []string{ActionInProgress, ActionResolve, ActionClose, ActionReopen, ActionEscalate}
	if !slices.Contains(valid, in.To) {
		v.Add("to", "enum", "must be one of "+strings.Join(valid, ", "))
	}
	checkText(&v, "note", in.Note, in.To == ActionEscalate, maxText)
	if in.To == ActionResolve {
		if in.Resolution == nil {
			v.Add("resolution", "required", "a resolution {summary, rootCause, remedy} is required to resolve")
		} else {
			checkText(&v, "resolution.summary", in.Resolution.Summary, true, maxText)
			checkText(&v, "resolution.rootCause", in.Resolution.RootCause, true, maxText)
			checkText(&v, "resolution.remedy", in.Resolution.Remedy, true, maxText)
		}
	} else if in.Resolution != nil {
		v.Add("resolution", "not_allowed", "only a resolution carries one")
	}
	if in.To == ActionEscalate {
		if in.Severity == "" && in.AssigneeID == "" {
			v.Add("severity", "required", "an escalation raises the severity, reassigns, or both")
		}
		if in.Severity != "" && SeverityRank(in.Severity) < 0 {
			v.Add("severity", "enum", "must be one of "+strings.Join(Severities, ", "))
		}
	} else {
		if in.Severity != "" {
			v.Add("severity", "not_allowed", "only an escalation changes the severity")
		}
		if in.AssigneeID != "" {
			v.Add("assigneeId", "not_allowed", "only an escalation reassigns")
		}
	}
	return v.Err()
}

// A complaint's timeline is bounded so that the complaint, read whole (with
// GET or in an export page), stays inside Lambda's 6 MB response limit: an
// entry holds at most one 4000-character text, which the response can take
// up to 28 KB to carry. Notes stop at MaxTimelineNotes entries, reopening
// and escalating at MaxTimeline; moving forward (in progress, resolved,
// closed) is always possible, at most three entries more, so no complaint is
// stuck open by its own history.
const (
	MaxTimelineNotes = 150
	MaxTimeline      = 170
)

func errTimelineFull() error {
	return &Error{Code: ECONFLICT, Message: "this complaint's timeline is full; file a follow-up complaint",
		Fields: []FieldError{{Field: "timeline", Code: "timeline_full", Message: "has reached its limit"}}}
}

// AddNote appends a note to a complaint's timeline.
func (s *Complaints) AddNote(ctx context.Context, actor Actor, id string, in NoteInput) (Complaint, error) {
	var v Invalid
	checkText(&v, "note", in.Note, true, maxText)
	if err := v.Err(); err != nil {
		return Complaint{}, err
	}
	for attempt := 1; ; attempt++ {
		prev, err := s.visible(ctx, actor, id)
		if err != nil {
			return Complaint{}, err
		}
		if prev.TimelineLen >= MaxTimelineNotes {
			return Complaint{}, errTimelineFull()
		}
		now := s.now()
		next := prev
		next.UpdatedAt, next.Version, next.TimelineLen = now, prev.Version+1, prev.TimelineLen+1
		entry := TimelineEntry{Seq: next.TimelineLen, At: now, ActorID: actor.ID, Action: ActionNote, Note: strings.TrimSpace(in.Note)}
		err = s.Store.UpdateComplaint(ctx, prev, next, entry, nil, NewAudit(ctx, actor, "complaint.note", "complaint", id, "timeline"))
		// A note changes no state, so losing a race to another change is
		// no reason to refuse it: try again on the newer version.
		if ErrorCode(err) == EPRECONDITION && attempt < 5 {
			continue
		}
		return next, err
	}
}

// List returns one page of the complaints the actor may see.
func (s *Complaints) List(ctx context.Context, actor Actor, f ComplaintFilter, p Page) ([]Complaint, string, error) {
	f.AsOf = s.now()
	if actor.OwnScopeOnly() {
		f.OwnerID = actor.ID
	}
	if actor.Client {
		f.FiledBy = actor.ID
	}
	var v Invalid
	if f.Status != "" && transitions[f.Status] == nil {
		v.Add("status", "enum", "must be one of new, acknowledged, in_progress, resolved, closed")
	}
	if f.Severity != "" && SeverityRank(f.Severity) < 0 {
		v.Add("severity", "enum", "must be one of "+strings.Join(Severities, ", "))
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	cs, next, err := s.Store.ListComplaints(ctx, f, p)
	if err != nil {
		return nil, "", err
	}
	cs, err = s.currentScope(ctx, actor, cs)
	return cs, next, err
}
