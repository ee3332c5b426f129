package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Customers carries out customer operations for an actor: it standardizes
// input, applies ownership, and keeps the derived fields right.
type Customers struct {
	Store CustomerStore
	// Complaints is read for exports.
	Complaints ComplaintStore
	Audit      AuditLog
	Policy     Policy
	Now        func() time.Time
	NewID      func(prefix string) string
	// Writes, if set, counts writes accepted and refused by validation,
	// for the invalid-entry rate.
	Writes WriteCounter
	// Access, if set, counts probes, duplicate probes and sensitive reads
	// per user for the access report.
	Access AccessCounter
	// Dropped, if set, is told of a best-effort record that failed (a
	// count, a probe's audit entry), so that it is logged: the request
	// itself is answered as if it had not.
	Dropped func(ctx context.Context, what string, err error)
	// LostReasons are the reasons a customer may be marked lost for
	// (default DefaultLostReasons).
	LostReasons []string
	// ConsentLog reads consent histories.
	ConsentLog ConsentStore
	// FourEyes says which changes wait for a second person, and
	// Approvals keeps them while they do.
	FourEyes  FourEyes
	Approvals ApprovalStore
}

// WriteCounter counts customer writes by outcome.
type WriteCounter interface {
	CountWrite(ctx context.Context, at time.Time, accepted bool) error
}

// countWrite counts a write refused for invalid input. Stored writes are
// counted from the table's stream, not here: a counter that every write
// touched would be a hot spot shared by unrelated writers. A failure to
// count loses one count, never the write.
func (s *Customers) countWrite(ctx context.Context, err *error) {
	if s.Writes == nil || *err == nil || ErrorCode(*err) != EINVALID {
		return
	}
	_ = s.Writes.CountWrite(ctx, s.now(), false)
}

// Create standardizes in and stores a new customer owned by in.OwnerID, or by
// the actor when none is given. A sales rep may create customers only for
// themselves. Returns EINVALID naming every bad field, EFORBIDDEN, or
// ECONFLICT with DuplicateOf.
func (s *Customers) Create(ctx context.Context, actor Actor, in CustomerInput, allowDuplicate bool) (Customer, error) {
	return s.create(ctx, actor, s.NewID("c"), in, allowDuplicate)
}

// Import creates the customer of one row of a background import under id,
// which the import derives from itself and the row, exactly as Create
// would: standardized, validated, checked for duplicates and audited as a
// create by actor. A customer already stored under id is this row's, from
// an earlier run of the same chunk, and is returned as created: a re-run
// converges instead of creating anything twice. Returns what Create
// returns.
func (s *Customers) Import(ctx context.Context, actor Actor, id string, in CustomerInput) (Customer, error) {
	c, err := s.create(ctx, actor, id, in, false)
	if ErrorCode(err) != EPRECONDITION {
		return c, err
	}
	prev, gerr := s.Store.GetCustomer(ctx, id)
	switch ErrorCode(gerr) {
	case "":
		return prev, nil
	case EGONE:
		// Imported, then erased since: still this row's, and not to come back.
		return Customer{ID: id}, nil
	}
	return Customer{}, err
}

func (s *Customers) create(ctx context.Context, actor Actor, id string, in CustomerInput, allowDuplicate bool) (_ Customer, err error) {
	defer s.countWrite(ctx, &err)
	if err := checkMasked(in); err != nil {
		return Customer{}, err
	}
	std, err := s.Policy.Standardize(in)
	if err != nil {
		return Customer{}, err
	}
	if std.OwnerID == "" {
		std.OwnerID = actor.ID
	}
	// A new record is a change of every field it sets; owning it yourself
	// is the default, not a change.
	base := CustomerInput{OwnerID: actor.ID, Consent: &Consent{}}
	if err := checkAllowed(actor, base, std); err != nil {
		return Customer{}, err
	}
	if allowDuplicate && !actor.Has(RoleAdmin) {
		return Customer{}, Errorf(EFORBIDDEN, "only an admin may allow a duplicate")
	}
	now := s.now()
	c := Customer{ID: id, CreatedAt: now, CreatedBy: actor.ID, Version: 1}
	c.apply(std, now)
	c.ReviewDueAt = s.Policy.ReviewDue(c)
	c.ConsentChanges = consentChanges(Consent{}, c.Consent, true, now, consentSource(ctx), actor.ID)
	audit := NewAudit(ctx, actor, "customer.create", "customer", c.ID, changedFields(CustomerInput{}, std)...)
	if err := s.Store.CreateCustomer(ctx, c, allowDuplicate, audit); err != nil {
		return Customer{}, s.refusedDuplicate(ctx, actor, err, audit)
	}
	return c, nil
}

// probe records a request for a customer outside the actor's scope: an
// audit entry (outcome not_found) and the access count. Both are
// best-effort: the answer is the 404 either way, so that a failure to
// record cannot tell the caller the customer exists.
func (s *Customers) probe(ctx context.Context, actor Actor, id string) {
	a := NewAudit(ctx, actor, "customer.read", "customer", id)
	a.Outcome = OutcomeNotFound
	if err := s.Audit.AppendAudit(ctx, a); err != nil && s.Dropped != nil {
		s.Dropped(ctx, "probe audit entry", err)
	}
	countAccess(ctx, s.Access, s.Dropped, actor, s.now(), AccessProbe)
}

// refusedDuplicate handles a write the store refused. A duplicate is
// recorded in the audit trail (outcome conflict, naming the colliding
// fields), so that someone testing contacts or ID numbers against the CRM
// shows up; and the id of the customer it collided with is kept from a
// caller who may not read that customer, so the 409 names the fields only.
// Other errors pass through.
func (s *Customers) refusedDuplicate(ctx context.Context, actor Actor, err error, a Audit) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != ECONFLICT || e.DuplicateOf == "" {
		return err
	}
	a.Outcome, a.ChangedFields = OutcomeConflict, nil
	for _, f := range e.Fields {
		a.ChangedFields = append(a.ChangedFields, f.Field)
	}
	if err := s.Audit.AppendAudit(ctx, a); err != nil {
		// Fail closed: an unrecorded probe is not answered.
		return err
	}
	countAccess(ctx, s.Access, s.Dropped, actor, s.now(), AccessDuplicate)
	if actor.OwnScopeOnly() {
		if dup, err := s.Store.GetCustomer(ctx, e.DuplicateOf); err != nil || dup.OwnerID != actor.ID {
			concealed := *e
			concealed.DuplicateOf = ""
			return &concealed
		}
	}
	return e
}

// Get returns the customer if the actor may see it. Returns ENOTFOUND when it
// does not exist or belongs to another rep.
func (s *Customers) Get(ctx context.Context, actor Actor, id string) (Customer, error) {
	c, err := s.Store.GetCustomer(ctx, id)
	if ErrorCode(err) == EMOVED {
		return Customer{}, s.redirect(ctx, actor, id, err)
	}
	// Scope first: an erased customer is gone (410) only to those who
	// could see it; to another rep it never existed. Asking for one that
	// exists outside one's scope is a probe, and on record as one.
	if (err == nil || ErrorCode(err) == EGONE) && actor.OwnScopeOnly() && c.OwnerID != actor.ID {
		s.probe(ctx, actor, id)
		return Customer{}, Errorf(ENOTFOUND, "customer %s not found", id)
	}
	if err != nil {
		return Customer{}, err
	}
	return c, nil
}

// Update applies edit to the customer's writable fields and stores the
// standardized result. ifMatch, when not nil, must equal the stored version.
// Returns ENOTFOUND, EPRECONDITION, EINVALID, EFORBIDDEN or ECONFLICT; an
// edit that needs approval is refused with ECONFLICT, unfiled: Change
// files it.
func (s *Customers) Update(ctx context.Context, actor Actor, id string, ifMatch *int64, edit func(CustomerInput) (CustomerInput, error)) (_ Customer, err error) {
	defer s.countWrite(ctx, &err)
	return s.retryUnconditional(ifMatch, func() (Customer, error) {
		updated, _, err := s.update(ctx, actor, id, ifMatch, edit, false)
		return updated, err
	})
}

// Change is Update for a caller that can answer a pending approval: an
// edit that changes billing, when FourEyes requires it, is not applied but
// filed, whole, as a pending approval, which Change returns instead of the
// customer.
func (s *Customers) Change(ctx context.Context, actor Actor, id string, ifMatch *int64, edit func(CustomerInput) (CustomerInput, error)) (c Customer, ap *Approval, err error) {
	defer s.countWrite(ctx, &err)
	c, err = s.retryUnconditional(ifMatch, func() (Customer, error) {
		var err error
		c, ap, err = s.update(ctx, actor, id, ifMatch, edit, true)
		return c, err
	})
	return c, ap, err
}

// retryUnconditional retries a write that lost a race to a concurrent one
// when the client asked for no particular version: its change still applies
// to the newer record. With If-Match, losing the race is the client's 412.
func (s *Customers) retryUnconditional(ifMatch *int64, write func() (Customer, error)) (Customer, error) {
	for attempt := 1; ; attempt++ {
		c, err := write()
		if ifMatch != nil || attempt == 3 || ErrorCode(err) != EPRECONDITION {
			return c, err
		}
	}
}

// update applies edit, or, when it needs approval, files it if mayFile.
func (s *Customers) update(ctx context.Context, actor Actor, id string, ifMatch *int64, edit func(CustomerInput) (CustomerInput, error), mayFile bool) (Customer, *Approval, error) {
	prev, err := s.Get(ctx, actor, id)
	if err != nil {
		return Customer{}, nil, err
	}
	if ifMatch != nil && *ifMatch != prev.Version {
		return Customer{}, nil, Errorf(EPRECONDITION, "customer %s is at another version", id)
	}
	in, err := edit(prev.Input())
	if err != nil {
		return Customer{}, nil, err
	}
	if err := checkMasked(in); err != nil {
		return Customer{}, nil, err
	}
	std, err := s.Policy.Standardize(in)
	if err != nil {
		return Customer{}, nil, err
	}
	if std.OwnerID == "" {
		return Customer{}, nil, Invalid{{Field: "ownerId", Code: "required", Message: "cannot be removed"}}.Err()
	}
	if err := checkAllowed(actor, prev.Input(), std); err != nil {
		return Customer{}, nil, err
	}
	changed := changedFields(prev.Input(), std)
	if s.FourEyes.Requires(ApprovalBilling) && slices.Contains(changed, FieldBilling) {
		if !mayFile {
			return Customer{}, nil, Errorf(ECONFLICT, "a change of billing needs approval")
		}
		// The whole edit waits, standardized as it will be stored: the
		// approval applies it only to this very version, so it is the
		// edit the requester saw the effect of.
		payload, err := json.Marshal(std)
		if err != nil {
			return Customer{}, nil, err
		}
		ap, err := s.FileApproval(ctx, actor, ApprovalBilling, id, prev.Version, changed, payload)
		if err != nil {
			return Customer{}, nil, err
		}
		return Customer{}, &ap, nil
	}
	next := prev
	now := s.now()
	next.apply(std, now)
	next.Version = prev.Version + 1
	next.ReviewDueAt = s.Policy.ReviewDue(next)
	next.ConsentChanges = consentChanges(prev.Consent, next.Consent, false, now, consentSource(ctx), actor.ID)
	audit := NewAudit(ctx, actor, "customer.update", "customer", id, changed...)
	audit.Disclosed = shownInFull(actor, next)
	if err := s.Store.UpdateCustomer(ctx, prev, next, audit); err != nil {
		return Customer{}, nil, s.refusedDuplicate(ctx, actor, err, audit)
	}
	s.countShown(ctx, actor, audit.Disclosed)
	return next, nil, nil
}

// Verify records that the customer's data was checked with the customer,
// which restarts the review clock. ifMatch, when not nil, must equal the
// stored version.
func (s *Customers) Verify(ctx context.Context, actor Actor, id string, ifMatch *int64) (Customer, error) {
	return s.retryUnconditional(ifMatch, func() (Customer, error) { return s.verify(ctx, actor, id, ifMatch) })
}

func (s *Customers) verify(ctx context.Context, actor Actor, id string, ifMatch *int64) (Customer, error) {
	prev, err := s.Get(ctx, actor, id)
	if err != nil {
		return Customer{}, err
	}
	if ifMatch != nil && *ifMatch != prev.Version {
		return Customer{}, Errorf(EPRECONDITION, "customer %s is at another version", id)
	}
	next := prev
	next.VerifiedAt = s.now()
	// A verification with the customer is the one thing that brings a
	// lost customer back.
	next.Lost = nil
	next.Version++
	next.ReviewDueAt = s.Policy.ReviewDue(next)
	audit := NewAudit(ctx, actor, "customer.verify", "customer", id, "verifiedAt")
	audit.Disclosed = shownInFull(actor, next)
	if err := s.Store.UpdateCustomer(ctx, prev, next, audit); err != nil {
		return Customer{}, err
	}
	s.countShown(ctx, actor, audit.Disclosed)
	return next, nil
}

// Erase removes the customer's personal data for good, leaving a tombstone
// and the audit trail. Erasing an erased customer completes a failed
// erasure and succeeds.
// Returns ECONFLICT, unfiled, when the erasure needs approval:
// RequestErase files it.
func (s *Customers) Erase(ctx context.Context, actor Actor, id string) error {
	if s.FourEyes.Requires(ApprovalErase) {
		if _, err := s.Store.GetCustomer(ctx, id); err == nil {
			return Errorf(ECONFLICT, "an erasure needs approval")
		}
	}
	return s.Store.EraseCustomer(ctx, id, NewAudit(ctx, actor, "customer.erase", "customer", id, customerFields...))
}

// RequestErase erases the customer at once, or, when FourEyes requires
// approval for erasure, files a pending approval and returns it. Erasing
// an erased customer always goes ahead: it completes what a failed
// erasure left, and there is nothing left to approve.
func (s *Customers) RequestErase(ctx context.Context, actor Actor, id string) (*Approval, error) {
	if s.FourEyes.Requires(ApprovalErase) {
		c, err := s.Store.GetCustomer(ctx, id)
		switch {
		case err == nil:
			ap, err := s.FileApproval(ctx, actor, ApprovalErase, id, c.Version, customerFields, nil)
			if err != nil {
				return nil, err
			}
			return &ap, nil
		case ErrorCode(err) != EGONE:
			return nil, err
		}
	}
	return nil, s.Store.EraseCustomer(ctx, id, NewAudit(ctx, actor, "customer.erase", "customer", id, customerFields...))
}

// SensitiveRead records that the actor was shown c's sensitive fields in
// full (billing, full national ID), before they are. Returns nil when the
// actor sees none of them. A write that answers with the record says what
// it showed in its own audit entry instead (Audit.Disclosed).
func (s *Customers) SensitiveRead(ctx context.Context, actor Actor, c Customer, action string) error {
	fields := shownInFull(actor, c)
	if len(fields) == 0 && action != "customer.export" {
		return nil
	}
	// The count goes beside the audit entry, at the same time: a reader
	// waits for one round trip, not two. The entry is the record; the
	// count is best-effort.
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		s.countShown(ctx, actor, fields)
	}()
	err := s.Audit.AppendAudit(ctx, NewAudit(ctx, actor, action, "customer", c.ID, fields...))
	<-counted
	return err
}

// shownInFull names the sensitive fields of c that actor is shown in full:
// showing any of them is a sensitive read, on record and counted.
func shownInFull(actor Actor, c Customer) []string {
	var fields []string
	if c.Billing != nil && CanSeeFull(actor.Roles, FieldBilling) {
		fields = append(fields, FieldBilling)
	}
	if c.NationalID != "" && CanSeeFull(actor.Roles, FieldNationalID) {
		fields = append(fields, FieldNationalID)
	}
	return fields
}

// countShown counts a sensitive read for the access report when fields
// were shown.
func (s *Customers) countShown(ctx context.Context, actor Actor, fields []string) {
	if len(fields) > 0 {
		countAccess(ctx, s.Access, s.Dropped, actor, s.now(), AccessSensitive)
	}
}

// List returns one page of the customers the actor may see that match f. A
// sales rep's list is always limited to their own customers.
func (s *Customers) List(ctx context.Context, actor Actor, f CustomerFilter, p Page) ([]Customer, string, error) {
	if actor.OwnScopeOnly() {
		if f.OwnerID != "" && f.OwnerID != actor.ID {
			return []Customer{}, "", nil
		}
		f.OwnerID = actor.ID
	}
	if f.Stale {
		f.AsOf = s.now()
	}
	if f.Suspect && !actor.Has(RoleAdmin) && !actor.Has(RoleService) {
		return nil, "", Errorf(EFORBIDDEN, "only admins and service staff list suspect values")
	}
	// An exact-match lookup confirms a value: only for roles that may read
	// that field unmasked.
	for field, v := range map[string]string{FieldPhone: f.Phone, FieldEmail: f.Email} {
		if v != "" && !CanSeeFull(actor.Roles, field) {
			return nil, "", Errorf(EFORBIDDEN, "your role may not look customers up by %s", field)
		}
	}
	var v Invalid
	if f.Phone != "" {
		e164, err := s.Policy.ParsePhone(f.Phone, s.Policy.PhoneRegion)
		if err != nil {
			v.Add("phone", "invalid_phone", "is not a valid phone number")
		}
		f.Phone = e164
	}
	if f.Email != "" {
		f.Email = lowerTrim(f.Email)
		if !validEmail(f.Email) {
			v.Add("email", "invalid_email", "is not a valid email address")
		}
	}
	f.Query = SearchKey(f.Query)
	if utf8.RuneCountInString(f.Query) > MaxSearch {
		v.Add("q", "too_long", fmt.Sprintf("is at most %d characters", MaxSearch))
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	return s.Store.ListCustomers(ctx, f, p)
}

// AddInteraction logs an interaction against a customer the actor may see.
func (s *Customers) AddInteraction(ctx context.Context, actor Actor, customerID string, in InteractionInput) (Interaction, error) {
	if err := in.Validate(); err != nil {
		return Interaction{}, err
	}
	if _, err := s.Get(ctx, actor, customerID); err != nil {
		return Interaction{}, err
	}
	it := Interaction{
		ID: s.NewID("i"), CustomerID: customerID, Kind: in.Kind, At: in.At.UTC(),
		Summary: trimSpace(in.Summary), ActorID: actor.ID, CreatedAt: s.now(),
	}
	if in.FollowUpAt != nil {
		f := in.FollowUpAt.UTC()
		it.FollowUpAt = &f
	}
	if err := s.Store.AddInteraction(ctx, it, NewAudit(ctx, actor, "customer.interaction", "customer", customerID, "interactions")); err != nil {
		return Interaction{}, err
	}
	return it, nil
}

// Interactions lists a visible customer's interactions, newest first.
func (s *Customers) Interactions(ctx context.Context, actor Actor, customerID string, p Page) ([]Interaction, string, error) {
	if _, err := s.Get(ctx, actor, customerID); err != nil {
		return nil, "", err
	}
	return s.Store.ListInteractions(ctx, customerID, p)
}

// now is the service's clock, to the millisecond: finer instants only make
// timestamps harder to read.
func (s *Customers) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// apply copies the standardized writable fields onto c and stamps the update.
func (c *Customer) apply(in CustomerInput, now time.Time) {
	c.Name, c.Phone, c.Email, c.Address = in.Name, in.Phone, in.Email, in.Address
	c.Company, c.Segment, c.Tags, c.NationalID = in.Company, in.Segment, in.Tags, in.NationalID
	c.Billing, c.OwnerID, c.Language = in.Billing, in.OwnerID, in.Language
	if in.Consent != nil {
		c.Consent = *in.Consent
	}
	c.UpdatedAt = now
	c.Suspect = SuspectReasons(*c)
}

func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
