package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// StreamHandler is the table stream's consumer, run by Lambda's event
// source mapping on AWS (in the reports function, the stream's one reader)
// and by the local stream poller in `make run`. It fans each record out to
// the derived views, today the report aggregates; each is idempotent, and a
// record one of them cannot apply is reported with everything after it.
func StreamHandler(svc *Services, log *slog.Logger) func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	emf := &kpiEmitter{svc: svc, every: time.Minute}
	c := consumer.New(log, emf.maybeEmit,
		aggregateView{agg: svc.Table.Aggregates(), policy: svc.ReportPolicy},
		ownerView{customers: svc.Table.Customers()},
		// Outcome KPIs: activity, lost marks, update cycles, suspect markers.
		outcomeView{outcomes: svc.Table.Outcomes(), dormantAfter: svc.DormantAfter},
		duplicateView{customers: svc.Table.Customers()},
		reassignView{customers: svc.Table.Customers()},
		// Customer merge: children follow a merge, and its undo.
		mergeView{customers: svc.Table.Customers()},
		eventView{publish: svc.publishEvents})
	return c.Handle
}

// ownerView moves a customer's complaints, reminders and links along when
// the customer changes owner.
type ownerView struct{ customers *dynamo.Customers }

func (ownerView) Name() string { return "owner" }

// Apply re-points what hangs off a customer whose owner changed.
func (v ownerView) Apply(ctx context.Context, r consumer.Record) error {
	id, at, ok := dynamo.OwnerChange(r.Old, r.New)
	if !ok {
		return nil
	}
	_, err := v.customers.Reassigned(ctx, id, at)
	return err
}

// aggregateView keeps the report aggregates from the stream.
type aggregateView struct {
	agg    *dynamo.Aggregates
	policy crm.Policy
}

func (aggregateView) Name() string { return "aggregates" }

// Apply counts one change, skipping the aggregates' own items.
func (v aggregateView) Apply(ctx context.Context, r consumer.Record) error {
	if pk, ok := r.Keys["PK"].(*types.AttributeValueMemberS); ok && dynamo.IsAggregateKey(pk.Value) {
		return nil
	}
	return v.agg.ApplyChange(ctx, v.policy, r.EventID, r.Old, r.New)
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
	if k.svc.API.Reports == nil {
		return
	}
	now := time.Now()
	rep, err := k.svc.API.Reports.DataQuality(ctx, crm.Actor{ID: "system:reports", Roles: []crm.Role{crm.RoleAuditor}})
	if err == nil {
		k.write(EMF(rep, k.svc.Stage, now))
	}
	// Churn of the last complete month, whose figures no longer move.
	if cust, err := k.svc.API.Reports.Customers(ctx); err == nil && len(cust.Churn) > 1 {
		k.write(emf(k.svc.Stage, now, metric{"ChurnRate", "None", cust.Churn[len(cust.Churn)-2].ChurnRate}))
	}
	// Satisfaction over the last four weeks' surveys, once any was
	// answered: with none there is nothing to compare with the target.
	if cr, err := k.svc.API.Reports.Complaints(ctx, now.AddDate(0, 0, -28), now); err == nil && cr.Satisfaction.Responses > 0 {
		k.write(SatisfactionEMF(cr.Satisfaction, k.svc.Stage, now))
	}
	// The stack alarms on any user flagged today in the access report.
	if acc, err := k.svc.API.Reports.Access(ctx, now, now); err == nil {
		k.write(emf(k.svc.Stage, now, metric{"FlaggedUsers", "Count", float64(len(acc.Flagged))}))
	}
}

func (k *kpiEmitter) write(line map[string]any) {
	b, _ := json.Marshal(line)
	k.svc.Out.Write(append(b, '\n'))
}

// metric is one value of an Embedded Metric Format line.
type metric struct {
	name, unit string
	value      float64
}

// EMF renders the KPIs of a data-quality report in Embedded Metric Format,
// with the dimension Stage when stage is set.
func EMF(rep crm.DataQualityReport, stage string, at time.Time) map[string]any {
	return emf(stage, at,
		metric{"CompletenessRate", "None", rep.CompletenessRate}, metric{"TimelinessRate", "None", rep.TimelinessRate},
		metric{"DuplicateRate", "None", rep.DuplicateRate}, metric{"InvalidRate", "None", rep.InvalidRate},
		metric{"Customers", "Count", float64(rep.Customers)},
		// Outcome KPIs; an update cycle past the histogram reads -1.
		metric{"SelfServiceRate", "None", rep.SelfServiceRate}, metric{"UpdateCycleMedianHours", "None", cycleMetric(rep.UpdateCycle.MedianHours)},
		metric{"SuspectRate", "None", rep.SuspectRate})
}

// emf renders metrics as one Embedded Metric Format line in
// MetricNamespace, with the dimension Stage when stage is set.
func emf(stage string, at time.Time, metrics ...metric) map[string]any {
	dims := [][]string{{}}
	if stage != "" {
		dims = [][]string{{"Stage"}}
	}
	defs := make([]any, len(metrics))
	m := map[string]any{}
	for i, x := range metrics {
		defs[i] = map[string]any{"Name": x.name, "Unit": x.unit}
		m[x.name] = x.value
	}
	m["_aws"] = map[string]any{
		"Timestamp":         at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{"Namespace": MetricNamespace, "Dimensions": dims, "Metrics": defs}},
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
	stream := StreamHandler(svc, svc.API.Logger)
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
