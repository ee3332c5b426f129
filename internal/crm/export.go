package crm

import (
	"context"
	"time"
)

// Export is everything held about one customer, decrypted: what a data
// portability request is owed.
type Export struct {
	ExportedAt   time.Time     `json:"exportedAt"`
	Customer     Customer      `json:"customer"`
	Interactions []Interaction `json:"interactions"`
	Complaints   []Complaint   `json:"complaints"`
}

// Export gathers everything held about a customer: the profile, every
// interaction, every complaint with its timeline. The export is recorded in
// the audit trail before any of it is returned.
func (s *Customers) Export(ctx context.Context, actor Actor, id string) (Export, error) {
	c, err := s.Store.GetCustomer(ctx, id)
	if err != nil {
		return Export{}, err
	}
	out := Export{ExportedAt: s.now(), Customer: c, Interactions: []Interaction{}, Complaints: []Complaint{}}
	for p := (Page{Limit: 200}); ; {
		its, next, err := s.Store.ListInteractions(ctx, id, p)
		if err != nil {
			return Export{}, err
		}
		out.Interactions = append(out.Interactions, its...)
		if next == "" {
			break
		}
		p.Cursor = next
	}
	for p := (Page{Limit: 200}); ; {
		cs, next, err := s.Complaints.ListComplaints(ctx, ComplaintFilter{CustomerID: id}, p)
		if err != nil {
			return Export{}, err
		}
		for _, k := range cs {
			if k.Timeline, err = s.Complaints.ComplaintTimeline(ctx, k.ID); err != nil {
				return Export{}, err
			}
			out.Complaints = append(out.Complaints, k)
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	if err := s.SensitiveRead(ctx, actor, c, "customer.export"); err != nil {
		return Export{}, err
	}
	return out, nil
}
