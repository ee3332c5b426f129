package crmfake

import (
	"context"
	"fmt"
	"slices"

	"github.com/clientele-crm/clientele/internal/crm"
)

type complaintRec struct {
	c        crm.Complaint
	timeline []crm.TimelineEntry
	// mark is the next SLA threshold the reminder run has yet to act on.
	mark string
}

func cloneComplaint(c crm.Complaint) crm.Complaint {
	if c.Resolution != nil {
		r := *c.Resolution
		c.Resolution = &r
	}
	c.Timeline = slices.Clone(c.Timeline)
	return c
}

// slaMark is the due mark an open complaint carries, as the DynamoDB store
// derives it: the warning until it is sent, then the breach until that is
// flagged.
func slaMark(c crm.Complaint) string {
	switch {
	case !crm.Open(c.Status) || !c.SLABreachedAt.IsZero() || c.SLADueAt.IsZero():
		return ""
	case c.SLAWarnedAt.IsZero() && !c.SLAWarnAt.IsZero():
		return dueMark(crm.DueSLA, c.ID, sortTime(c.SLAWarnAt))
	default:
		return dueMark(crm.DueSLA, c.ID, sortTime(c.SLADueAt))
	}
}

// CreateComplaint implements crm.ComplaintStore: the customer must exist
// and not be erased.
func (s *ComplaintStore) CreateComplaint(_ context.Context, c crm.Complaint, timeline []crm.TimelineEntry, notes []crm.Notification, a crm.Audit) error {
	if err := s.hook("CreateComplaint"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.customer(c.CustomerID); err != nil {
		return crm.Errorf(crm.ENOTFOUND, "customer %s not found", c.CustomerID)
	}
	if _, ok := s.complaints[c.ID]; ok {
		return fmt.Errorf("complaint %s already exists", c.ID)
	}
	c = cloneComplaint(c)
	c.Timeline = nil
	s.complaints[c.ID] = &complaintRec{c: c, timeline: slices.Clone(timeline), mark: slaMark(c)}
	s.recordPending(notes)
	s.appendAudit(a)
	return nil
}

// GetComplaint implements crm.ComplaintStore.
func (s *ComplaintStore) GetComplaint(_ context.Context, id string) (crm.Complaint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.complaints[id]
	if !ok {
		return crm.Complaint{}, crm.Errorf(crm.ENOTFOUND, "complaint %s not found", id)
	}
	return cloneComplaint(rec.c), nil
}

// ComplaintTimeline implements crm.ComplaintStore.
func (s *ComplaintStore) ComplaintTimeline(_ context.Context, id string) ([]crm.TimelineEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.complaints[id]
	if !ok {
		return nil, nil
	}
	return slices.Clone(rec.timeline), nil
}

// UpdateComplaint implements crm.ComplaintStore.
func (s *ComplaintStore) UpdateComplaint(_ context.Context, prev, next crm.Complaint, entry crm.TimelineEntry, notes []crm.Notification, a crm.Audit) error {
	if err := s.hook("UpdateComplaint"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.complaints[prev.ID]
	if !ok || rec.c.Version != prev.Version {
		return crm.Errorf(crm.EPRECONDITION, "complaint %s was changed by someone else", prev.ID)
	}
	s.putComplaint(rec, next, entry)
	s.recordPending(notes)
	s.appendAudit(a)
	return nil
}

func (s *db) putComplaint(rec *complaintRec, next crm.Complaint, entry crm.TimelineEntry) {
	next = cloneComplaint(next)
	next.Timeline = nil
	rec.c, rec.mark = next, slaMark(next)
	rec.timeline = append(rec.timeline, entry)
}

// ListComplaints implements crm.ComplaintStore: newest first, or oldest
// due first for the breach list.
func (s *ComplaintStore) ListComplaints(_ context.Context, f crm.ComplaintFilter, p crm.Page) ([]crm.Complaint, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []keyed[crm.Complaint]
	for _, rec := range s.complaints {
		if !f.Match(rec.c) {
			continue
		}
		key := sortTime(rec.c.CreatedAt) + "#" + rec.c.ID
		if f.Breached {
			key = sortTime(rec.c.SLADueAt) + "#" + rec.c.ID
		}
		items = append(items, keyed[crm.Complaint]{key, cloneComplaint(rec.c)})
	}
	fp := fmt.Sprintf("complaints|%s|%s|%s|%s|%t|%s", f.Status, f.AssigneeID, f.CustomerID, f.Severity, f.Breached, f.OwnerID)
	return page(items, f.Breached, p, fp)
}

// NextInRotation implements crm.ComplaintStore.
func (s *ComplaintStore) NextInRotation(_ context.Context, name string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters[name]++
	return s.counters[name], nil
}
