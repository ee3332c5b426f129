package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// newImports wires the background import over the edges' queue, or, with
// none, over a queue in this process.
func newImports(table *dynamo.Table, customers *crm.Customers, cfg Config, e Edges) *crm.Imports {
	imp := &crm.Imports{Store: table.Imports(), Customers: customers, Queue: e.ImportQueue,
		Decode: api.DecodeImportRow(cfg.Policy), Now: time.Now, NewID: NewID}
	if imp.Queue == nil {
		imp.Queue = &localQueue{imports: imp, log: e.Logger, attempts: cfg.ImportMaxReceive, backoff: time.Second}
	}
	return imp
}

// localQueue runs each task in a goroutine of this process, retrying a
// failed one as SQS would redeliver it and failing the import when the
// attempts run out. The request that queued a task does not wait for it.
type localQueue struct {
	imports  *crm.Imports
	log      *slog.Logger
	attempts int
	backoff  time.Duration
}

func (q *localQueue) Enqueue(ctx context.Context, t crm.ImportTask) error {
	ctx = context.WithoutCancel(ctx)
	go func() {
		for attempt := 1; ; attempt++ {
			err := q.imports.Process(ctx, t)
			if err == nil {
				return
			}
			logImportError(ctx, q.log, t, attempt, err)
			if attempt >= q.attempts {
				if err := q.imports.Fail(ctx, t.ImportID); err != nil {
					logImportError(ctx, q.log, t, attempt, err)
				}
				return
			}
			time.Sleep(q.backoff * time.Duration(attempt))
		}
	}()
	return nil
}

func logImportError(ctx context.Context, log *slog.Logger, t crm.ImportTask, attempt int, err error) {
	log.LogAttrs(ctx, slog.LevelError, "import chunk failed", slog.String("importId", t.ImportID),
		slog.Int("chunk", t.Chunk), slog.Int("attempt", attempt), slog.String("error", err.Error()))
}

// ImportsHandler is the imports function's handler of SQS batches of
// import tasks. A task that fails is reported back to be delivered again;
// one delivered maxReceive times fails its import instead, so that the
// import says so rather than stay running for ever.
func ImportsHandler(imports *crm.Imports, log *slog.Logger, maxReceive int) func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, m := range ev.Records {
			var t crm.ImportTask
			if err := json.Unmarshal([]byte(m.Body), &t); err != nil || t.ImportID == "" {
				log.LogAttrs(ctx, slog.LevelError, "import task unreadable", slog.String("messageId", m.MessageId))
				continue
			}
			err := imports.Process(ctx, t)
			if err == nil {
				continue
			}
			received, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
			logImportError(ctx, log, t, received, err)
			if received >= maxReceive {
				if err = imports.Fail(ctx, t.ImportID); err == nil {
					continue
				}
				logImportError(ctx, log, t, received, err)
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
		return resp, nil
	}
}
