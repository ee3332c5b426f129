package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// loadOutcomes reads the outcome KPIs' settings: DORMANT_AFTER and
// LOST_REASONS (their targets are in QUALITY_TARGETS).
func loadOutcomes(getenv func(string) string, c *Config) []string {
	errs := duration(getenv, "DORMANT_AFTER", &c.DormantAfter, atLeast(24*time.Hour), "a duration of a day or more, such as 180d")
	if v := getenv("LOST_REASONS"); v != "" {
		c.LostReasons = nil
		for _, r := range strings.Split(v, ",") {
			r = strings.TrimSpace(r)
			if r == "" || strings.ContainsAny(r, "# ") {
				errs = append(errs, fmt.Sprintf("LOST_REASONS: %q is not a reason (no spaces or #)", r))
				continue
			}
			c.LostReasons = append(c.LostReasons, r)
		}
	}
	return errs
}

// outcomeView derives, from the stream, the items the outcome KPIs count:
// each customer's activity (its spans, lost marks and update cycles) and
// the suspect markers stewards list. The aggregates then count those items
// as they count any other.
type outcomeView struct {
	outcomes     *dynamo.Outcomes
	dormantAfter time.Duration
}

func (outcomeView) Name() string { return "outcomes" }

// Apply derives what one change means for a customer's outcomes.
func (v outcomeView) Apply(ctx context.Context, r consumer.Record) error {
	if pk, ok := r.Keys["PK"].(*types.AttributeValueMemberS); ok && dynamo.IsAggregateKey(pk.Value) {
		return nil
	}
	d := v.dormantAfter
	if d <= 0 {
		d = crm.DefaultDormantAfter
	}
	return v.outcomes.ApplyChange(ctx, d, r.Old, r.New)
}

// cycleMetric is the update cycle as published: a median past the
// histogram's last bound (-1 in the report) goes out as twice that bound,
// so that the alarm, which compares with a threshold, sees it as late.
func cycleMetric(hours float64) float64 {
	if hours < 0 {
		return 2 * crm.UpdateCycleBuckets[len(crm.UpdateCycleBuckets)-1]
	}
	return hours
}
