package crm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Reports are read from aggregates that the stream consumer keeps up to date
// as the tables change. Each entity's state contributes counts to named
// aggregates (Contribution); a change adds the contribution of the new image
// and subtracts that of the old one, so the aggregates are a sum that does
// not depend on the order changes arrive in, and `reports rebuild` proves
// them by summing the contributions of every item in the tables.

// Aggregate names.
const (
	// AggCustomers holds the customer counts over all customers.
	AggCustomers = "cust"
	// AggWrites counts customer writes accepted and rejected, per day. It
	// counts events, not state, so rebuild leaves it alone.
	AggWrites          = "writes"
	aggOwnerPrefix     = "cust#o#"
	aggComplaintPrefix = "comp#"
)

// AggOwner names the customer counts of one owner.
func AggOwner(owner string) string { return aggOwnerPrefix + owner }

// AggOwnerFamily is the family of every owner's customer counts.
const AggOwnerFamily = aggOwnerPrefix

// aggFamilies are the name prefixes of the aggregates kept one per owner,
// week or segment, which a report reads many of at once: a store keeps
// each family together, so that one read returns them all.
var aggFamilies = [...]string{aggOwnerPrefix, aggComplaintPrefix, aggSurveyPrefix, aggChurnOwner, aggChurnSegment}

// AggFamilyOf splits an aggregate name into its family and its member
// within it ("cust#o#" and "alice"); ok is false for an aggregate of no
// family.
func AggFamilyOf(name string) (family, member string, ok bool) {
	for _, f := range aggFamilies {
		if m, ok := strings.CutPrefix(name, f); ok {
			return f, m, true
		}
	}
	return "", "", false
}

// IsAggFamily reports whether family names a family of aggregates.
func IsAggFamily(family string) bool { return slices.Contains(aggFamilies[:], family) }

// AggComplaintWeek names the counts of complaints filed in one ISO week.
func AggComplaintWeek(t time.Time) string { return aggComplaintPrefix + isoWeek(t) }

func isoWeek(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// Counts are one aggregate's counters; Contribution is counts by aggregate.
type (
	Counts       map[string]int64
	Contribution map[string]Counts
)

func (c Contribution) add(agg, attr string, n int64) {
	if c[agg] == nil {
		c[agg] = Counts{}
	}
	c[agg][attr] += n
}

// Minus returns c − o, leaving out zeros.
func (c Contribution) Minus(o Contribution) Contribution {
	out := Contribution{}
	for agg, counts := range c {
		for k, v := range counts {
			out.add(agg, k, v)
		}
	}
	for agg, counts := range o {
		for k, v := range counts {
			out.add(agg, k, -v)
		}
	}
	for agg, counts := range out {
		for k, v := range counts {
			if v == 0 {
				delete(counts, k)
			}
		}
		if len(counts) == 0 {
			delete(out, agg)
		}
	}
	return out
}

// Add adds o into c.
func (c Contribution) Add(o Contribution) {
	for agg, counts := range o {
		for k, v := range counts {
			c.add(agg, k, v)
		}
	}
}

// LookupFields are the fields customers are deduplicated on.
var LookupFields = []string{FieldPhone, FieldEmail, FieldNationalID}

// CustomerContribution is what one stored customer counts for. claims are
// the lookup fields whose uniqueness claim it holds: a customer that has a
// value without its claim shares it with an earlier customer (an admin let
// the duplicate in), and counts as a duplicate.
func (p Policy) CustomerContribution(c Customer, claims []string) Contribution {
	out := Contribution{}
	_, missing := p.Completeness(c)
	dup := false
	for _, f := range LookupFields {
		if c.value(f) != "" && !slices.Contains(claims, f) {
			dup = true
		}
	}
	_, invalid := p.Standardize(c.Input())
	suspect := SuspectCodes(c)
	due := "due#" + c.ReviewDueAt.UTC().Format("20060102")
	for _, agg := range []string{AggCustomers, AggOwner(c.OwnerID)} {
		out.add(agg, "customers", 1)
		out.add(agg, due, 1)
		if len(missing) == 0 {
			out.add(agg, "complete", 1)
		}
		if dup {
			out.add(agg, "duplicate", 1)
		}
		if invalid != nil {
			out.add(agg, "invalid", 1)
		}
		if len(suspect) > 0 {
			out.add(agg, "suspect", 1)
		}
	}
	for _, code := range suspect {
		out.add(AggCustomers, "suspect#"+code, 1)
	}
	segment := c.Segment
	if segment == "" {
		segment = "(none)"
	}
	month := c.CreatedAt.UTC().Format("2006-01")
	out.add(AggCustomers, "new#"+month, 1)
	// The customer's current segment, under the month it was created: a
	// segment change subtracts the old image's counter and adds the new
	// one's, so "of March's new customers, how many are VIP now" stays
	// true without a scan.
	out.add(AggCustomers, newSegmentPrefix+month+"#"+segment, 1)
	out.add(AggCustomers, "segment#"+segment, 1)
	out.add(AggCustomers, "owner#"+c.OwnerID, 1)
	return out
}

func (c Customer) value(field string) string {
	switch field {
	case FieldPhone:
		return c.Phone
	case FieldEmail:
		return c.Email
	case FieldNationalID:
		return c.NationalID
	}
	return ""
}

// Duration buckets of the time-to-acknowledge and time-to-resolve
// histograms: fixed bounds, so histograms of any shards and weeks merge by
// adding counts. A percentile is reported as the upper bound of the bucket
// it falls in.
var DurationBuckets = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour,
	8 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 5 * 24 * time.Hour,
	7 * 24 * time.Hour, 14 * 24 * time.Hour, 30 * 24 * time.Hour,
}

func bucketOf(d time.Duration) int {
	for i, b := range DurationBuckets {
		if d <= b {
			return i
		}
	}
	return len(DurationBuckets)
}

// ComplaintContribution is what one complaint counts for, in the week it
// was filed. rootCause names the root cause's counter (a keyed hash: the
// text itself is sealed) or is "" when there is none.
func ComplaintContribution(c Complaint, rootCause string) Contribution {
	out := Contribution{}
	agg := AggComplaintWeek(c.CreatedAt)
	out.add(agg, "complaints", 1)
	out.add(agg, "status#"+c.Status, 1)
	out.add(agg, "category#"+c.Category, 1)
	out.add(agg, "severity#"+c.Severity, 1)
	out.add(agg, "channel#"+c.Channel, 1)
	if !c.SLABreachedAt.IsZero() || (!c.ResolvedAt.IsZero() && c.ResolvedAt.After(c.SLADueAt)) {
		out.add(agg, "breached", 1)
	}
	if !c.AcknowledgedAt.IsZero() {
		d := c.AcknowledgedAt.Sub(c.CreatedAt)
		out.add(agg, "acknowledged", 1)
		out.add(agg, "ackMs", d.Milliseconds())
		out.add(agg, fmt.Sprintf("ackH#%02d", bucketOf(d)), 1)
	}
	if !c.ResolvedAt.IsZero() {
		d := c.ResolvedAt.Sub(c.CreatedAt)
		out.add(agg, "resolved", 1)
		out.add(agg, "resolveMs", d.Milliseconds())
		out.add(agg, fmt.Sprintf("resolveH#%02d", bucketOf(d)), 1)
	}
	if rootCause != "" {
		out.add(agg, "root#"+rootCause, 1)
	}
	return out
}

// NormalizeRootCause is the form root causes are counted under: trimmed,
// spaces collapsed, lower case.
func NormalizeRootCause(s string) string { return strings.ToLower(collapse(s)) }

// Targets are the data-quality targets: rates at least (completeness,
// timeliness) or at most (duplicates, invalid entries).
type Targets struct {
	Completeness float64 `json:"completenessRate"`
	Timeliness   float64 `json:"timelinessRate"`
	Duplicates   float64 `json:"duplicateRate"`
	Invalid      float64 `json:"invalidRate"`
	// Outcome targets: self-service rate at least, update cycle (median,
	// hours), suspect rate and monthly churn rate at most.
	SelfService      float64 `json:"selfServiceRate"`
	UpdateCycleHours float64 `json:"updateCycleHours"`
	Suspect          float64 `json:"suspectRate"`
	Churn            float64 `json:"churnRate"`
}

// DefaultTargets are the CRM practice targets.
var DefaultTargets = Targets{Completeness: 0.95, Timeliness: 0.98, Duplicates: 0.03, Invalid: 0.02,
	SelfService: 0.85, UpdateCycleHours: 24, Suspect: 0.02, Churn: 0.05}

// Quality is the data quality of a set of customers.
type Quality struct {
	OwnerID          string  `json:"ownerId,omitempty"`
	Customers        int64   `json:"customers"`
	CompletenessRate float64 `json:"completenessRate"`
	TimelinessRate   float64 `json:"timelinessRate"`
	DuplicateRate    float64 `json:"duplicateRate"`
	// LikelyDuplicateRate counts the customers in open likely-duplicate
	// pairs (duplicates.go), which the uniqueness claims cannot catch.
	LikelyDuplicateRate float64 `json:"likelyDuplicateRate"`
	InvalidRate         float64 `json:"invalidRate"`
	// SelfServiceRate is review links completed by the customer ÷ links
	// whose life is over (SelfServiceLinks).
	SelfServiceRate  float64         `json:"selfServiceRate"`
	SelfServiceLinks int64           `json:"selfServiceLinks"`
	UpdateCycle      CycleStats      `json:"updateCycle"`
	SuspectRate      float64         `json:"suspectRate"`
	Met              map[string]bool `json:"met"`
}

// DataQualityReport is GET /reports/data-quality.
type DataQualityReport struct {
	Quality
	Invalid InvalidBreakdown `json:"invalid"`
	Targets Targets          `json:"targets"`
	ByOwner []Quality        `json:"byOwner"`
	AsOf    time.Time        `json:"asOf"`
}

// InvalidBreakdown says what the invalid rate is made of: writes refused by
// validation in the period, and stored records today's rules refuse.
type InvalidBreakdown struct {
	PeriodDays     int   `json:"periodDays"`
	RejectedWrites int64 `json:"rejectedWrites"`
	AcceptedWrites int64 `json:"acceptedWrites"`
	StoredInvalid  int64 `json:"storedInvalid"`
}

func rate(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// quality computes the rates of one customer aggregate as of asOf: a
// customer is timely when its review falls due after asOf's day.
func quality(c Counts, asOf time.Time, t Targets, rejected, accepted int64) Quality {
	today := "due#" + asOf.UTC().Format("20060102")
	var stale int64
	for k, v := range c {
		if strings.HasPrefix(k, "due#") && k <= today {
			stale += v
		}
	}
	q := Quality{Customers: c["customers"]}
	q.CompletenessRate = rate(c["complete"], q.Customers)
	q.TimelinessRate = rate(q.Customers-stale, q.Customers)
	q.DuplicateRate = rate(c["duplicate"], q.Customers)
	q.LikelyDuplicateRate = rate(c[likelyDuplicateCount], q.Customers)
	q.InvalidRate = rate(c["invalid"]+rejected, q.Customers+rejected+accepted)
	q.Met = map[string]bool{
		"completenessRate": q.CompletenessRate >= t.Completeness,
		"timelinessRate":   q.TimelinessRate >= t.Timeliness,
		"duplicateRate":    q.DuplicateRate <= t.Duplicates,
		"invalidRate":      q.InvalidRate <= t.Invalid,
	}
	outcomeQuality(&q, c, asOf, t)
	return q
}

// ComplaintReport is GET /reports/complaints.
type ComplaintReport struct {
	From          time.Time        `json:"from"`
	To            time.Time        `json:"to"`
	Complaints    int64            `json:"complaints"`
	ByStatus      map[string]int64 `json:"byStatus"`
	ByCategory    map[string]int64 `json:"byCategory"`
	BySeverity    map[string]int64 `json:"bySeverity"`
	ByChannel     map[string]int64 `json:"byChannel"`
	SLABreachRate float64          `json:"slaBreachRate"`
	Acknowledge   DurationStats    `json:"timeToAcknowledge"`
	Resolve       DurationStats    `json:"timeToResolve"`
	Weekly        []WeekCount      `json:"weekly"`
	RootCauses    []RootCause      `json:"topRootCauses"`
	// Satisfaction covers the surveys sent in the report's weeks
	// (survey_report.go).
	Satisfaction Satisfaction `json:"satisfaction"`
}

// DurationStats summarize a duration histogram.
type DurationStats struct {
	Count       int64   `json:"count"`
	MeanSeconds float64 `json:"meanSeconds"`
	// P90Seconds is the upper bound of the histogram bucket holding the
	// 90th percentile; -1 when it lies beyond the last bound.
	P90Seconds float64 `json:"p90Seconds"`
}

// WeekCount is one ISO week of the trend.
type WeekCount struct {
	Week       string `json:"week"`
	Complaints int64  `json:"complaints"`
	Breached   int64  `json:"breached"`
	Resolved   int64  `json:"resolved"`
}

// RootCause is one of the most frequent root causes.
type RootCause struct {
	RootCause string `json:"rootCause"`
	Count     int64  `json:"count"`
}

// CustomerReport is GET /reports/customers.
type CustomerReport struct {
	Customers   int64            `json:"customers"`
	NewPerMonth map[string]int64 `json:"newPerMonth"`
	// NewPerMonthBySegment is NewPerMonth split by the customers' current
	// segment ("(none)" for none): month, then segment.
	NewPerMonthBySegment map[string]map[string]int64 `json:"newPerMonthBySegment"`
	BySegment            map[string]int64            `json:"bySegment"`
	ByOwner              map[string]int64            `json:"byOwner"`
	// Churn is growth and churn side by side for the last ChurnMonths
	// months, overall, per segment and per owner.
	Churn          []MonthChurn            `json:"churn"`
	ChurnBySegment map[string][]MonthChurn `json:"churnBySegment"`
	ChurnByOwner   map[string][]MonthChurn `json:"churnByOwner"`
	AsOf           time.Time               `json:"asOf"`
}

// AggregateStore reads aggregates and labels.
type AggregateStore interface {
	// Aggregates returns the named aggregates, summed over their shards;
	// an aggregate never written is empty.
	Aggregates(ctx context.Context, names []string) (map[string]Counts, error)
	// AggregateFamily returns every aggregate of a family (one that
	// IsAggFamily) by name, summed over their shards: each owner's, say,
	// without knowing the owners first.
	AggregateFamily(ctx context.Context, family string) (map[string]Counts, error)
	// RootCauseLabels returns the text of root-cause counters.
	RootCauseLabels(ctx context.Context, keys []string) (map[string]string, error)
	// CountWrite counts a customer write accepted or refused by validation.
	CountWrite(ctx context.Context, at time.Time, accepted bool) error
}

// Reports answers the report routes from the aggregates.
type Reports struct {
	Store   AggregateStore
	Targets Targets
	// QualityPeriod is how far back refused writes count (default 30 days).
	QualityPeriod time.Duration
	Now           func() time.Time
	// AccessLog holds the per-user access counts (GET /reports/access), and
	// AccessThreshold flags a user's day (ACCESS_ALERT_THRESHOLD).
	AccessLog       AccessStore
	AccessThreshold int64
	// SatisfactionTarget is the share of satisfied survey answers aimed
	// at (SATISFACTION_TARGET; DefaultSurveyTarget when zero).
	SatisfactionTarget float64
}

// DataQuality reports data quality against the targets, overall and per
// owner. A sales rep's report covers their own customers only.
func (r *Reports) DataQuality(ctx context.Context, actor Actor) (DataQualityReport, error) {
	asOf := r.Now().UTC().Truncate(time.Second)
	days := int(r.period() / (24 * time.Hour))
	rep := DataQualityReport{Targets: r.Targets, AsOf: asOf, ByOwner: []Quality{}}
	if actor.OwnScopeOnly() {
		// A rep's whole is their own customers; refused writes are not
		// attributed to owners, so they stay out of the rep's rate.
		name := AggOwner(actor.ID)
		own, err := r.Store.Aggregates(ctx, []string{name})
		if err != nil {
			return DataQualityReport{}, err
		}
		q := quality(own[name], asOf, r.Targets, 0, 0)
		q.OwnerID = actor.ID
		rep.ByOwner = append(rep.ByOwner, q)
		rep.Quality = quality(own[name], asOf, r.Targets, 0, 0)
		rep.Invalid = InvalidBreakdown{PeriodDays: days, StoredInvalid: own[name]["invalid"]}
		return rep, nil
	}
	// The overall aggregates and every owner's, in one round.
	var all, byOwner map[string]Counts
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		all, err = r.Store.Aggregates(gctx, []string{AggCustomers, AggWrites})
		return err
	})
	g.Go(func() (err error) {
		byOwner, err = r.Store.AggregateFamily(gctx, AggOwnerFamily)
		return err
	})
	if err := g.Wait(); err != nil {
		return DataQualityReport{}, err
	}
	var rejected, accepted int64
	for d := range days {
		day := asOf.AddDate(0, 0, -d).Format("20060102")
		rejected += all[AggWrites]["rejected#"+day]
		accepted += all[AggWrites]["accepted#"+day]
	}
	// The owners are those with customers now; an owner whose customers
	// all moved away keeps an aggregate of zeros, and no row.
	var owners []string
	for k, v := range all[AggCustomers] {
		if o, ok := strings.CutPrefix(k, "owner#"); ok && v > 0 {
			owners = append(owners, o)
		}
	}
	slices.Sort(owners)
	for _, o := range owners {
		q := quality(byOwner[AggOwner(o)], asOf, r.Targets, 0, 0)
		q.OwnerID = o
		rep.ByOwner = append(rep.ByOwner, q)
	}
	rep.Quality = quality(all[AggCustomers], asOf, r.Targets, rejected, accepted)
	rep.Invalid = InvalidBreakdown{PeriodDays: days, RejectedWrites: rejected, AcceptedWrites: accepted, StoredInvalid: all[AggCustomers]["invalid"]}
	return rep, nil
}

func (r *Reports) period() time.Duration {
	if r.QualityPeriod <= 0 {
		return 30 * 24 * time.Hour
	}
	return r.QualityPeriod
}

// maxReportWeeks bounds a complaint report's range, and with it its cost.
const maxReportWeeks = 106

// Complaints reports on complaints filed from from to to, by ISO week: the
// weeks holding from and to are counted whole.
func (r *Reports) Complaints(ctx context.Context, from, to time.Time) (ComplaintReport, error) {
	now := r.Now().UTC()
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -7*12)
	}
	var v Invalid
	if to.Before(from) {
		v.Add("to", "before_from", "must not be before from")
	} else if to.Sub(from) > maxReportWeeks*7*24*time.Hour {
		v.Add("to", "range", fmt.Sprintf("the range may span at most %d weeks", maxReportWeeks))
	}
	if err := v.Err(); err != nil {
		return ComplaintReport{}, err
	}
	var weeks []string
	for t := from.UTC(); ; t = t.AddDate(0, 0, 7) {
		w := isoWeek(t)
		if len(weeks) == 0 || weeks[len(weeks)-1] != w {
			weeks = append(weeks, w)
		}
		if t.After(to) || w == isoWeek(to) {
			break
		}
	}
	if last := isoWeek(to); weeks[len(weeks)-1] != last {
		weeks = append(weeks, last)
	}
	names := make([]string, len(weeks))
	for i, w := range weeks {
		names[i] = aggComplaintPrefix + w
	}
	aggs, err := r.Store.Aggregates(ctx, names)
	if err != nil {
		return ComplaintReport{}, err
	}
	rep := ComplaintReport{From: from.UTC(), To: to.UTC(), ByStatus: map[string]int64{}, ByCategory: map[string]int64{},
		BySeverity: map[string]int64{}, ByChannel: map[string]int64{}, Weekly: []WeekCount{}, RootCauses: []RootCause{}}
	total := Counts{}
	for i, name := range names {
		c := aggs[name]
		rep.Weekly = append(rep.Weekly, WeekCount{Week: weeks[i], Complaints: c["complaints"], Breached: c["breached"], Resolved: c["resolved"]})
		for k, v := range c {
			total[k] += v
		}
	}
	roots := map[string]int64{}
	spread(total, map[string]map[string]int64{"status": rep.ByStatus, "category": rep.ByCategory,
		"severity": rep.BySeverity, "channel": rep.ByChannel, "root": roots})
	rep.Complaints = total["complaints"]
	rep.SLABreachRate = rate(total["breached"], total["complaints"])
	rep.Acknowledge = durationStats(total, "acknowledged", "ackMs", "ackH#")
	rep.Resolve = durationStats(total, "resolved", "resolveMs", "resolveH#")
	keys := make([]string, 0, len(roots))
	for k := range roots {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if roots[a] != roots[b] {
			return int(roots[b] - roots[a])
		}
		return strings.Compare(a, b)
	})
	keys = keys[:min(len(keys), 10)]
	labels, err := r.Store.RootCauseLabels(ctx, keys)
	if err != nil {
		return ComplaintReport{}, err
	}
	for _, k := range keys {
		rep.RootCauses = append(rep.RootCauses, RootCause{RootCause: labels[k], Count: roots[k]})
	}
	if rep.Satisfaction, err = r.satisfaction(ctx, weeks); err != nil {
		return ComplaintReport{}, err
	}
	return rep, nil
}

func durationStats(c Counts, countKey, sumKey, histPrefix string) DurationStats {
	s := DurationStats{Count: c[countKey], P90Seconds: 0}
	if s.Count == 0 {
		return s
	}
	s.MeanSeconds = float64(c[sumKey]) / 1000 / float64(s.Count)
	target := (s.Count*9 + 9) / 10 // the rank of the 90th percentile
	var seen int64
	for i := 0; i <= len(DurationBuckets); i++ {
		seen += c[fmt.Sprintf("%s%02d", histPrefix, i)]
		if seen >= target {
			if i == len(DurationBuckets) {
				s.P90Seconds = -1
			} else {
				s.P90Seconds = DurationBuckets[i].Seconds()
			}
			break
		}
	}
	return s
}

// Customers reports customer growth: admins and auditors only, by route.
func (r *Reports) Customers(ctx context.Context) (CustomerReport, error) {
	aggs, err := r.Store.Aggregates(ctx, []string{AggCustomers})
	if err != nil {
		return CustomerReport{}, err
	}
	c := aggs[AggCustomers]
	rep := CustomerReport{Customers: c["customers"], NewPerMonth: map[string]int64{}, BySegment: map[string]int64{},
		ByOwner: map[string]int64{}, AsOf: r.Now().UTC().Truncate(time.Second)}
	spread(c, map[string]map[string]int64{"new": rep.NewPerMonth, "segment": rep.BySegment, "owner": rep.ByOwner})
	rep.NewPerMonthBySegment = newBySegment(c)
	if err := r.churn(ctx, &rep, c); err != nil {
		return CustomerReport{}, err
	}
	return rep, nil
}

// spread puts each non-zero counter named "<prefix>#<key>" into
// into[prefix][key]; counters of other prefixes are left out.
func spread(c Counts, into map[string]map[string]int64) {
	for k, v := range c {
		prefix, rest, ok := strings.Cut(k, "#")
		if m := into[prefix]; ok && v != 0 && m != nil {
			m[rest] = v
		}
	}
}

// newSegmentPrefix begins the counters of new customers per month and
// segment: "newseg#<YYYY-MM>#<segment>".
const newSegmentPrefix = "newseg#"

// newBySegment returns the non-zero "newseg#" counters of c as month, then
// segment. The month has a fixed width without "#", so a segment that
// contains "#" is still read whole.
func newBySegment(c Counts) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for k, v := range c {
		rest, ok := strings.CutPrefix(k, newSegmentPrefix)
		if !ok || v == 0 {
			continue
		}
		month, segment, ok := strings.Cut(rest, "#")
		if !ok {
			continue
		}
		if out[month] == nil {
			out[month] = map[string]int64{}
		}
		out[month][segment] = v
	}
	return out
}
