package crm

import (
	"context"
	"slices"
	"strings"
)

// The OAuth scopes machine clients are granted; they are the resource
// server "clientele"'s scopes, as the access token's scope claim names them.
const (
	ScopeCustomersRead   = "clientele/customers.read"
	ScopeBillingRead     = "clientele/billing.read"
	ScopeComplaintsWrite = "clientele/complaints.write"
	ScopeComplaintsRead  = "clientele/complaints.read"
)

// Scopes lists every scope a machine client may hold.
var Scopes = []string{ScopeCustomersRead, ScopeBillingRead, ScopeComplaintsWrite, ScopeComplaintsRead}

// ClientActorPrefix starts the actor id of every machine client, so that
// audit entries, timelines and the access report tell integrations from
// staff.
const ClientActorPrefix = "client:"

// ClientActor returns the actor of a machine client holding scopes. The
// roles it gets only decide how it sees a customer's fields: as service
// with customers.read, as finance (billing included) with billing.read.
func ClientActor(clientID string, scopes []string) Actor {
	a := Actor{ID: ClientActorPrefix + clientID, Client: true}
	for _, s := range Scopes {
		if slices.Contains(scopes, s) {
			a.Scopes = append(a.Scopes, s)
		}
	}
	if a.HasScope(ScopeCustomersRead) {
		a.Roles = append(a.Roles, RoleService)
	}
	if a.HasScope(ScopeBillingRead) {
		a.Roles = append(a.Roles, RoleFinance)
	}
	return a
}

// HasScope reports whether the actor is a machine client holding scope.
func (a Actor) HasScope(scope string) bool { return a.Client && slices.Contains(a.Scopes, scope) }

// ContactRef names a complaint's sender by a contact instead of a
// customer id.
type ContactRef struct {
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// DefaultTriageAssignee handles unlinked complaints when complaints go to
// the customer's owner and there is no owner yet.
const DefaultTriageAssignee = "triage"

// maxExternalRef bounds a client's reference.
const maxExternalRef = 200

// UnmatchedCustomer is the customer id an unlinked intake reads and its
// store conditions on: a well-formed id no customer has, so that an unknown
// contact costs the same reads and writes as a known one.
const UnmatchedCustomer = "c_unmatched"

// intake validates what only machine clients may send and standardizes
// the contact; it returns the contact to match, nil when the input names a
// customer by id.
func (s *Complaints) intake(actor Actor, in *ComplaintInput) (*ContactRef, Invalid) {
	var v Invalid
	in.ExternalRef = strings.TrimSpace(in.ExternalRef)
	if !actor.Client {
		// Staff keep the customerId contract.
		if in.Customer != nil {
			v.Add("customer", "not_allowed", "only integrations name the customer by a contact; send customerId")
		}
		if in.ExternalRef != "" {
			v.Add("externalRef", "not_allowed", "only integrations send an external reference")
		}
		return nil, v
	}
	checkText(&v, "externalRef", in.ExternalRef, false, maxExternalRef)
	if in.Customer == nil {
		return nil, v
	}
	if strings.TrimSpace(in.CustomerID) != "" {
		v.Add("customer", "not_allowed", "send customerId or customer, not both")
		return nil, v
	}
	c := ContactRef{Phone: trimSpace(in.Customer.Phone), Email: lowerTrim(in.Customer.Email)}
	switch {
	case c.Phone == "" && c.Email == "":
		v.Add("customer", "contact_required", "a phone or an email is required")
	case c.Phone != "" && c.Email != "":
		v.Add("customer", "one_contact", "send a phone or an email, not both")
	case c.Phone != "":
		e164, err := s.Policy.ParsePhone(c.Phone, s.Policy.PhoneRegion)
		if err != nil {
			v.Add("customer.phone", "invalid_phone", "is not a valid phone number")
		}
		c.Phone = e164
	case !validEmail(c.Email):
		v.Add("customer.email", "invalid_email", "is not a valid email address")
	}
	return &c, v
}

// match returns the customer a contact names, through the blind index, or
// ENOTFOUND when none or more than one customer holds it: an ambiguous
// contact is for an agent to settle in triage. Where the lookup found no
// one to open, it reads UnmatchedCustomer instead, so that both answers
// cost about one round trip more than the lookup.
func (s *Complaints) match(ctx context.Context, c ContactRef) (Customer, error) {
	f := CustomerFilter{Phone: c.Phone, Email: c.Email}
	cs, _, err := s.Customers.ListCustomers(ctx, f, Page{Limit: 2})
	if err != nil {
		return Customer{}, err
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	if _, err := s.Customers.GetCustomer(ctx, UnmatchedCustomer); ErrorCode(err) != ENOTFOUND {
		if err == nil {
			err = Errorf(EINTERNAL, "the placeholder customer exists")
		}
		return Customer{}, err
	}
	return Customer{}, Errorf(ENOTFOUND, "no customer matches")
}

// triageAssignee is who handles a complaint nobody owns yet.
func (s *Complaints) triageAssignee(ctx context.Context) (string, error) {
	if s.Assignment.Mode == AssignRoundRobin && len(s.Assignment.Agents) > 0 {
		return s.assign(ctx, Customer{})
	}
	if s.Assignment.Triage != "" {
		return s.Assignment.Triage, nil
	}
	return DefaultTriageAssignee, nil
}

// LinkInput names the customer an unlinked complaint is about.
type LinkInput struct {
	CustomerID string `json:"customerId"`
}

// Link attaches an unlinked complaint to a customer: it then follows that
// customer's scope, its sealed contact is dropped, and, when complaints go
// to the customer's owner, the owner takes it over from triage. Returns
// ECONFLICT if it is already linked, ENOTFOUND naming customerId for an
// unknown customer.
func (s *Complaints) Link(ctx context.Context, actor Actor, id string, in LinkInput) (Complaint, error) {
	if strings.TrimSpace(in.CustomerID) == "" {
		return Complaint{}, Invalid{{Field: "customerId", Code: "required", Message: "is required"}}.Err()
	}
	prev, err := s.visible(ctx, actor, id)
	if err != nil {
		return Complaint{}, err
	}
	if prev.CustomerID != "" {
		return Complaint{}, Errorf(ECONFLICT, "complaint %s is already linked to a customer", id)
	}
	cust, err := s.Customers.GetCustomer(ctx, in.CustomerID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND || ErrorCode(err) == EGONE {
			return Complaint{}, &Error{Code: ENOTFOUND, Message: "the customer does not exist",
				Fields: []FieldError{{Field: "customerId", Code: "not_found", Message: "no such customer"}}}
		}
		return Complaint{}, err
	}
	if prev.TimelineLen >= MaxTimeline {
		return Complaint{}, errTimelineFull()
	}
	now := s.now()
	next := prev
	next.CustomerID, next.CustomerOwnerID, next.Contact = cust.ID, cust.OwnerID, nil
	next.UpdatedAt, next.Version, next.TimelineLen = now, prev.Version+1, prev.TimelineLen+1
	entry := TimelineEntry{Seq: next.TimelineLen, At: now, ActorID: actor.ID, Action: ActionLinked}
	fields := []string{"customerId", "contact", "timeline"}
	var notes []Notification
	if s.Assignment.Mode != AssignRoundRobin && Open(prev.Status) && prev.AssigneeID != cust.OwnerID {
		next.AssigneeID, entry.AssigneeID = cust.OwnerID, cust.OwnerID
		fields = append(fields, "assigneeId")
		notes = append(notes, s.notification(next, NotifyComplaintAssigned, RecipientStaff, cust.OwnerID, now))
	}
	if err := s.Store.UpdateComplaint(ctx, prev, next, entry, notes, NewAudit(ctx, actor, "complaint.link", "complaint", id, fields...)); err != nil {
		return Complaint{}, err
	}
	s.deliver(ctx, notes)
	return next, nil
}
