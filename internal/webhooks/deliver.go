package webhooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/events"
	"github.com/clientele-crm/clientele/internal/webhookverify"
)

// Fanout makes one delivery of each event for each endpoint subscribed to
// its type, due at once. Each delivery is written once, so a redelivered
// event (a stream batch or queue message retried) adds nothing.
func (s *Service) Fanout(ctx context.Context, evs []events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	ws, err := s.Store.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	for _, ev := range evs {
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		for _, w := range ws {
			if !slices.Contains(w.Events, ev.Type) {
				continue
			}
			d := dynamo.Delivery{WebhookID: w.ID, EventID: ev.ID, EventType: ev.Type, EntityID: ev.Data.EntityID, EventAt: ev.At,
				Body: string(body), Status: dynamo.DeliveryPending, At: now, NextAt: now}
			if _, err := s.Store.AddDelivery(ctx, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// Worker attempts due deliveries.
type Worker struct {
	Service *Service
	Sender  *Sender
	// Timeout bounds one attempt; the claim on a delivery lasts a little
	// longer, so it is not taken twice while in flight.
	Timeout time.Duration
	// Batch is how many due deliveries one pass takes.
	Batch int
	// Parallel is how many endpoints are served at once; one endpoint's
	// deliveries go one after another, in the order they fell due.
	Parallel int
}

// RunOnce makes one pass over the due deliveries and returns how many it
// attempted. Endpoints are served side by side, so a slow or failing one
// does not hold up the others.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	s := w.Service
	due, err := s.Store.DueDeliveries(ctx, s.Now(), max(w.Batch, 1))
	if err != nil || len(due) == 0 {
		return 0, err
	}
	byEndpoint := map[string][]dynamo.Delivery{}
	var order []string
	for _, d := range due {
		if _, ok := byEndpoint[d.WebhookID]; !ok {
			order = append(order, d.WebhookID)
		}
		byEndpoint[d.WebhookID] = append(byEndpoint[d.WebhookID], d)
	}
	var (
		mu       sync.Mutex
		n        int
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, max(w.Parallel, 1))
	)
	for _, id := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k, err := w.endpoint(ctx, id, byEndpoint[id])
			mu.Lock()
			defer mu.Unlock()
			n += k
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	return n, firstErr
}

// endpoint attempts ds, all due to one endpoint, in order. Once one
// entity's delivery fails, that entity's later ones wait for the next
// pass, so that a receiver sees each entity's events in order.
func (w *Worker) endpoint(ctx context.Context, id string, ds []dynamo.Delivery) (int, error) {
	s := w.Service
	wh, sec, err := s.Store.Webhook(ctx, id, true)
	gone := crm.ErrorCode(err) == crm.ENOTFOUND
	if err != nil && !gone {
		return 0, err
	}
	keys, err := signingKeys(sec, s.Now())
	if err != nil && !gone {
		return 0, err
	}
	held := map[string]bool{}
	n := 0
	for _, d := range ds {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if held[d.EntityID] {
			continue
		}
		ok, err := s.Store.ClaimDelivery(ctx, &d, s.Now().Add(w.timeout()+15*time.Second))
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		now := s.Now().UTC()
		switch {
		case gone:
			d.Status, d.LastError, d.NextAt = dynamo.DeliveryDead, errNoEndpoint.Error(), time.Time{}
		case !wh.Enabled:
			// Kept due, unattempted, while the endpoint is off: enabling
			// it sends them, until the retry window runs out.
			d.NextAt = now.Add(time.Minute)
			if now.Sub(d.EventAt) > Window {
				d.Status, d.LastError, d.NextAt = dynamo.DeliveryDead, "endpoint disabled", time.Time{}
			}
		default:
			n++
			sctx, cancel := context.WithTimeout(ctx, w.timeout())
			res := w.Sender.Send(sctx, wh.URL, d.EventID, []byte(d.Body), keys)
			cancel()
			if ctx.Err() != nil {
				// Stopped mid-attempt: the claim runs out and the
				// delivery is attempted again (at least once).
				return n, ctx.Err()
			}
			d.Attempts++
			d.At = now
			switch res.Outcome {
			case Delivered:
				d.Status, d.LastError, d.NextAt = dynamo.DeliveryDelivered, "", time.Time{}
			case Gone:
				d.Status, d.LastError, d.NextAt = dynamo.DeliveryDead, res.Error, time.Time{}
				wh.Enabled = false
				if err := s.disable(ctx, id, "the receiver answered 410 Gone"); err != nil {
					return n, err
				}
			default:
				held[d.EntityID] = true
				d.Status, d.LastError, d.NextAt = dynamo.DeliveryFailed, res.Error, now.Add(Backoff(d.Attempts))
				if d.NextAt.Sub(d.EventAt) > Window {
					d.Status, d.NextAt = dynamo.DeliveryDead, time.Time{}
					wh.Enabled = false
					if err := s.disable(ctx, id, "deliveries kept failing for 24 hours"); err != nil {
						return n, err
					}
				}
			}
		}
		if err := s.Store.SaveDelivery(ctx, d); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (w *Worker) timeout() time.Duration {
	if w.Timeout > 0 {
		return w.Timeout
	}
	return 10 * time.Second
}

// signingKeys are the keys a delivery is signed with as of now: the
// current secret's, and the previous one's while its grace lasts.
func signingKeys(sec dynamo.WebhookSecrets, now time.Time) ([][]byte, error) {
	k, err := webhookverify.Key(sec.Current)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{k}
	if sec.Previous != "" && now.Before(sec.PreviousTill) {
		if p, err := webhookverify.Key(sec.Previous); err == nil {
			keys = append(keys, p)
		}
	}
	return keys, nil
}

// Run attempts due deliveries until ctx ends, looking again every poll
// when there was nothing to do.
func (w *Worker) Run(ctx context.Context, poll time.Duration) {
	for ctx.Err() == nil {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Service.Log.LogAttrs(ctx, slog.LevelWarn, "webhook deliveries", slog.String("error", err.Error()))
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
}
