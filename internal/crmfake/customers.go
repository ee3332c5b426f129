package crmfake

import (
	"time"

	"context"
	"fmt"
	"slices"

	"github.com/clientele-crm/clientele/internal/crm"
)

type customerRec struct {
	c crm.Customer
	// claims lists the lookup fields whose uniqueness claim the customer
	// holds; an admin-allowed duplicate holds none for the shared value.
	claims []string
	erased bool
	// mark is the customer's due mark for the review reminder, "" for none.
	mark string
}

type interactionRec struct {
	it   crm.Interaction
	mark string
}

// lookupFields are the fields customers are deduplicated on.
var lookupFields = crm.LookupFields

func lookupValue(c crm.Customer, field string) string {
	switch field {
	case crm.FieldPhone:
		return c.Phone
	case crm.FieldEmail:
		return c.Email
	case crm.FieldNationalID:
		return c.NationalID
	}
	return ""
}

func claimKey(field, value string) string { return field + "\x00" + value }

// cloneCustomer copies c deeply, so nothing a caller holds aliases the
// store's state.
func cloneCustomer(c crm.Customer) crm.Customer {
	c.Tags = slices.Clone(c.Tags)
	if c.Address != nil {
		a := *c.Address
		c.Address = &a
	}
	if c.Billing != nil {
		b := *c.Billing
		c.Billing = &b
	}
	return c
}

func dueMark(kind, id string, at string) string { return at + "#" + kind + "#" + id }

func reviewMark(c crm.Customer) string { return dueMark(crm.DueReview, c.ID, sortTime(c.ReviewDueAt)) }

// duplicate returns the ECONFLICT for the lookup fields of c that another
// customer holds, or nil.
func (s *db) duplicate(c crm.Customer, fields []string) error {
	dup := &crm.Error{Code: crm.ECONFLICT, Message: "a customer with the same details already exists"}
	for _, f := range fields {
		v := lookupValue(c, f)
		if v == "" {
			continue
		}
		if holder := s.claims[claimKey(f, v)]; holder != "" && holder != c.ID {
			dup.Fields = append(dup.Fields, crm.FieldError{Field: f, Code: "duplicate", Message: "matches an existing customer"})
			if dup.DuplicateOf == "" {
				dup.DuplicateOf = holder
			}
		}
	}
	if len(dup.Fields) > 0 {
		return dup
	}
	return nil
}

// CreateCustomer implements crm.CustomerStore.
func (s *CustomerStore) CreateCustomer(_ context.Context, c crm.Customer, allowDuplicate bool, a crm.Audit) error {
	if err := s.hook("CreateCustomer"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[c.ID]; ok {
		return crm.Errorf(crm.EPRECONDITION, "customer %s already exists", c.ID)
	}
	if !allowDuplicate {
		if err := s.duplicate(c, lookupFields); err != nil {
			return err
		}
	}
	rec := &customerRec{c: cloneCustomer(c), claims: []string{}, mark: reviewMark(c)}
	for _, f := range lookupFields {
		v := lookupValue(c, f)
		if v == "" {
			continue
		}
		// An allowed duplicate takes a free claim but never a held one.
		if _, held := s.claims[claimKey(f, v)]; !held {
			s.claims[claimKey(f, v)] = c.ID
			rec.claims = append(rec.claims, f)
		}
	}
	s.customers[c.ID] = rec
	s.countAccepted(c.UpdatedAt)
	s.appendAudit(a)
	return nil
}

// countAccepted counts a stored customer write, as the table's stream does
// for the DynamoDB store; callers hold the lock.
func (s *db) countAccepted(at time.Time) {
	s.writes["accepted#"+at.UTC().Format("20060102")]++
}

// GetCustomer implements crm.CustomerStore.
func (s *CustomerStore) GetCustomer(_ context.Context, id string) (crm.Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.customer(id)
	if crm.ErrorCode(err) == crm.EGONE {
		// As the tombstone does: the id and the owner, nothing else.
		return crm.Customer{ID: id, OwnerID: s.customers[id].c.OwnerID}, err
	}
	if err != nil {
		return crm.Customer{}, err
	}
	return cloneCustomer(rec.c), nil
}

// customer returns the live record of id; callers hold the lock.
func (s *db) customer(id string) (*customerRec, error) {
	rec, ok := s.customers[id]
	switch {
	case !ok:
		return nil, crm.Errorf(crm.ENOTFOUND, "customer %s not found", id)
	case rec.erased:
		return nil, crm.Errorf(crm.EGONE, "customer %s was erased", id)
	}
	return rec, nil
}

// UpdateCustomer implements crm.CustomerStore.
func (s *CustomerStore) UpdateCustomer(_ context.Context, prev, next crm.Customer, a crm.Audit) error {
	if err := s.hook("UpdateCustomer"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.updateCustomer(prev, next); err != nil {
		return err
	}
	s.appendAudit(a)
	return nil
}

// updateCustomer checks and applies an update; callers hold the lock. A
// taken claim wins over a lost race in the error, as in the DynamoDB store.
func (s *db) updateCustomer(prev, next crm.Customer) error {
	if err := s.checkUpdate(prev, next); err != nil {
		return err
	}
	s.applyUpdate(prev, next)
	s.countAccepted(next.UpdatedAt)
	return nil
}

func (s *db) checkUpdate(prev, next crm.Customer) error {
	rec, err := s.customer(prev.ID)
	if err != nil {
		return err
	}
	var changed []string
	for _, f := range lookupFields {
		if lookupValue(prev, f) != lookupValue(next, f) {
			changed = append(changed, f)
		}
	}
	if err := s.duplicate(next, changed); err != nil {
		return err
	}
	if rec.c.Version != prev.Version {
		return crm.Errorf(crm.EPRECONDITION, "customer %s was changed by someone else", prev.ID)
	}
	return nil
}

// applyUpdate releases the claims prev held on values next no longer has
// and claims next's new values.
func (s *db) applyUpdate(prev, next crm.Customer) {
	rec := s.customers[prev.ID]
	claims := []string{}
	for _, f := range lookupFields {
		old, nv := lookupValue(prev, f), lookupValue(next, f)
		holds := slices.Contains(rec.claims, f)
		if old == nv {
			if holds {
				claims = append(claims, f)
			}
			continue
		}
		if old != "" && holds && s.claims[claimKey(f, old)] == prev.ID {
			delete(s.claims, claimKey(f, old))
		}
		if nv != "" {
			s.claims[claimKey(f, nv)] = next.ID
			claims = append(claims, f)
		}
	}
	rec.c, rec.claims, rec.mark = cloneCustomer(next), claims, reviewMark(next)
	if prev.OwnerID != next.OwnerID {
		s.reassigned(next)
	}
}

// reassigned does at once what the DynamoDB store's stream consumer does
// a moment after a change of owner (dynamo.Customers.Reassigned): the
// customer's complaints and open customer reminders follow it, and the
// links opened before are revoked. Callers hold the lock.
func (s *db) reassigned(c crm.Customer) {
	followed := map[string]string{} // complaint id → former assignee
	for _, r := range s.complaints {
		if r.c.CustomerID != c.ID || r.c.CustomerOwnerID == c.OwnerID {
			continue
		}
		if crm.Open(r.c.Status) && r.c.AssigneeID == r.c.CustomerOwnerID {
			followed[r.c.ID] = r.c.AssigneeID
			r.c.AssigneeID = c.OwnerID
			r.c.TimelineLen++
			r.timeline = append(r.timeline, crm.TimelineEntry{Seq: r.c.TimelineLen, At: s.now(), ActorID: crm.ReassignActor.ID,
				Action: crm.ActionReassigned, From: r.c.Status, To: r.c.Status, AssigneeID: c.OwnerID})
		}
		r.c.CustomerOwnerID = c.OwnerID
		r.c.Version++
	}
	for id, r := range s.reminders {
		former, ofComplaint := followed[r.SubjectID]
		if r.CustomerID == c.ID && r.Status == crm.ReminderOpen &&
			(r.SubjectType == "customer" || ofComplaint && r.AssigneeID == former) {
			r.AssigneeID = c.OwnerID
			s.reminders[id] = r
		}
	}
	s.revokeLinks(c.ID, s.now())
}

// ListCustomers implements crm.CustomerStore: newest first, or most
// overdue first for a stale list.
func (s *CustomerStore) ListCustomers(_ context.Context, f crm.CustomerFilter, p crm.Page) ([]crm.Customer, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []keyed[crm.Customer]
	for _, rec := range s.customers {
		if rec.erased || !f.Match(rec.c) {
			continue
		}
		key := sortTime(rec.c.CreatedAt) + "#" + rec.c.ID
		if f.Stale {
			key = sortTime(rec.c.ReviewDueAt) + "#" + rec.c.ID
		}
		items = append(items, keyed[crm.Customer]{key, cloneCustomer(rec.c)})
	}
	fp := fmt.Sprintf("customers|%s|%s|%s|%s|%s|%t", f.OwnerID, f.Segment, f.Tag, f.Phone, f.Email, f.Stale)
	return page(items, f.Stale, p, fp)
}

// AddInteraction implements crm.CustomerStore: the customer must exist and
// not be erased.
func (s *CustomerStore) AddInteraction(_ context.Context, in crm.Interaction, a crm.Audit) error {
	if err := s.hook("AddInteraction"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.customer(in.CustomerID); err != nil {
		return crm.Errorf(crm.ENOTFOUND, "customer %s not found", in.CustomerID)
	}
	if _, ok := s.interactions[in.ID]; ok {
		return fmt.Errorf("interaction %s already exists", in.ID)
	}
	rec := &interactionRec{it: in}
	if in.FollowUpAt != nil {
		f := *in.FollowUpAt
		rec.it.FollowUpAt = &f
		rec.mark = dueMark(crm.DueFollowUp, in.ID, sortTime(f))
	}
	s.interactions[in.ID] = rec
	s.appendAudit(a)
	return nil
}

// ListInteractions implements crm.CustomerStore: newest first.
func (s *CustomerStore) ListInteractions(_ context.Context, customerID string, p crm.Page) ([]crm.Interaction, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []keyed[crm.Interaction]
	for _, rec := range s.interactions {
		if rec.it.CustomerID == customerID {
			it := rec.it
			if it.FollowUpAt != nil {
				f := *it.FollowUpAt
				it.FollowUpAt = &f
			}
			items = append(items, keyed[crm.Interaction]{sortTime(it.At) + "#" + it.ID, it})
		}
	}
	return page(items, false, p, "interactions|"+customerID)
}

// EraseCustomer implements crm.CustomerStore: a tombstone replaces the
// profile, the claims are released, and the customer's personal content
// elsewhere is destroyed. Erasing again scrubs again.
func (s *CustomerStore) EraseCustomer(_ context.Context, id string, a crm.Audit) error {
	if err := s.hook("EraseCustomer"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.customers[id]
	if !ok {
		return crm.Errorf(crm.ENOTFOUND, "customer %s not found", id)
	}
	if !rec.erased {
		for _, f := range rec.claims {
			if v := lookupValue(rec.c, f); s.claims[claimKey(f, v)] == id {
				delete(s.claims, claimKey(f, v))
			}
		}
		// The tombstone proves the customer existed, and nothing else.
		rec.c = crm.Customer{ID: id, Version: rec.c.Version}
		rec.claims, rec.erased, rec.mark = nil, true, ""
		s.appendAudit(a)
	}
	for iid, it := range s.interactions {
		if it.it.CustomerID == id {
			delete(s.interactions, iid)
		}
	}
	for _, k := range s.complaints {
		if k.c.CustomerID == id {
			// The facts stay for the statistics; the customer's text goes.
			k.c.Subject, k.c.Description, k.c.Resolution = "", "", nil
			for i := range k.timeline {
				k.timeline[i].Note = ""
			}
		}
	}
	for key, r := range s.idem {
		if r.resp != nil && r.resp.Subject == id {
			delete(s.idem, key)
		}
	}
	for lid, l := range s.links {
		if l.l.CustomerID == id {
			delete(s.links, lid)
		}
	}
	return nil
}

// ClaimHolder returns the id of the customer holding the uniqueness claim
// on a normalized value of a lookup field, or "".
func (s *CustomerStore) ClaimHolder(field, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims[claimKey(field, value)]
}

// Claims returns the lookup fields whose claim the customer holds.
func (s *CustomerStore) Claims(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.customers[id]; ok {
		return slices.Clone(rec.claims)
	}
	return nil
}
