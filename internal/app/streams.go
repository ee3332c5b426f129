package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/streams"
)

// StreamHandler is the reports function's DynamoDB Streams handler, run by
// Lambda's event source mapping on AWS and by the local stream poller in
// `make run`. Records are applied in order; the first that fails is
// reported with everything after it (ReportBatchItemFailures), so Lambda
// retries from there. Each record is applied once however often it comes.
func StreamHandler(svc *Services) func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	emf := &kpiEmitter{svc: svc, every: time.Minute}
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		var resp events.DynamoDBEventResponse
		applied := 0
		for _, rec := range ev.Records {
			if pk, ok := rec.Change.Keys["PK"]; ok && pk.DataType() == events.DataTypeString && dynamo.IsAggregateKey(pk.String()) {
				continue
			}
			err := svc.Store.ApplyChange(ctx, svc.Policy, rec.EventID,
				streams.ToAttributeValues(rec.Change.OldImage), streams.ToAttributeValues(rec.Change.NewImage))
			if err != nil {
				svc.Deps.Logger.LogAttrs(ctx, slog.LevelError, "stream record not applied",
					slog.String("eventId", rec.EventID), slog.String("error", err.Error()))
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
				break
			}
			applied++
		}
		if applied > 0 {
			emf.maybeEmit(ctx)
		}
		return resp, nil
	}
}

// kpiEmitter writes the data-quality KPIs as CloudWatch Embedded Metric
// Format lines, at most once per interval per process; CloudWatch turns them
// into metrics, which the stack's alarms compare with the targets.
type kpiEmitter struct {
	svc   *Services
	every time.Duration
	mu    sync.Mutex
	last  time.Time
}

func (k *kpiEmitter) maybeEmit(ctx context.Context) {
	k.mu.Lock()
	if time.Since(k.last) < k.every {
		k.mu.Unlock()
		return
	}
	k.last = time.Now()
	k.mu.Unlock()
	rep, err := k.svc.Deps.Reports.DataQuality(ctx, crm.Actor{ID: "system:reports", Roles: []crm.Role{crm.RoleAuditor}})
	if err != nil {
		return
	}
	line, _ := json.Marshal(EMF(rep, k.svc.Stage, time.Now()))
	k.svc.Out.Write(append(line, '\n'))
}

// EMF renders the KPIs of a data-quality report in Embedded Metric Format,
// with the dimension Stage when stage is set.
func EMF(rep crm.DataQualityReport, stage string, at time.Time) map[string]any {
	dims := [][]string{{}}
	if stage != "" {
		dims = [][]string{{"Stage"}}
	}
	m := map[string]any{
		"_aws": map[string]any{
			"Timestamp": at.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": dims,
				"Metrics": []any{
					map[string]any{"Name": "CompletenessRate", "Unit": "None"},
					map[string]any{"Name": "TimelinessRate", "Unit": "None"},
					map[string]any{"Name": "DuplicateRate", "Unit": "None"},
					map[string]any{"Name": "InvalidRate", "Unit": "None"},
					map[string]any{"Name": "Customers", "Unit": "Count"},
				},
			}},
		},
		"CompletenessRate": rep.CompletenessRate,
		"TimelinessRate":   rep.TimelinessRate,
		"DuplicateRate":    rep.DuplicateRate,
		"InvalidRate":      rep.InvalidRate,
		"Customers":        rep.Customers,
	}
	if stage != "" {
		m["Stage"] = stage
	}
	return m
}

// MetricNamespace is where the KPIs are published.
const MetricNamespace = "Clientele"

// ReportsHandler serves the reports function's two kinds of event: API
// Gateway requests for the report routes and DynamoDB stream batches.
func ReportsHandler(svc *Services, h *api.Handler) func(ctx context.Context, raw json.RawMessage) (any, error) {
	stream := StreamHandler(svc)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			RouteKey string `json:"routeKey"`
			Records  []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, err
		}
		if len(probe.Records) > 0 && strings.HasSuffix(probe.Records[0].EventSource, "dynamodb") {
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			return stream(ctx, ev)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return h.Invoke(ctx, ev)
	}
}
