package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// ContractTypes are the event types the API contract names. An endpoint
// may subscribe to any of them; those not yet derived from the stream
// (events.Types lists the derived ones) are simply never sent yet.
var ContractTypes = []string{
	"customer.created", "customer.updated", "customer.verified", "customer.merged", "customer.unmerged",
	"customer.lost", "customer.erased", "complaint.created", "complaint.linked", "complaint.transitioned",
	"complaint.breached", "reminder.created", "import.finished", "approval.requested", "approval.decided",
	"survey.answered",
}

// MaxEndpoints bounds how many endpoints may be registered: each event
// is fanned out to every one of them.
const MaxEndpoints = 100

// DefaultGrace is how long a rotated-out secret still signs.
const DefaultGrace = 24 * time.Hour

// NotifyWebhookDisabled tells an endpoint's creator that deliveries to it
// stopped.
const NotifyWebhookDisabled = "webhook_disabled"

// Store is what the service keeps endpoints and deliveries in
// (dynamo.Webhooks).
type Store interface {
	CreateWebhook(ctx context.Context, w dynamo.Webhook, sec dynamo.WebhookSecrets) error
	ReplaceWebhook(ctx context.Context, prev int64, w dynamo.Webhook, sec dynamo.WebhookSecrets) error
	Webhook(ctx context.Context, id string, open bool) (dynamo.Webhook, dynamo.WebhookSecrets, error)
	ListWebhooks(ctx context.Context) ([]dynamo.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	AddDelivery(ctx context.Context, d dynamo.Delivery) (bool, error)
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]dynamo.Delivery, error)
	ClaimDelivery(ctx context.Context, d *dynamo.Delivery, leaseUntil time.Time) (bool, error)
	SaveDelivery(ctx context.Context, d dynamo.Delivery) error
	ListDeliveries(ctx context.Context, webhookID string, p crm.Page) ([]dynamo.Delivery, string, error)
}

var _ Store = (*dynamo.Webhooks)(nil)

// Service registers endpoints (the admin routes) and delivers to them.
type Service struct {
	Store    Store
	Guard    Guard
	Notifier crm.Notifier
	Log      *slog.Logger
	Now      func() time.Time
	NewID    func(prefix string) string
	// Grace is how long the secret before a rotation keeps signing.
	Grace time.Duration
}

// Endpoint is an endpoint as the API shows it; Secret only in the answer
// that created it or rotated its secret.
type Endpoint struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	Enabled        bool      `json:"enabled"`
	DisabledReason string    `json:"disabledReason,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	Secret         string    `json:"secret,omitempty"`
}

// DeliveryView is one delivery as the API shows it.
type DeliveryView struct {
	EventID   string    `json:"eventId"`
	Type      string    `json:"type"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError,omitempty"`
	At        time.Time `json:"at"`
}

func view(w dynamo.Webhook) Endpoint {
	return Endpoint{ID: w.ID, URL: w.URL, Events: w.Events, Enabled: w.Enabled, DisabledReason: w.Disabled, CreatedAt: w.CreatedAt}
}

// Create registers an endpoint for events and returns it with its new
// secret, which is shown this once.
func (s *Service) Create(ctx context.Context, a crm.Actor, url string, types []string) (Endpoint, error) {
	var inv crm.Invalid
	if err := s.Guard.CheckURL(ctx, url); err != nil {
		inv.Add("url", "invalid_url", refusal(err))
	}
	switch {
	case len(types) == 0:
		inv.Add("events", "required", "must name at least one event type")
	default:
		for _, t := range types {
			if !slices.Contains(ContractTypes, t) {
				inv.Add("events", "unknown_event_type", "names an event type that does not exist")
				break
			}
		}
	}
	if err := inv.Err(); err != nil {
		return Endpoint{}, err
	}
	all, err := s.Store.ListWebhooks(ctx)
	if err != nil {
		return Endpoint{}, err
	}
	if len(all) >= MaxEndpoints {
		return Endpoint{}, crm.Errorf(crm.ECONFLICT, "at most %d webhooks may be registered", MaxEndpoints)
	}
	evs := slices.Clone(types)
	slices.Sort(evs)
	w := dynamo.Webhook{ID: s.NewID("wh"), URL: url, Events: slices.Compact(evs), Enabled: true,
		CreatedAt: s.Now().UTC(), CreatedBy: a.ID, Version: 1}
	secret := NewSecret()
	if err := s.Store.CreateWebhook(ctx, w, dynamo.WebhookSecrets{Current: secret}); err != nil {
		return Endpoint{}, err
	}
	e := view(w)
	e.Secret = secret
	return e, nil
}

// refusal is the message of a URL the guard refused, without the URL.
func refusal(err error) string {
	if after, ok := strings.CutPrefix(err.Error(), ErrRefused.Error()+": "); ok {
		return after
	}
	return "is not an allowed webhook URL"
}

// List returns every endpoint, without secrets.
func (s *Service) List(ctx context.Context) ([]Endpoint, error) {
	ws, err := s.Store.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, len(ws))
	for i, w := range ws {
		out[i] = view(w)
	}
	return out, nil
}

// Delete removes an endpoint.
func (s *Service) Delete(ctx context.Context, id string) error { return s.Store.DeleteWebhook(ctx, id) }

// Rotate gives an endpoint a new secret; the old one keeps signing beside
// it for the grace period, so a receiver can switch without losing a
// delivery.
func (s *Service) Rotate(ctx context.Context, id string) (Endpoint, error) {
	w, sec, err := s.Store.Webhook(ctx, id, true)
	if err != nil {
		return Endpoint{}, err
	}
	secret := NewSecret()
	next := dynamo.WebhookSecrets{Current: secret, Previous: sec.Current, PreviousTill: s.Now().UTC().Add(s.grace())}
	prev := w.Version
	w.Version++
	if err := s.Store.ReplaceWebhook(ctx, prev, w, next); err != nil {
		return Endpoint{}, err
	}
	e := view(w)
	e.Secret = secret
	return e, nil
}

func (s *Service) grace() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return DefaultGrace
}

// Enable re-enables an endpoint that was disabled; deliveries still due
// go out again.
func (s *Service) Enable(ctx context.Context, id string) (Endpoint, error) {
	w, sec, err := s.Store.Webhook(ctx, id, true)
	if err != nil {
		return Endpoint{}, err
	}
	if w.Enabled {
		return view(w), nil
	}
	prev := w.Version
	w.Enabled, w.Disabled, w.Version = true, "", w.Version+1
	if err := s.Store.ReplaceWebhook(ctx, prev, w, sec); err != nil {
		return Endpoint{}, err
	}
	return view(w), nil
}

// Deliveries returns one page of an endpoint's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, id string, p crm.Page) ([]DeliveryView, string, error) {
	if _, _, err := s.Store.Webhook(ctx, id, false); err != nil {
		return nil, "", err
	}
	ds, next, err := s.Store.ListDeliveries(ctx, id, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]DeliveryView, len(ds))
	for i, d := range ds {
		out[i] = DeliveryView{EventID: d.EventID, Type: d.EventType, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError, At: d.At}
	}
	return out, next, nil
}

// disable turns an endpoint off after it asked for no more (410) or kept
// failing for the whole retry window, and tells its creator.
func (s *Service) disable(ctx context.Context, id, reason string) error {
	w, sec, err := s.Store.Webhook(ctx, id, true)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if !w.Enabled {
		return nil
	}
	prev := w.Version
	w.Enabled, w.Disabled, w.Version = false, reason, w.Version+1
	if err := s.Store.ReplaceWebhook(ctx, prev, w, sec); err != nil {
		return err
	}
	s.Log.LogAttrs(ctx, slog.LevelWarn, "webhook disabled", slog.String("webhookId", id), slog.String("reason", reason))
	if s.Notifier == nil {
		return nil
	}
	n := crm.Notification{ID: fmt.Sprintf("n_%s_%s_%d", id, NotifyWebhookDisabled, w.Version), Kind: NotifyWebhookDisabled,
		RecipientType: crm.RecipientStaff, RecipientID: w.CreatedBy, SubjectType: "webhook", SubjectID: id, At: s.Now().UTC()}
	if err := s.Notifier.Notify(ctx, n); err != nil {
		// The endpoint is disabled either way; the notice is best effort.
		s.Log.LogAttrs(ctx, slog.LevelWarn, "webhook disabled notice not sent", slog.String("webhookId", id), slog.String("error", err.Error()))
	}
	return nil
}

var errNoEndpoint = errors.New("endpoint deleted")
