package crm

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Export is everything held about one customer, decrypted: what a data
// portability request is owed. A customer with more than one response can
// carry is exported in pages; NextCursor continues it.
type Export struct {
	ExportedAt   time.Time     `json:"exportedAt"`
	Customer     Customer      `json:"customer"`
	Interactions []Interaction `json:"interactions"`
	Complaints   []Complaint   `json:"complaints"`
	// Consents is the consent history, newest first, on the first page.
	Consents   []ConsentRecord `json:"consents"`
	NextCursor string          `json:"nextCursor,omitempty"`
}

// ExportBudget bounds the interactions and complaints one export page
// carries, counted as the bytes they take inside a Lambda response (JSON
// text escaped once more as the response's body string), so that a page
// stays under Lambda's 6 MB response limit with room for the profile.
// A single complaint always fits: MaxTimeline bounds its timeline.
const ExportBudget = 5 << 20

// Pages are read a few interactions, and one complaint with its timeline,
// at a time, so that a page can end before the store page that would
// overflow it.
const (
	exportInteractionPage = 25
	exportComplaintPage   = 1
)

// Export gathers everything held about a customer: the profile, every
// interaction, every complaint with its timeline, as many as fit in
// ExportBudget; cursor, when not empty, is the NextCursor of the page
// before. Each page is recorded in the audit trail before any of it is
// returned.
func (s *Customers) Export(ctx context.Context, actor Actor, id, cursor string) (Export, error) {
	c, err := s.Store.GetCustomer(ctx, id)
	if err != nil {
		return Export{}, err
	}
	out := Export{ExportedAt: s.now(), Customer: c, Interactions: []Interaction{}, Complaints: []Complaint{}, Consents: []ConsentRecord{}}
	// The cursor is the phase ("i" interactions, "c" complaints) and the
	// store's own sealed cursor, which refuses any list but its own.
	phase, storeCursor, ok := strings.Cut(cursor, ".")
	switch {
	case cursor == "":
		phase = "i"
	case !ok || (phase != "i" && phase != "c"):
		return Export{}, Invalid{{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this list issued"}}.Err()
	}
	if cursor == "" && s.ConsentLog != nil {
		// A consent history is a few small records per change of mind:
		// read whole, on the first page.
		for p := (Page{Limit: 200}); ; {
			rs, next, err := s.ConsentLog.ListConsents(ctx, id, p)
			if err != nil {
				return Export{}, err
			}
			out.Consents = append(out.Consents, rs...)
			if next == "" {
				break
			}
			p.Cursor = next
		}
	}
	used := 0
	fits := func(items any) bool {
		body, _ := json.Marshal(items)
		escaped, _ := json.Marshal(string(body))
		if used > 0 && used+len(escaped) > ExportBudget {
			return false
		}
		used += len(escaped)
		return true
	}
	if phase == "i" {
		for p := (Page{Limit: exportInteractionPage, Cursor: storeCursor}); ; {
			its, next, err := s.Store.ListInteractions(ctx, id, p)
			if err != nil {
				return Export{}, err
			}
			if !fits(its) {
				out.NextCursor = "i." + p.Cursor
				break
			}
			out.Interactions = append(out.Interactions, its...)
			if next == "" {
				break
			}
			p.Cursor = next
		}
		phase, storeCursor = "c", ""
	}
	for p := (Page{Limit: exportComplaintPage, Cursor: storeCursor}); out.NextCursor == ""; {
		cs, next, err := s.Complaints.ListComplaints(ctx, ComplaintFilter{CustomerID: id}, p)
		if err != nil {
			return Export{}, err
		}
		for i := range cs {
			if cs[i].Timeline, err = s.Complaints.ComplaintTimeline(ctx, cs[i].ID); err != nil {
				return Export{}, err
			}
		}
		if !fits(cs) {
			out.NextCursor = "c." + p.Cursor
			break
		}
		out.Complaints = append(out.Complaints, cs...)
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
