package crm_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/disposable"
)

// sums is an aggregate store that holds what it is given.
type sums map[string]crm.Counts

func (s sums) Aggregates(_ context.Context, names []string) (map[string]crm.Counts, error) {
	out := map[string]crm.Counts{}
	for _, n := range names {
		out[n] = s[n]
	}
	return out, nil
}
func (s sums) AggregateFamily(_ context.Context, family string) (map[string]crm.Counts, error) {
	out := map[string]crm.Counts{}
	for n, c := range s {
		if strings.HasPrefix(n, family) {
			out[n] = c
		}
	}
	return out, nil
}
func (sums) RootCauseLabels(context.Context, []string) (map[string]string, error) { return nil, nil }
func (sums) CountWrite(context.Context, time.Time, bool) error                    { return nil }

func (s sums) add(c crm.Contribution) {
	for agg, counts := range c {
		if s[agg] == nil {
			s[agg] = crm.Counts{}
		}
		for k, v := range counts {
			s[agg][k] += v
		}
	}
}

// TestOutcomeQuality checks the self-service rate, the update cycle and
// the suspect rate against the links, cycles and flags they count.
func TestOutcomeQuality(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	s := sums{}
	// 17 links completed, 3 expired unused, 2 still open, 5 revoked unused.
	for i := range 27 {
		l := crm.LinkState{OwnerID: "alice", ValidUntil: now.AddDate(0, 0, -3)}
		switch {
		case i < 17:
			l.Used = true
		case i < 20:
		case i < 22:
			l.ValidUntil = now.AddDate(0, 0, 2)
		default:
			l.Revoked = true
		}
		s.add(crm.LinkContribution(l))
	}
	// Cycles: 6 within 2 h, 3 of 30 h, 1 of 200 days.
	a := crm.Activity{CustomerID: "c1", OwnerID: "alice"}
	for range 6 {
		a.AddCycle(90 * time.Minute)
	}
	for range 3 {
		a.AddCycle(30 * time.Hour)
	}
	a.AddCycle(200 * 24 * time.Hour)
	s.add(crm.ActivityContribution(a))
	s.add(crm.Contribution{crm.AggCustomers: {"customers": 50, "suspect": 2, "owner#alice": 50}, crm.AggOwner("alice"): {"customers": 50, "suspect": 2}})

	r := &crm.Reports{Store: s, Targets: crm.DefaultTargets, Now: func() time.Time { return now }}
	rep, err := r.DataQuality(context.Background(), crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []crm.Quality{rep.Quality, rep.ByOwner[0]} {
		if !near(q.SelfServiceRate, 0.85) || q.SelfServiceLinks != 20 || !q.Met["selfServiceRate"] {
			t.Errorf("self-service: %v of %d, met %v; want 0.85 of 20, met", q.SelfServiceRate, q.SelfServiceLinks, q.Met["selfServiceRate"])
		}
		if q.UpdateCycle != (crm.CycleStats{Count: 10, MedianHours: 2, P90Hours: 36}) || !q.Met["updateCycle"] {
			t.Errorf("update cycle: %+v, met %v", q.UpdateCycle, q.Met["updateCycle"])
		}
		if !near(q.SuspectRate, 0.04) || q.Met["suspectRate"] {
			t.Errorf("suspect: %v, met %v; want 0.04, missed", q.SuspectRate, q.Met["suspectRate"])
		}
	}
	if rep.Targets.SelfService != 0.85 || rep.Targets.UpdateCycleHours != 24 {
		t.Errorf("targets: %+v", rep.Targets)
	}
}

func TestSuspectReasons(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    crm.Customer
		want []string
	}{
		{"Clean", crm.Customer{Name: "Li Wei", Phone: "+8613912340567", Email: "li.wei@corp.cn", Address: &crm.Address{Line1: "1 Road", City: "Shanghai"}}, nil},
		{"SamplePhone", crm.Customer{Name: "Li Wei", Phone: "+8613800138000"}, []string{crm.SuspectSamplePhone}},
		{"SequentialPhone", crm.Customer{Name: "Li Wei", Phone: "+8613123456789"}, []string{crm.SuspectSamplePhone}},
		{"RepeatedPhone", crm.Customer{Name: "Li Wei", Phone: "+8613999999999"}, []string{crm.SuspectRepeatedPhone}},
		{"TestEmail", crm.Customer{Name: "Li Wei", Email: "test@corp.cn"}, []string{crm.SuspectPlaceholderEmail}},
		{"NoReply", crm.Customer{Name: "Li Wei", Email: "noreply@corp.cn"}, []string{crm.SuspectPlaceholderEmail}},
		{"ReservedDomain", crm.Customer{Name: "Li Wei", Email: "li@example.com"}, []string{crm.SuspectPlaceholderEmail}},
		{"Disposable", crm.Customer{Name: "Li Wei", Email: "li@mailinator.com"}, []string{crm.SuspectDisposableEmail}},
		{"DisposableSubdomain", crm.Customer{Name: "Li Wei", Email: "li@x.33mail.com"}, []string{crm.SuspectDisposableEmail}},
		{"NameTest", crm.Customer{Name: " TEST ", Email: "li@corp.cn"}, []string{crm.SuspectPlaceholderName}},
		{"NameCustomerZh", crm.Customer{Name: "客户", Email: "li@corp.cn"}, []string{crm.SuspectPlaceholderName}},
		{"NameRepeated", crm.Customer{Name: "aaaa", Email: "li@corp.cn"}, []string{crm.SuspectPlaceholderName}},
		{"CityOnly", crm.Customer{Name: "Li Wei", Email: "li@corp.cn", Address: &crm.Address{City: "Shanghai", Country: "CN"}}, []string{crm.SuspectCityOnlyAddress}},
		{"Several", crm.Customer{Name: "test", Email: "test@corp.cn", Phone: "+8613800138000"},
			[]string{crm.SuspectSamplePhone, crm.SuspectPlaceholderEmail, crm.SuspectPlaceholderName}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := (crm.Policy{DisposableDomain: disposable.Listed}).SuspectReasons(tt.c); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestActivityLifecycle follows one customer through activity, dormancy,
// reactivation, a lost mark and its reversal.
func TestActivityLifecycle(t *testing.T) {
	d := 180 * 24 * time.Hour
	t0 := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	c := crm.Customer{ID: "c1", OwnerID: "alice", CreatedAt: t0, UpdatedAt: t0, ReviewDueAt: t0.Add(d), Version: 1}
	var a crm.Activity
	if !a.ApplyCustomer(nil, c, d) || a.ApplyCustomer(nil, c, d) {
		t.Fatal("a creation applies once")
	}
	a.Touch(t0.AddDate(0, 1, 0), d)                           // extends
	if a.Touch(t0.AddDate(0, 1, 0), d) || len(a.Spans) != 1 { // again: nothing
		t.Fatalf("spans %+v", a.Spans)
	}
	back := t0.AddDate(0, 9, 0) // dormant since 2025-08-09
	a.Touch(back, d)
	if len(a.Spans) != 2 || !a.Spans[0].DormantAt.Equal(t0.AddDate(0, 1, 0).Add(d)) {
		t.Fatalf("reactivation: %+v", a.Spans)
	}
	lostAt := back.AddDate(0, 1, 0)
	v2 := c
	v2.Version, v2.Lost = 2, &crm.Lost{Reason: "price", At: lostAt}
	a.ApplyCustomer(&c, v2, d)
	if a.Touch(lostAt.AddDate(0, 0, 1), d) || a.Spans[1].LostReason != "price" {
		t.Fatalf("a lost customer stays lost on mere activity: %+v", a.Spans)
	}
	v3 := v2
	v3.Version, v3.Lost, v3.VerifiedAt = 3, nil, lostAt.AddDate(0, 0, 2)
	a.ApplyCustomer(&v2, v3, d)
	if len(a.Spans) != 3 {
		t.Fatalf("a verification brings a lost customer back: %+v", a.Spans)
	}
	// The review fell due at t0+d; the verification came after: one cycle.
	if n := a.Cycles; len(n) != 1 {
		t.Errorf("cycles %v", n)
	}
	got := crm.ActivityContribution(a)[crm.AggChurn]
	want := crm.Counts{"start#2025-01": 1, "start#2025-10": 1, "start#2025-11": 1, "react#2025-10": 1, "react#2025-11": 1,
		"dorm#" + t0.AddDate(0, 1, 0).Add(d).Format("20060102"): 1, "lost#" + lostAt.Format("20060102") + "#price": 1,
		"dorm#" + v3.VerifiedAt.Add(d).Format("20060102"): 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("contribution\n got %v\nwant %v", got, want)
	}
}

// churnEvent is one thing that happens to a customer in the year test.
type churnEvent struct {
	at   time.Time
	id   int
	kind string // "create", "touch", "verify", "lost"
}

// TestChurnYear moves the clock through a year of generated activity for
// 1 000 customers and checks each month's churn figures, read from the
// aggregates as of the month's end, against a direct computation from the
// events.
func TestChurnYear(t *testing.T) {
	d := crm.DefaultDormantAfter
	rng := rand.New(rand.NewPCG(3, 5))
	begin := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := begin.AddDate(1, 0, 0)
	const customers = 1000
	var events []churnEvent
	for id := range customers {
		// Created up to a year before the test's year or during its first half.
		created := begin.Add(-365*24*time.Hour + time.Duration(rng.Int64N(int64(545*24*time.Hour))))
		events = append(events, churnEvent{created, id, "create"})
		rate := []float64{1.0 / 20, 1.0 / 90, 1.0 / 400}[rng.IntN(3)] // busy, quiet and fading customers
		for day := created.Add(time.Duration(rng.Int64N(int64(24 * time.Hour)))); day.Before(end); day = day.Add(24 * time.Hour) {
			if day.Equal(created) {
				continue
			}
			switch x := rng.Float64(); {
			case x < rate:
				events = append(events, churnEvent{day, id, "touch"})
			case x < rate+rate/4:
				events = append(events, churnEvent{day, id, "verify"})
			case x < rate+rate/4+1.0/700:
				events = append(events, churnEvent{day, id, "lost"})
			}
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })

	reasons := crm.DefaultLostReasons
	acts := make([]crm.Activity, customers)
	recs := make([]crm.Customer, customers)
	apply := func(e churnEvent) {
		a, c := &acts[e.id], recs[e.id]
		switch e.kind {
		case "create":
			recs[e.id] = crm.Customer{ID: fmt.Sprintf("c%d", e.id), OwnerID: []string{"alice", "bob"}[e.id%2], Segment: []string{"", "vip", "retail"}[e.id%3],
				CreatedAt: e.at, UpdatedAt: e.at, ReviewDueAt: e.at.Add(d), Version: 1}
			a.ApplyCustomer(nil, recs[e.id], d)
		case "touch":
			a.Touch(e.at, d)
		case "verify":
			next := c
			next.Version++
			next.VerifiedAt, next.Lost, next.ReviewDueAt = e.at, nil, e.at.Add(d)
			a.ApplyCustomer(&c, next, d)
			recs[e.id] = next
		case "lost":
			next := c
			next.Version++
			next.Lost = &crm.Lost{Reason: reasons[e.id%len(reasons)], At: e.at}
			a.ApplyCustomer(&c, next, d)
			recs[e.id] = next
		}
	}

	next := 0
	for m := begin; m.Before(end); m = m.AddDate(0, 1, 0) {
		asOf := m.AddDate(0, 1, 0).Add(-time.Millisecond) // the month's last instant
		for next < len(events) && !events[next].at.After(asOf) {
			apply(events[next])
			next++
		}
		s := sums{}
		growth := crm.Contribution{}
		for i := range acts {
			s.add(crm.ActivityContribution(acts[i]))
			growth.Add(crm.Contribution{crm.AggCustomers: {"customers": 1, "new#" + recs[i].CreatedAt.Format("2006-01"): 1,
				"owner#" + recs[i].OwnerID: 1, "segment#" + segmentOr(recs[i].Segment): 1}})
		}
		s.add(growth)
		r := &crm.Reports{Store: s, Targets: crm.DefaultTargets, Now: func() time.Time { return asOf }}
		rep, err := r.Customers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := rep.Churn[len(rep.Churn)-1]
		want := directChurn(events[:next], m, asOf, d, func(int) bool { return true })
		want.New = rep.NewPerMonth[m.Format("2006-01")]
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s\n got %+v\nwant %+v", m.Format("2006-01"), got, want)
		}
		if got.Active < 100 || (m.After(begin.AddDate(0, 7, 0)) && got.NewlyDormant == 0) {
			t.Errorf("%s: the workload does not exercise churn: %+v", m.Format("2006-01"), got)
		}
		vip := rep.ChurnBySegment["vip"][len(rep.ChurnBySegment["vip"])-1]
		wantVIP := directChurn(events[:next], m, asOf, d, func(id int) bool { return id%3 == 1 })
		if fmt.Sprint(vip) != fmt.Sprint(wantVIP) {
			t.Errorf("%s vip\n got %+v\nwant %+v", m.Format("2006-01"), vip, wantVIP)
		}
		bob := rep.ChurnByOwner["bob"][len(rep.ChurnByOwner["bob"])-1]
		if wantBob := directChurn(events[:next], m, asOf, d, func(id int) bool { return id%2 == 1 }); fmt.Sprint(bob) != fmt.Sprint(wantBob) {
			t.Errorf("%s bob\n got %+v\nwant %+v", m.Format("2006-01"), bob, wantBob)
		}
	}
}

func segmentOr(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// directChurn computes one month's churn figures from the events by
// following each customer through time: active while its last activity is
// within d and it is not lost; a lost customer comes back only by a
// verification; a dormant one by any activity.
func directChurn(events []churnEvent, month, asOf time.Time, d time.Duration, counted func(int) bool) crm.MonthChurn {
	monthEnd := month.AddDate(0, 1, 0)
	out := crm.MonthChurn{Month: month.Format("2006-01"), LostByReason: map[string]int64{}}
	type state struct {
		created, last time.Time
		lost          bool
		activeAtStart bool
		seen          bool
	}
	st := map[int]*state{}
	inMonth := func(t time.Time) bool { return !t.Before(month) && t.Before(monthEnd) }
	// dormantBy reports whether the customer went dormant before t, and
	// counts the dormancy if it falls in the month and its day has come.
	settle := func(s *state, t time.Time) {
		if s.lost || t.Before(s.last.Add(d)) {
			return
		}
		at := s.last.Add(d)
		if inMonth(at) && at.Format("20060102") <= asOf.Format("20060102") {
			out.NewlyDormant++
		}
		s.lost = false
		s.last = time.Time{} // dormant
	}
	dormant := func(s *state) bool { return s.last.IsZero() }
	snapshot := func(s *state) {
		if s.seen || dormant(s) || s.lost {
			return
		}
		s.activeAtStart = true
	}
	for _, e := range events {
		if !counted(e.id) {
			continue
		}
		s := st[e.id]
		if e.kind == "create" {
			s = &state{created: e.at, last: e.at}
			st[e.id] = s
			if !e.at.Before(month) {
				s.seen = true // created in the month: not active at its start
			}
			continue
		}
		if !s.seen && !e.at.Before(month) {
			settle(s, month)
			snapshot(s)
			s.seen = true
		}
		settle(s, e.at)
		switch {
		case e.kind == "lost" && !s.lost && !dormant(s):
			s.lost = true
			if inMonth(e.at) {
				out.Lost++
				out.LostByReason[crm.DefaultLostReasons[e.id%len(crm.DefaultLostReasons)]]++
			}
		case e.kind == "verify" && (s.lost || dormant(s)), e.kind == "touch" && dormant(s) && !s.lost:
			s.lost, s.last = false, e.at
			if inMonth(e.at) {
				out.Reactivated++
			}
		case e.kind == "verify" || (e.kind == "touch" && !s.lost):
			s.last = e.at
		}
	}
	for _, s := range st {
		if !s.seen {
			settle(s, month)
			snapshot(s)
			s.seen = true
		}
		settle(s, asOf.Add(24*time.Hour).Truncate(24*time.Hour)) // dormancies whose day has begun
		if s.activeAtStart {
			out.Active++
		}
	}
	if out.Active > 0 {
		out.ChurnRate = float64(out.NewlyDormant+out.Lost) / float64(out.Active)
	}
	out.Met = out.ChurnRate <= crm.DefaultTargets.Churn
	return out
}
