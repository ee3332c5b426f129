// Package consumer is the main table's one stream reader. Lambda's event
// source mapping on AWS, and the local stream poller in `make run`, hand it
// batches of change records; it passes each record, in order, to every
// registered handler, and reports the first record that any handler could
// not apply (ReportBatchItemFailures), so that the batch is retried from
// there. Handlers are therefore idempotent: a record may come again, after
// records it was already applied with.
//
// AWS advises at most two Lambda readers per stream shard. Every derived
// view of the table (report aggregates today; indexes, events and more
// later) is a handler here rather than a reader of its own.
package consumer

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Record is one change of an item, with its images as DynamoDB attribute
// values: Old is nil for an insert, New for a removal.
type Record struct {
	// EventID is the stream's id of the change, the same on every
	// redelivery: handlers de-duplicate on it.
	EventID string
	Keys    map[string]types.AttributeValue
	Old     map[string]types.AttributeValue
	New     map[string]types.AttributeValue
}

// Handler derives something from the table's changes.
type Handler interface {
	// Name identifies the handler in logs.
	Name() string
	// Apply applies one change. It must be idempotent, and a record it
	// wants to ignore it ignores without error.
	Apply(ctx context.Context, r Record) error
}

// Consumer delivers stream batches to its handlers.
type Consumer struct {
	handlers []Handler
	log      *slog.Logger
	// after runs once per batch in which a record was applied.
	after func(ctx context.Context)
}

// New returns a Consumer of handlers, which run in the order given.
// after, if not nil, runs after each batch that applied a record.
func New(log *slog.Logger, after func(context.Context), handlers ...Handler) *Consumer {
	if log == nil {
		log = slog.Default()
	}
	return &Consumer{handlers: handlers, log: log, after: after}
}

// Handle applies a batch. Records are applied in order; the first that a
// handler fails is reported with everything after it, so Lambda retries
// from there. The returned error is always nil: failures are per record.
func (c *Consumer) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	applied := 0
	for _, rec := range ev.Records {
		r := Record{EventID: rec.EventID, Keys: ToAttributeValues(rec.Change.Keys),
			Old: ToAttributeValues(rec.Change.OldImage), New: ToAttributeValues(rec.Change.NewImage)}
		if err := c.apply(ctx, r); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			break
		}
		applied++
	}
	if applied > 0 && c.after != nil {
		c.after(ctx)
	}
	return resp, nil
}

func (c *Consumer) apply(ctx context.Context, r Record) error {
	for _, h := range c.handlers {
		if err := h.Apply(ctx, r); err != nil {
			c.log.LogAttrs(ctx, slog.LevelError, "stream record not applied",
				slog.String("handler", h.Name()), slog.String("eventId", r.EventID), slog.String("error", err.Error()))
			return err
		}
	}
	return nil
}
