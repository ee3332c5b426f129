package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/dynamo"
	domain "github.com/clientele-crm/clientele/internal/events"
	"github.com/clientele-crm/clientele/internal/webhooks"
)

// WebhookConfig says where the domain events go.
type WebhookConfig struct {
	// Loopback admits http://127.0.0.1:* and http://localhost:* receivers.
	// Only the local runtime (and tests) set it; it is no setting.
	Loopback bool
	// EventBus (EVENT_BUS_NAME) is the stack's EventBridge bus; every
	// event is put on it. Empty locally.
	EventBus string
	// QueueURL (WEBHOOK_QUEUE_URL) is the SQS queue the webhooks function
	// reads events from. Empty locally, where the stream consumer fans the
	// events out to the endpoints itself.
	QueueURL string
	// Timeout bounds one delivery attempt (10 s when zero).
	Timeout time.Duration
}

// Publisher takes the events of one stream record. It must be idempotent:
// the record, and with it the events, may come again.
type Publisher func(ctx context.Context, evs []domain.Event) error

// eventView derives the domain events of each change and publishes them.
// A record whose events cannot be published is reported failed, so the
// stream gives it again: nothing is lost, and the events' ids are stable,
// so what was published before is recognized downstream.
type eventView struct{ publish Publisher }

func (eventView) Name() string { return "events" }

// Apply publishes the events of one change.
func (v eventView) Apply(ctx context.Context, r consumer.Record) error {
	evs := domain.Derive(domain.Change{Old: r.Old, New: r.New})
	if len(evs) == 0 {
		return nil
	}
	return v.publish(ctx, evs)
}

// buildWebhooks makes the webhook service and the events' publisher for
// the functions that need them: the webhooks function (routes and
// deliveries) and the stream consumer (reports).
func buildWebhooks(cfg Config, fn Function, e Edges, table *dynamo.Table, svc *Services) {
	if !fn.serves(api.FnWebhooks) && !fn.serves(api.FnReports) {
		return
	}
	ws := &webhooks.Service{Store: table.Webhooks(), Guard: webhooks.Guard{AllowLoopback: cfg.Webhooks.Loopback},
		Notifier: e.Notifier, Log: e.Logger, Now: time.Now, NewID: NewID}
	svc.Webhooks = ws
	if fn.serves(api.FnWebhooks) {
		svc.API.Webhooks = ws
	}
	svc.Events = ws.Fanout
}

// Worker returns the delivery loop over svc's webhooks.
func Worker(svc *Services, timeout time.Duration) *webhooks.Worker {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &webhooks.Worker{Service: svc.Webhooks, Sender: webhooks.NewSender(svc.Webhooks.Guard, timeout),
		Timeout: timeout, Batch: 100, Parallel: 8}
}

// WebhooksHandler serves the webhooks function's three kinds of event: API
// Gateway requests for the webhook routes, SQS batches of events (fanned
// out to the endpoints, then attempted at once) and the schedule's tick,
// which attempts what fell due since (the retries).
func WebhooksHandler(svc *Services, h *api.Handler, timeout time.Duration) func(ctx context.Context, raw json.RawMessage) (any, error) {
	w := Worker(svc, timeout)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			DetailType string `json:"detail-type"`
			Records    []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, err
		}
		switch {
		case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			var resp events.SQSEventResponse
			for _, m := range ev.Records {
				var e domain.Event
				err := json.Unmarshal([]byte(m.Body), &e)
				if err == nil {
					err = svc.Webhooks.Fanout(ctx, []domain.Event{e})
				}
				if err != nil {
					svc.API.Logger.LogAttrs(ctx, slog.LevelError, "event not fanned out", slog.String("messageId", m.MessageId), slog.String("error", err.Error()))
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				}
			}
			_, err := w.RunOnce(ctx)
			if err != nil {
				svc.API.Logger.LogAttrs(ctx, slog.LevelWarn, "webhook deliveries", slog.String("error", err.Error()))
			}
			return resp, nil
		case probe.DetailType == "Scheduled Event":
			n, err := w.RunOnce(ctx)
			return map[string]int{"attempted": n}, err
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return h.Invoke(ctx, ev)
	}
}

// publishEvents publishes through Events, when there is a publisher.
func (s *Services) publishEvents(ctx context.Context, evs []domain.Event) error {
	if s.Events == nil {
		return nil
	}
	return s.Events(ctx, evs)
}
