package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/clientele-crm/clientele/internal/api"
)

// RemindersLambda is the reminders function's entry: its routes, and the
// schedule's event, which runs the reminders and also writes the audit
// digest when the function has a signing key.
func RemindersLambda(svc *Services, routes *api.Handler) any {
	rh := ReminderHandler(svc.API, routes)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		out, err := rh(ctx, raw)
		var probe struct {
			DetailType string    `json:"detail-type"`
			Time       time.Time `json:"time"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.DetailType == "Scheduled Event" && svc.AuditKey != nil {
			if _, derr := WriteDigest(ctx, svc, probe.Time); err == nil {
				err = derr
			}
		}
		return out, err
	}
}

// ReportsLambda is the reports function's entry: its routes and the
// table's stream batches.
func ReportsLambda(svc *Services, routes *api.Handler) any { return ReportsHandler(svc, routes) }

// ImportsLambda is the imports function's entry: the import queue's
// tasks. It serves no route.
func ImportsLambda(svc *Services, _ *api.Handler) any {
	return ImportsHandler(svc.API.Imports, svc.API.Logger, svc.ImportMaxReceive)
}

// WebhooksLambda is the webhooks function's entry: its routes, the
// webhooks queue's deliveries and the schedule's retries.
func WebhooksLambda(svc *Services, routes *api.Handler) any { return WebhooksHandler(svc, routes, 0) }
