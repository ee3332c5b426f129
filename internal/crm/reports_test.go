package crm_test

import (
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestDataQualityFromAggregates checks the rates and the targets against
// aggregate counts as the stream consumer would have left them.
func TestDataQualityFromAggregates(t *testing.T) {
	future := "due#" + start.AddDate(1, 0, 0).Format("20060102")
	past := "due#" + start.AddDate(0, 0, -1).Format("20060102")
	today := "due#" + start.Format("20060102")
	for _, tt := range []struct {
		name   string
		counts crm.Counts
		writes crm.Counts
		want   crm.Quality
	}{
		{"TargetsMetAtTheirBounds", crm.Counts{"customers": 100, "complete": 95, "duplicate": 3, "invalid": 0, future: 98, today: 0, past: 2},
			crm.Counts{"rejected#" + start.Format("20060102"): 2, "accepted#" + start.Format("20060102"): 0},
			crm.Quality{Customers: 100, CompletenessRate: 0.95, TimelinessRate: 0.98, DuplicateRate: 0.03, InvalidRate: 2.0 / 102,
				Met: map[string]bool{"completenessRate": true, "timelinessRate": true, "duplicateRate": true, "invalidRate": true, "selfServiceRate": true, "updateCycle": true, "suspectRate": true}}},
		{"TargetsMissedJustPast", crm.Counts{"customers": 100, "complete": 94, "duplicate": 4, "invalid": 3, future: 97, today: 3},
			nil,
			crm.Quality{Customers: 100, CompletenessRate: 0.94, TimelinessRate: 0.97, DuplicateRate: 0.04, InvalidRate: 0.03,
				Met: map[string]bool{"completenessRate": false, "timelinessRate": false, "duplicateRate": false, "invalidRate": false, "selfServiceRate": true, "updateCycle": true, "suspectRate": true}}},
		{"RejectedWritesOutsidePeriodIgnored", crm.Counts{"customers": 10, "complete": 10, future: 10},
			crm.Counts{"rejected#" + start.AddDate(0, 0, -30).Format("20060102"): 5, "rejected#" + start.AddDate(0, 0, -29).Format("20060102"): 1},
			crm.Quality{Customers: 10, CompletenessRate: 1, TimelinessRate: 1, DuplicateRate: 0, InvalidRate: 1.0 / 11,
				Met: map[string]bool{"completenessRate": true, "timelinessRate": true, "duplicateRate": true, "invalidRate": false, "selfServiceRate": true, "updateCycle": true, "suspectRate": true}}},
		{"EmptyIsZero", crm.Counts{}, nil,
			crm.Quality{Met: map[string]bool{"completenessRate": false, "timelinessRate": false, "duplicateRate": true, "invalidRate": true, "selfServiceRate": true, "updateCycle": true, "suspectRate": true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.store.Aggregates.AddCounts(crm.AggCustomers, tt.counts)
			w.store.Aggregates.AddCounts(crm.AggWrites, tt.writes)
			rep, err := w.reports.DataQuality(ctx, admin)
			if err != nil {
				t.Fatal(err)
			}
			q := rep.Quality
			if q.Customers != tt.want.Customers || !near(q.CompletenessRate, tt.want.CompletenessRate) || !near(q.TimelinessRate, tt.want.TimelinessRate) ||
				!near(q.DuplicateRate, tt.want.DuplicateRate) || !near(q.InvalidRate, tt.want.InvalidRate) || !maps.Equal(q.Met, tt.want.Met) {
				t.Errorf("quality %+v, want %+v", q, tt.want)
			}
			if rep.Targets != crm.DefaultTargets || rep.Invalid.PeriodDays != 30 {
				t.Errorf("targets %+v, period %d", rep.Targets, rep.Invalid.PeriodDays)
			}
		})
	}
}

// TestDataQualityFromCustomers runs the report over stored customers: the
// contributions the fakes sum are the domain's own.
func TestDataQualityFromCustomers(t *testing.T) {
	w := newWorld(t)
	addr := &crm.Address{Line1: "1 Main St", Country: "CN"}
	w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Email: "a@x.cn", Address: addr})
	w.customer(t, rep1, crm.CustomerInput{Name: "B", Phone: phoneB})
	w.customer(t, admin, crm.CustomerInput{Name: "C", Phone: phoneC, Email: "c@x.cn", Address: addr, OwnerID: "rep2"})
	if _, err := w.customers.Create(ctx, admin, crm.CustomerInput{Name: "D", Phone: phoneC, OwnerID: "rep2"}, true); err != nil {
		t.Fatal(err)
	}
	_, _ = w.customers.Create(ctx, rep1, crm.CustomerInput{Name: "E", Email: "not-an-email"}, false)
	t.Run("Overall", func(t *testing.T) {
		rep, err := w.reports.DataQuality(ctx, auditor)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Customers != 4 || !near(rep.CompletenessRate, 0.5) || !near(rep.DuplicateRate, 0.25) || !near(rep.TimelinessRate, 1) ||
			rep.Invalid.RejectedWrites != 1 || rep.Invalid.AcceptedWrites != 4 || !near(rep.InvalidRate, 1.0/9) {
			t.Errorf("report %+v", rep)
		}
		var owners []string
		for _, q := range rep.ByOwner {
			owners = append(owners, q.OwnerID)
			if q.Customers != 2 {
				t.Errorf("owner %s has %d customers, want 2", q.OwnerID, q.Customers)
			}
		}
		if !slices.Equal(owners, []string{"rep1", "rep2"}) {
			t.Errorf("owners %v", owners)
		}
	})
	t.Run("SalesOwnScope", func(t *testing.T) {
		rep, err := w.reports.DataQuality(ctx, rep2)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Customers != 2 || !near(rep.DuplicateRate, 0.5) || !near(rep.CompletenessRate, 0.5) || len(rep.ByOwner) != 1 || rep.ByOwner[0].OwnerID != "rep2" ||
			rep.Invalid.RejectedWrites != 0 || rep.Met["duplicateRate"] {
			t.Errorf("rep2's report %+v", rep)
		}
	})
	t.Run("StaleAfterReviewPeriod", func(t *testing.T) {
		w.clock.Advance(181 * 24 * time.Hour)
		rep, _ := w.reports.DataQuality(ctx, admin)
		if rep.TimelinessRate != 0 || rep.Met["timelinessRate"] || rep.Invalid.RejectedWrites != 0 {
			t.Errorf("after the review period: timeliness %v, rejected %d", rep.TimelinessRate, rep.Invalid.RejectedWrites)
		}
	})
	t.Run("StoredInvalid", func(t *testing.T) {
		bad := crm.Customer{ID: "c_legacy", Name: "Legacy", Email: "legacy@", OwnerID: "rep1", CreatedAt: start, UpdatedAt: start, ReviewDueAt: start.AddDate(2, 0, 0), Version: 1}
		if err := w.store.Customers.CreateCustomer(ctx, bad, false, crm.NewAudit(ctx, admin, "seed", "customer", bad.ID)); err != nil {
			t.Fatal(err)
		}
		rep, _ := w.reports.DataQuality(ctx, admin)
		if rep.Invalid.StoredInvalid != 1 {
			t.Errorf("stored invalid %d, want 1", rep.Invalid.StoredInvalid)
		}
	})
}

func TestComplaintReport(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	resolve := func(k crm.Complaint, root string) {
		for _, in := range []crm.TransitionInput{{To: crm.ActionInProgress}, {To: crm.ActionResolve, Resolution: &crm.Resolution{Summary: "s", RootCause: root, Remedy: "m"}}} {
			if _, err := w.complaints.Transition(ctx, agent, k.ID, nil, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	k1 := w.complaint(t, rep1, c.ID, crm.SeverityCritical)
	k2 := w.complaint(t, rep1, c.ID, crm.SeverityHigh)
	k3 := w.complaint(t, rep1, c.ID, crm.SeverityHigh)
	w.complaint(t, rep1, c.ID, crm.SeverityLow)
	w.clock.Advance(3 * time.Hour) // k1 resolved past its 2h target, k2 and k3 inside 8h
	resolve(k1, "Billing bug")
	resolve(k2, "  billing   BUG ")
	resolve(k3, "Courier delay")
	w.clock.Advance(7 * 24 * time.Hour)
	k5 := w.complaint(t, rep1, c.ID, crm.SeverityMedium)
	_ = k5
	rep, err := w.reports.Complaints(ctx, start.Add(-time.Hour), w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Counts", func(t *testing.T) {
		if rep.Complaints != 5 || rep.ByStatus[crm.StatusResolved] != 3 || rep.ByStatus[crm.StatusAcknowledged] != 2 ||
			rep.BySeverity[crm.SeverityHigh] != 2 || rep.ByCategory["billing"] != 5 || rep.ByChannel["phone"] != 5 {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("BreachRate", func(t *testing.T) {
		if !near(rep.SLABreachRate, 0.2) {
			t.Errorf("breach rate %v, want 1 of 5", rep.SLABreachRate)
		}
	})
	t.Run("Durations", func(t *testing.T) {
		if rep.Acknowledge.Count != 5 || rep.Acknowledge.MeanSeconds != 0 || rep.Acknowledge.P90Seconds != 60 {
			t.Errorf("acknowledge %+v: intake acknowledges at once", rep.Acknowledge)
		}
		if rep.Resolve.Count != 3 || !near(rep.Resolve.MeanSeconds, 3*3600) || rep.Resolve.P90Seconds != 4*3600 {
			t.Errorf("resolve %+v", rep.Resolve)
		}
	})
	t.Run("Weekly", func(t *testing.T) {
		if len(rep.Weekly) != 2 || rep.Weekly[0].Complaints != 4 || rep.Weekly[0].Resolved != 3 || rep.Weekly[0].Breached != 1 || rep.Weekly[1].Complaints != 1 {
			t.Errorf("weekly %+v", rep.Weekly)
		}
	})
	t.Run("RootCausesNormalizedAndRanked", func(t *testing.T) {
		want := []crm.RootCause{{RootCause: "Billing bug", Count: 2}, {RootCause: "Courier delay", Count: 1}}
		if !slices.Equal(rep.RootCauses, want) {
			t.Errorf("root causes %+v, want %+v", rep.RootCauses, want)
		}
	})
	t.Run("ErrToBeforeFrom", func(t *testing.T) {
		_, err := w.reports.Complaints(ctx, start, start.Add(-time.Second))
		wantFields(t, err, crm.EINVALID, "to")
	})
	t.Run("ErrRangeTooLong", func(t *testing.T) {
		_, err := w.reports.Complaints(ctx, start, start.Add(107*7*24*time.Hour))
		wantFields(t, err, crm.EINVALID, "to")
	})
	t.Run("DefaultsToTwelveWeeks", func(t *testing.T) {
		rep, err := w.reports.Complaints(ctx, time.Time{}, time.Time{})
		if err != nil || !rep.To.Equal(w.clock.Now()) || !rep.From.Equal(w.clock.Now().AddDate(0, 0, -84)) || rep.Complaints != 5 {
			t.Errorf("default range %v–%v, %d complaints, %v", rep.From, rep.To, rep.Complaints, err)
		}
	})
}

func TestCustomerReport(t *testing.T) {
	w := newWorld(t)
	w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Segment: "vip"})
	b := w.customer(t, rep1, crm.CustomerInput{Name: "B", Phone: phoneB})
	w.clock.Set(start.AddDate(0, 1, 0))
	c := w.customer(t, rep2, crm.CustomerInput{Name: "C", Phone: phoneC, Segment: "vip"})
	if err := w.customers.Erase(ctx, admin, c.ID); err != nil {
		t.Fatal(err)
	}
	w.customer(t, rep2, crm.CustomerInput{Name: "D", Email: "d@x.cn"})
	rep, err := w.reports.Customers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Customers != 3 || !maps.Equal(rep.NewPerMonth, map[string]int64{"2026-03": 2, "2026-04": 1}) ||
		!maps.Equal(rep.BySegment, map[string]int64{"vip": 1, "(none)": 2}) || !maps.Equal(rep.ByOwner, map[string]int64{"rep1": 2, "rep2": 1}) {
		t.Errorf("report %+v: erased customers count nowhere", rep)
	}
	want := map[string]map[string]int64{"2026-03": {"vip": 1, "(none)": 1}, "2026-04": {"(none)": 1}}
	if !maps.EqualFunc(rep.NewPerMonthBySegment, want, maps.Equal) {
		t.Errorf("new per month and segment %v, want %v", rep.NewPerMonthBySegment, want)
	}

	// A segment change a month later moves the customer within the month
	// it was created: the report counts current segments.
	w.clock.Set(start.AddDate(0, 2, 0))
	if _, err := w.customers.Update(ctx, admin, b.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
		in.Segment = "retail"
		return in, nil
	}); err != nil {
		t.Fatal(err)
	}
	if rep, err = w.reports.Customers(ctx); err != nil {
		t.Fatal(err)
	}
	want = map[string]map[string]int64{"2026-03": {"vip": 1, "retail": 1}, "2026-04": {"(none)": 1}}
	if !maps.EqualFunc(rep.NewPerMonthBySegment, want, maps.Equal) || !maps.Equal(rep.NewPerMonth, map[string]int64{"2026-03": 2, "2026-04": 1}) {
		t.Errorf("after a segment change: per month %v, per month and segment %v, want %v", rep.NewPerMonth, rep.NewPerMonthBySegment, want)
	}
}

// TestComplaintReportWeeksAcrossYearEnd: 2026 has 53 ISO weeks.
func TestComplaintReportWeeksAcrossYearEnd(t *testing.T) {
	w := newWorld(t)
	from := time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC) // a Sunday, W51
	to := time.Date(2027, 1, 11, 12, 0, 0, 0, time.UTC)    // a Monday, 2027-W02
	rep, err := w.reports.Complaints(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var weeks []string
	for _, wk := range rep.Weekly {
		weeks = append(weeks, wk.Week)
	}
	if want := []string{"2026-W51", "2026-W52", "2026-W53", "2027-W01", "2027-W02"}; !slices.Equal(weeks, want) {
		t.Errorf("weeks %v, want %v", weeks, want)
	}
}

// TestComplaintReportPercentiles: a percentile is the upper bound of the
// bucket it falls in, -1 beyond the last.
func TestComplaintReportPercentiles(t *testing.T) {
	for _, tt := range []struct {
		name  string
		hist  crm.Counts
		wantS float64
	}{
		{"NinetiethInFirstBucket", crm.Counts{"resolveH#00": 9, "resolveH#05": 1}, 60},
		{"NinetiethInLaterBucket", crm.Counts{"resolveH#00": 8, "resolveH#05": 2}, 7200},
		{"BeyondTheLastBound", crm.Counts{"resolveH#16": 10}, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			counts := crm.Counts{"complaints": 10, "resolved": 10, "resolveMs": 10 * 1000}
			maps.Copy(counts, tt.hist)
			w.store.Aggregates.AddCounts(crm.AggComplaintWeek(start), counts)
			rep, err := w.reports.Complaints(ctx, start, start)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Resolve.P90Seconds != tt.wantS || rep.Resolve.Count != 10 || rep.Resolve.MeanSeconds != 1 {
				t.Errorf("resolve %+v, want p90 %v", rep.Resolve, tt.wantS)
			}
		})
	}
}
