package crm

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Kinds of access a user's day is counted by, for the access report.
const (
	// AccessRefused is a request refused for the caller's role (403).
	AccessRefused = "refused"
	// AccessProbe is a request for an entity that exists but is outside
	// the caller's scope (answered 404).
	AccessProbe = "probe"
	// AccessDuplicate is a write refused as a duplicate of another
	// customer (409): repeated, a way of testing contacts against the CRM.
	AccessDuplicate = "duplicate"
	// AccessSensitive is a response that showed billing or a full
	// national ID.
	AccessSensitive = "sensitive"
)

// AccessCounter counts what each user did that the access report shows,
// per user and day. Each user's counts are that user's own items, so
// counting never queues one user behind another.
type AccessCounter interface {
	CountAccess(ctx context.Context, user string, at time.Time, kind string) error
}

// AccessStore reads the counts back.
type AccessStore interface {
	AccessCounter
	// AccessDays returns, for each day from..to (UTC dates, inclusive),
	// every user's counts that day.
	AccessDays(ctx context.Context, from, to time.Time) ([]AccessDay, error)
}

// AccessDay is one user's counts on one day.
type AccessDay struct {
	User           string `json:"user"`
	Day            string `json:"day"`
	Refused        int64  `json:"refused"`
	Probes         int64  `json:"probes"`
	Duplicates     int64  `json:"duplicateProbes"`
	SensitiveReads int64  `json:"sensitiveReads"`
	// Flagged is set when refused requests and probes that day reach the
	// alert threshold.
	Flagged bool `json:"flagged"`
}

// Suspicious is what counts toward the alert threshold.
func (d AccessDay) Suspicious() int64 { return d.Refused + d.Probes + d.Duplicates }

// AccessReport is GET /reports/access.
type AccessReport struct {
	From      string      `json:"from"`
	To        string      `json:"to"`
	Threshold int64       `json:"threshold"`
	Days      []AccessDay `json:"items"`
	// Flagged lists the users flagged on any day, sorted.
	Flagged []string  `json:"flaggedUsers"`
	AsOf    time.Time `json:"asOf"`
}

// maxAccessDays bounds one access report.
const maxAccessDays = 92

// Access reports per user and day the refused requests, probes, duplicate
// probes and sensitive reads from..to (default: the last 7 days), flagging
// users whose refused requests and probes in a day reach threshold.
func (r *Reports) Access(ctx context.Context, from, to time.Time) (AccessReport, error) {
	now := r.Now().UTC()
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -6)
	}
	from, to = from.UTC().Truncate(24*time.Hour), to.UTC().Truncate(24*time.Hour)
	var v Invalid
	switch {
	case to.Before(from):
		v.Add("from", "range", "must not be after to")
	case to.Sub(from) >= maxAccessDays*24*time.Hour:
		v.Add("to", "range", "a report covers at most 92 days")
	}
	if err := v.Err(); err != nil {
		return AccessReport{}, err
	}
	if r.AccessLog == nil {
		return AccessReport{}, Errorf(EUNAVAILABLE, "access counts are not configured")
	}
	days, err := r.AccessLog.AccessDays(ctx, from, to)
	if err != nil {
		return AccessReport{}, err
	}
	threshold := r.AccessThreshold
	if threshold <= 0 {
		threshold = DefaultAccessThreshold
	}
	rep := AccessReport{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Threshold: threshold, Days: []AccessDay{},
		Flagged: []string{}, AsOf: now.Truncate(time.Second)}
	for _, d := range days {
		d.Flagged = d.Suspicious() >= threshold
		if d.Flagged && !slices.Contains(rep.Flagged, d.User) {
			rep.Flagged = append(rep.Flagged, d.User)
		}
		rep.Days = append(rep.Days, d)
	}
	slices.SortFunc(rep.Days, func(a, b AccessDay) int {
		if c := strings.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.User, b.User)
	})
	slices.Sort(rep.Flagged)
	return rep, nil
}

// DefaultAccessThreshold is ACCESS_ALERT_THRESHOLD's default: refused
// requests and probes a user may make in a day before being flagged.
const DefaultAccessThreshold = 20

// countAccess counts one access of a kind for actor, if a counter is
// wired. Counting is best-effort beside the audit entry, which is the
// record; a failure is reported to dropped, which logs it.
func countAccess(ctx context.Context, c AccessCounter, dropped func(context.Context, string, error), actor Actor, at time.Time, kind string) {
	if c == nil || actor.ID == "" {
		return
	}
	if err := c.CountAccess(ctx, actor.ID, at, kind); err != nil && dropped != nil {
		dropped(ctx, "access count "+kind, err)
	}
}
