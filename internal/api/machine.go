package api

import (
	"context"
	"net/http"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// RateCounter counts requests against a limit per window, shared by every
// instance of a function (the portal's limiter store is one).
type RateCounter interface {
	Allow(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error)
}

// ClientLimit is each machine client's request budget. HTTP APIs have no
// usage plans, so the function counts, per client and minute, in the table.
type ClientLimit struct {
	Store RateCounter
	// PerMinute is each client's budget; zero or less means no limit.
	PerMinute int
}

// clientWindow is the rate limit's window.
const clientWindow = time.Minute

// allow counts one request of machine client a; when the budget is spent
// it returns ETHROTTLED and the seconds until the next window. A limiter
// that cannot count fails closed for the client: an integration retries,
// a flood would not stop.
func (l ClientLimit) allow(ctx context.Context, a crm.Actor, now time.Time) (int, error) {
	if l.Store == nil || l.PerMinute <= 0 {
		return 0, nil
	}
	ok, err := l.Store.Allow(ctx, "client#"+a.ID, l.PerMinute, clientWindow, now)
	if err != nil || ok {
		return 0, err
	}
	wait := int(now.Truncate(clientWindow).Add(clientWindow).Sub(now).Seconds()) + 1
	return wait, crm.Errorf(crm.ETHROTTLED, "this client made more than %d requests this minute", l.PerMinute)
}

// complaintReceipt is a complaint as the machine client that filed it
// sees it: where it stands and its targets, but neither the customer nor
// the assignee, so that no answer tells whether its contact matched a
// customer.
type complaintReceipt struct {
	ID             string    `json:"id"`
	ExternalRef    string    `json:"externalRef,omitempty"`
	Channel        string    `json:"channel"`
	Category       string    `json:"category"`
	Severity       string    `json:"severity"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	AcknowledgedAt time.Time `json:"acknowledgedAt,omitzero"`
	AckDueAt       time.Time `json:"ackDueAt"`
	SLADueAt       time.Time `json:"slaDueAt"`
	ResolvedAt     time.Time `json:"resolvedAt,omitzero"`
	ClosedAt       time.Time `json:"closedAt,omitzero"`
	Breached       bool      `json:"breached"`
}

func receipt(c crm.Complaint, now time.Time) complaintReceipt {
	return complaintReceipt{ID: c.ID, ExternalRef: c.ExternalRef, Channel: c.Channel, Category: c.Category, Severity: c.Severity,
		Status: c.Status, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, AcknowledgedAt: c.AcknowledgedAt, AckDueAt: c.AckDueAt,
		SLADueAt: c.SLADueAt, ResolvedAt: c.ResolvedAt, ClosedAt: c.ClosedAt, Breached: c.Breached(now)}
}

func handleComplaintLink(svc complaintLinker, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.LinkInput
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		c, err := svc.Link(r.Context(), actor(r.Context()), r.PathValue("id"), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeComplaint(w, now, http.StatusOK, c)
	})
}
