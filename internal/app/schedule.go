package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
)

// ReminderHandler serves the reminders function's two kinds of event: API
// Gateway requests for the reminder routes, and the schedule's event, which
// runs the job as of the event's time. A retried delivery of one scheduled
// event therefore runs as of the same instant, and the job's deterministic
// ids make it create and send nothing twice.
func ReminderHandler(d api.Services, h *api.Handler) func(ctx context.Context, raw json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			RouteKey   string    `json:"routeKey"`
			DetailType string    `json:"detail-type"`
			Time       time.Time `json:"time"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("event is not JSON: %w", err)
		}
		switch {
		case probe.RouteKey != "":
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("API event: %w", err)
			}
			return h.Invoke(ctx, ev)
		case probe.DetailType == "Scheduled Event" && !probe.Time.IsZero():
			return RunReminders(ctx, d, probe.Time)
		}
		return nil, errors.New("neither an API Gateway request nor a scheduled event")
	}
}

// RunReminders runs the reminder job as of asOf and logs what it did, in
// counts only.
func RunReminders(ctx context.Context, d api.Services, asOf time.Time) (crm.RunReport, error) {
	start := time.Now()
	rep, err := d.Reminders.Run(ctx, asOf)
	attrs := []slog.Attr{
		slog.Time("asOf", rep.AsOf), slog.Int("due", rep.Due), slog.Any("created", rep.Created),
		slog.Int("existing", rep.Existing), slog.Int("cleared", rep.Cleared), slog.Int("failed", rep.Failed),
		slog.Int("notified", rep.Notified), slog.Int("redelivered", rep.Redelivered), slog.Int("notifyFailures", rep.NotifyFails),
		slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	d.Logger.LogAttrs(ctx, level, "reminder run", attrs...)
	return rep, err
}
