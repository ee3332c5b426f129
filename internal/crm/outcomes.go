package crm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Outcome KPIs: whether customers stay (dormancy, churn, lost), how fast
// records are brought up to date (update cycle), and how often customers do
// it themselves (self-service rate). Like every report figure they are
// counts of state, so the stream keeps them and a rebuild proves them.

// DefaultLostReasons are the reasons a customer may be marked lost for
// (LOST_REASONS).
var DefaultLostReasons = []string{"price", "service", "competitor", "moved", "no_need", "other"}

// DefaultDormantAfter is how long without activity makes a customer
// dormant (DORMANT_AFTER).
const DefaultDormantAfter = 180 * 24 * time.Hour

// Lost is a staff member's verdict that a customer has gone. It stays until
// the customer's record is verified again (by staff or by the customer
// through a link): an interaction or a complaint alone does not reverse it,
// since a lost customer who complains is not back.
type Lost struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// LostInput is the body of POST /customers/{id}/lost.
type LostInput struct {
	Reason string `json:"reason"`
}

// MarkLost records that the customer is lost, for one of LostReasons.
// Marking a lost customer again changes the reason and the time. Returns
// EINVALID for an unknown reason, and the errors of Get and UpdateCustomer.
func (s *Customers) MarkLost(ctx context.Context, actor Actor, id string, ifMatch *int64, in LostInput) (Customer, error) {
	reasons := s.LostReasons
	if len(reasons) == 0 {
		reasons = DefaultLostReasons
	}
	if !slices.Contains(reasons, in.Reason) {
		var v Invalid
		v.Add("reason", "enum", "must be one of "+strings.Join(reasons, ", "))
		return Customer{}, v.Err()
	}
	return s.retryUnconditional(ifMatch, func() (Customer, error) {
		prev, err := s.Get(ctx, actor, id)
		if err != nil {
			return Customer{}, err
		}
		if ifMatch != nil && *ifMatch != prev.Version {
			return Customer{}, Errorf(EPRECONDITION, "customer %s is at another version", id)
		}
		next := prev
		next.Lost = &Lost{Reason: in.Reason, At: s.now()}
		next.Version++
		if err := s.Store.UpdateCustomer(ctx, prev, next, NewAudit(ctx, actor, "customer.lost", "customer", id, "lost")); err != nil {
			return Customer{}, err
		}
		return next, nil
	})
}

// Span is one stretch of a customer's activity: from Start (its creation
// or a reactivation) to the last activity in it. It ends at DormantAt
// (Last plus the dormancy period) unless it was lost first.
type Span struct {
	Start      time.Time `json:"start"`
	Last       time.Time `json:"last"`
	DormantAt  time.Time `json:"dormantAt"`
	LostAt     time.Time `json:"lostAt,omitzero"`
	LostReason string    `json:"lostReason,omitempty"`
}

// Activity is a customer's activity history, derived from the stream: its
// spans (at most one every dormancy period, so a few per year), the update
// cycles it went through, and the owner and segment its figures count for.
type Activity struct {
	CustomerID string
	OwnerID    string
	Segment    string
	Spans      []Span
	// Cycles counts update cycles by UpdateCycleBuckets index.
	Cycles map[int]int64
	// Version is the last customer version applied, so that a record
	// delivered again counts nothing twice.
	Version int64
}

// Touch records activity at at: it extends the current span, or starts a
// new one (a reactivation) when the customer had gone dormant. It returns
// whether anything changed; activity no later than the last one changes
// nothing, so a record delivered twice is harmless. A lost customer stays
// lost (see Lost).
func (a *Activity) Touch(at time.Time, dormantAfter time.Duration) bool {
	at = at.UTC()
	if len(a.Spans) == 0 {
		a.Spans = []Span{{Start: at, Last: at, DormantAt: at.Add(dormantAfter)}}
		return true
	}
	cur := &a.Spans[len(a.Spans)-1]
	if !cur.LostAt.IsZero() || !at.After(cur.Last) {
		return false
	}
	if !at.Before(cur.DormantAt) {
		a.Spans = append(a.Spans, Span{Start: at, Last: at, DormantAt: at.Add(dormantAfter)})
		return true
	}
	cur.Last, cur.DormantAt = at, at.Add(dormantAfter)
	return true
}

// Verified records a verification at at: activity that also brings a lost
// customer back.
func (a *Activity) Verified(at time.Time, dormantAfter time.Duration) bool {
	at = at.UTC()
	if n := len(a.Spans); n > 0 && !a.Spans[n-1].LostAt.IsZero() && at.After(a.Spans[n-1].LostAt) {
		a.Spans = append(a.Spans, Span{Start: at, Last: at, DormantAt: at.Add(dormantAfter)})
		return true
	}
	return a.Touch(at, dormantAfter)
}

// MarkLost ends the current span as lost at at. A customer already dormant
// at at has churned once already and is not counted again; its reason is
// still recorded on the customer.
func (a *Activity) MarkLost(at time.Time, reason string) bool {
	at = at.UTC()
	if len(a.Spans) == 0 {
		return false
	}
	cur := &a.Spans[len(a.Spans)-1]
	if !cur.LostAt.IsZero() || !at.Before(cur.DormantAt) || at.Before(cur.Start) {
		return false
	}
	cur.LostAt, cur.LostReason = at, reason
	return true
}

// AddCycle counts an update cycle: the time from a record falling due for
// review to its verification or update.
func (a *Activity) AddCycle(d time.Duration) {
	if a.Cycles == nil {
		a.Cycles = map[int]int64{}
	}
	a.Cycles[cycleBucket(d)]++
}

// UpdateCycleBuckets are the upper bounds, in hours, of the update-cycle
// histogram: fixed, so histograms of any shards and owners merge by adding
// counts. A median or p90 is reported as the upper bound of the bucket it
// falls in, so the resolution is an hour up to 2 h, doubling to 8 h, then
// 12 h steps to 2 days, and coarser beyond; past 90 days it reads -1.
var UpdateCycleBuckets = []float64{1, 2, 4, 8, 12, 24, 36, 48, 72, 120, 168, 336, 720, 2160}

func cycleBucket(d time.Duration) int {
	h := d.Hours()
	for i, b := range UpdateCycleBuckets {
		if h <= b {
			return i
		}
	}
	return len(UpdateCycleBuckets)
}

// Churn aggregate names: overall, per owner and per segment.
const (
	AggChurn          = "churn"
	aggChurnOwner     = "churn#o#"
	aggChurnSegment   = "churn#s#"
	monthLayout       = "2006-01"
	dayLayout         = "20060102"
	noSegment         = "(none)"
	cycleCounterFmt   = "cyc#%02d"
	selfServiceDone   = "ssDone"
	selfServiceExpiry = "ssExp#"
)

// AggChurnOwner names the churn counts of one owner's customers.
func AggChurnOwner(owner string) string { return aggChurnOwner + owner }

// AggChurnSegment names the churn counts of one segment's customers.
func AggChurnSegment(segment string) string {
	if segment == "" {
		segment = noSegment
	}
	return aggChurnSegment + segment
}

// ActivityContribution is what a customer's activity counts for: per span,
// the month it started (a reactivation unless it is the first), the day it
// went dormant, or the day and reason it was lost; and the update cycles.
// Whether a dormancy day has come is decided when the report is read, so
// no write happens when a customer goes dormant.
func ActivityContribution(a Activity) Contribution {
	out := Contribution{}
	for _, agg := range []string{AggChurn, AggChurnOwner(a.OwnerID), AggChurnSegment(a.Segment)} {
		for i, sp := range a.Spans {
			out.add(agg, "start#"+sp.Start.UTC().Format(monthLayout), 1)
			if i > 0 {
				out.add(agg, "react#"+sp.Start.UTC().Format(monthLayout), 1)
			}
			if !sp.LostAt.IsZero() {
				out.add(agg, "lost#"+sp.LostAt.UTC().Format(dayLayout)+"#"+sp.LostReason, 1)
			} else {
				out.add(agg, "dorm#"+sp.DormantAt.UTC().Format(dayLayout), 1)
			}
		}
	}
	for b, n := range a.Cycles {
		for _, agg := range []string{AggCustomers, AggOwner(a.OwnerID)} {
			out.add(agg, fmt.Sprintf(cycleCounterFmt, b), n)
		}
	}
	return out
}

// LinkState is what the report counts of a self-service link.
type LinkState struct {
	OwnerID    string
	ValidUntil time.Time
	Used       bool
	Revoked    bool
}

// LinkContribution is what one self-service link counts for: completed,
// or (unused) the day its life ends; a link revoked unused (reassignment,
// erasure, staff) was never the customer's to complete and counts for
// nothing.
func LinkContribution(l LinkState) Contribution {
	out := Contribution{}
	if !l.Used && l.Revoked {
		return out
	}
	for _, agg := range []string{AggCustomers, AggOwner(l.OwnerID)} {
		if l.Used {
			out.add(agg, selfServiceDone, 1)
		} else {
			out.add(agg, selfServiceExpiry+l.ValidUntil.UTC().Format(dayLayout), 1)
		}
	}
	return out
}

// CycleStats summarize the update-cycle histogram.
type CycleStats struct {
	Count int64 `json:"count"`
	// MedianHours and P90Hours are the upper bounds of the buckets holding
	// them (UpdateCycleBuckets); -1 past the last bound.
	MedianHours float64 `json:"medianHours"`
	P90Hours    float64 `json:"p90Hours"`
}

func cycleStats(c Counts) CycleStats {
	var s CycleStats
	for i := 0; i <= len(UpdateCycleBuckets); i++ {
		s.Count += c[fmt.Sprintf(cycleCounterFmt, i)]
	}
	s.MedianHours, s.P90Hours = cyclePercentile(c, s.Count, 50), cyclePercentile(c, s.Count, 90)
	return s
}

func cyclePercentile(c Counts, total int64, pct int64) float64 {
	if total == 0 {
		return 0
	}
	rank := (total*pct + 99) / 100
	var seen int64
	for i := 0; i <= len(UpdateCycleBuckets); i++ {
		seen += c[fmt.Sprintf(cycleCounterFmt, i)]
		if seen >= rank {
			if i == len(UpdateCycleBuckets) {
				return -1
			}
			return UpdateCycleBuckets[i]
		}
	}
	return -1
}

// selfServiceRate is links completed ÷ links whose life is over (completed,
// or expired unused before asOf's day); links still open count for
// neither.
func selfServiceRate(c Counts, asOf time.Time) (float64, int64) {
	today := selfServiceExpiry + asOf.UTC().Format(dayLayout)
	var expired int64
	for k, v := range c {
		if strings.HasPrefix(k, selfServiceExpiry) && k < today {
			expired += v
		}
	}
	return rate(c[selfServiceDone], c[selfServiceDone]+expired), c[selfServiceDone] + expired
}

// outcomeQuality adds the outcome KPIs of one customer aggregate to q.
func outcomeQuality(q *Quality, c Counts, asOf time.Time, t Targets) {
	q.SelfServiceRate, q.SelfServiceLinks = selfServiceRate(c, asOf)
	q.UpdateCycle = cycleStats(c)
	q.SuspectRate = rate(c["suspect"], q.Customers)
	q.Met["selfServiceRate"] = q.SelfServiceLinks == 0 || q.SelfServiceRate >= t.SelfService
	q.Met["updateCycle"] = q.UpdateCycle.Count == 0 || (q.UpdateCycle.MedianHours >= 0 && q.UpdateCycle.MedianHours <= t.UpdateCycleHours)
	q.Met["suspectRate"] = q.SuspectRate <= t.Suspect
}

// MonthChurn is one month of the customer report: growth beside churn.
type MonthChurn struct {
	Month string `json:"month"`
	New   int64  `json:"new"`
	// Active counts customers active at the start of the month.
	Active       int64            `json:"active"`
	NewlyDormant int64            `json:"newlyDormant"`
	Reactivated  int64            `json:"reactivated"`
	Lost         int64            `json:"lost"`
	LostByReason map[string]int64 `json:"lostByReason"`
	// ChurnRate is (newly dormant + lost) ÷ active at the start of the month.
	ChurnRate float64 `json:"churnRate"`
	Met       bool    `json:"met"`
}

// ChurnMonths is how many months, the current one included, the customer
// report shows churn for.
const ChurnMonths = 12

// churnMonths computes the last n months of churn, up to asOf's month, from
// one churn aggregate. A dormancy counts once its day has begun.
func churnMonths(c, growth Counts, asOf time.Time, n int, target float64) []MonthChurn {
	asOf = asOf.UTC()
	today := asOf.Format(dayLayout)
	first := time.Date(asOf.Year(), asOf.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(n - 1), 0)
	out := make([]MonthChurn, n)
	for i := range out {
		m := first.AddDate(0, i, 0)
		out[i] = MonthChurn{Month: m.Format(monthLayout), LostByReason: map[string]int64{}}
		if growth != nil {
			out[i].New = growth["new#"+out[i].Month]
		}
	}
	index := func(month string) int {
		t, err := time.Parse(monthLayout, month)
		if err != nil {
			return -2
		}
		return max(-1, (t.Year()-first.Year())*12+int(t.Month()-first.Month()))
	}
	// active[i] = spans started before month i − spans ended before it.
	started, ended := make([]int64, n+1), make([]int64, n+1)
	for k, v := range c {
		kind, rest, _ := strings.Cut(k, "#")
		switch kind {
		case "start":
			// A span is active from the start of the month after it began.
			if i := index(rest); i != -2 {
				started[max(0, min(i+1, n))] += v
			}
		case "react":
			if i := index(rest); i >= 0 && i < n {
				out[i].Reactivated += v
			}
		case "dorm", "lost":
			day, reason, _ := strings.Cut(rest, "#")
			if len(day) != 8 || day > today {
				continue
			}
			i := index(day[:4] + "-" + day[4:6])
			if i == -2 {
				continue
			}
			ended[max(0, min(i+1, n))] += v
			if i < 0 || i >= n {
				continue
			}
			if kind == "dorm" {
				out[i].NewlyDormant += v
			} else {
				out[i].Lost += v
				out[i].LostByReason[reason] += v
			}
		}
	}
	var active int64
	for i := range out {
		active += started[i] - ended[i]
		out[i].Active = active
		out[i].ChurnRate = rate(out[i].NewlyDormant+out[i].Lost, active)
		out[i].Met = out[i].ChurnRate <= target
	}
	return out
}

// churn adds the churn months to a customer report: one read of the
// overall churn aggregate, one per segment and owner that has customers.
func (r *Reports) churn(ctx context.Context, rep *CustomerReport, growth Counts) error {
	names := []string{AggChurn}
	segments, owners := sortedNonZero(rep.BySegment), sortedNonZero(rep.ByOwner)
	for _, s := range segments {
		names = append(names, AggChurnSegment(s))
	}
	for _, o := range owners {
		names = append(names, AggChurnOwner(o))
	}
	aggs, err := r.Store.Aggregates(ctx, names)
	if err != nil {
		return err
	}
	rep.Churn = churnMonths(aggs[AggChurn], growth, rep.AsOf, ChurnMonths, r.Targets.Churn)
	rep.ChurnBySegment, rep.ChurnByOwner = map[string][]MonthChurn{}, map[string][]MonthChurn{}
	for _, s := range segments {
		rep.ChurnBySegment[s] = churnMonths(aggs[AggChurnSegment(s)], nil, rep.AsOf, ChurnMonths, r.Targets.Churn)
	}
	for _, o := range owners {
		rep.ChurnByOwner[o] = churnMonths(aggs[AggChurnOwner(o)], nil, rep.AsOf, ChurnMonths, r.Targets.Churn)
	}
	return nil
}

func sortedNonZero(m map[string]int64) []string {
	var out []string
	for k, v := range m {
		if v > 0 {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// ApplyCustomer updates the activity from one change of the customer's
// record, prev being the record before it (nil for a new one). A version
// already applied changes nothing. It returns whether the activity changed.
// A verification (staff, or the customer through a link) is activity; a
// staff edit is not, but it ends an update cycle as a verification does.
func (a *Activity) ApplyCustomer(prev *Customer, next Customer, dormantAfter time.Duration) bool {
	if next.Version <= a.Version {
		return false
	}
	changed := a.OwnerID != next.OwnerID || a.Segment != next.Segment || a.CustomerID != next.ID
	a.CustomerID, a.OwnerID, a.Segment = next.ID, next.OwnerID, next.Segment
	if len(a.Spans) == 0 {
		changed = a.Touch(next.CreatedAt, dormantAfter) || changed
	}
	if prev != nil {
		verified := !next.VerifiedAt.IsZero() && !next.VerifiedAt.Equal(prev.VerifiedAt)
		updated := !next.UpdatedAt.Equal(prev.UpdatedAt)
		at := next.UpdatedAt
		if verified {
			at = next.VerifiedAt
			changed = a.Verified(at, dormantAfter) || changed
		}
		if (verified || updated) && !prev.ReviewDueAt.After(at) {
			a.AddCycle(at.Sub(prev.ReviewDueAt))
			changed = true
		}
		if next.Lost != nil && (prev.Lost == nil || !prev.Lost.At.Equal(next.Lost.At)) {
			changed = a.MarkLost(next.Lost.At, next.Lost.Reason) || changed
		}
	}
	if changed {
		a.Version = next.Version
	}
	return changed
}

// SuspectCodes are the reason codes a stored customer counts and is listed
// under: the verdict of its last write, and the placeholder-name signal,
// which runs on the plain name again so that a rebuild applies today's
// rules without opening a sealed field.
func SuspectCodes(c Customer) []string {
	out := slices.Clone(c.Suspect)
	if NameSuspect(c.Name) && !slices.Contains(out, SuspectPlaceholderName) {
		out = append(out, SuspectPlaceholderName)
	}
	return out
}
