package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/ddblocal"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestMain gives this package a DynamoDB Local of its own. DynamoDB Local
// slows as transactions accumulate in one instance, and the stream tests
// here replay thousands of them: on the instance the other packages have
// already worn, the aggregates' equality test ran for over ten minutes
// instead of one.
func TestMain(m *testing.M) {
	os.Unsetenv(ddblocal.EnvEndpoint)
	testenv.Main(m)
}

// streamRecords returns every record the main table's stream holds that p
// has not delivered yet.
func streamRecords(t *testing.T, e *testenv.Env, p **streams.Poller) []events.DynamoDBEventRecord {
	t.Helper()
	if *p == nil {
		arn, err := streams.StreamARN(context.Background(), e.DB, e.Config.Table)
		if err != nil {
			t.Fatal(err)
		}
		client := e.StreamsClient()
		sink := &[]events.DynamoDBEventRecord{}
		*p = streams.New(client, arn, func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			*sink = append(*sink, ev.Records...)
			return events.DynamoDBEventResponse{}, nil
		}, streams.Options{})
		sinks.Store(*p, sink)
	}
	v, _ := sinks.Load(*p)
	sink := v.(*[]events.DynamoDBEventRecord)
	*sink = nil
	if _, err := (*p).Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return *sink
}

// sinks holds, per poller, where it collects the records it drains.
var sinks sync.Map

// TestAggregatesEqualRebuild applies thousands of random creates, updates,
// verifications, erasures, admitted duplicates and complaint transitions,
// delivers the stream to the consumer shuffled, with some records twice,
// and checks that the aggregates it kept equal those rebuilt from the
// tables, counter by counter.
func TestAggregatesEqualRebuild(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.FourEyes.Kinds = nil })) // erasures apply at once
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	d := e.Services.API
	admin := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	owners := []string{"alice", "bob", "carol"}
	segments := []string{"", "retail", "vip"}
	roots := []string{"Courier handling", "courier  HANDLING", "Billing system bug", "Staff training"}
	var customers, complaints []string
	// Outcome KPIs: reviews fall due and customers go dormant within the
	// run, so update cycles, dormancy and reactivation all happen.
	d.Customers.Policy.ReviewPeriod = 300 * time.Millisecond
	e.Services.DormantAfter = 3 * time.Second
	answered := map[string]int{}
	const ops = 1000
	for i := range ops {
		switch op := rng.IntN(100); {
		case op < 30 || len(customers) < 5:
			in := crm.CustomerInput{Name: fmt.Sprintf("Customer %d", i), OwnerID: owners[rng.IntN(3)], Segment: segments[rng.IntN(3)]}
			in.Email = fmt.Sprintf("c%d@example.com", i)
			if rng.IntN(3) > 0 {
				in.Phone = fmt.Sprintf("+86138%08d", i)
			}
			if rng.IntN(2) == 0 {
				in.Address = &crm.Address{Line1: "1 Road", City: "Shanghai", Country: "CN"}
			}
			// Half agree to service contact, and are sent surveys.
			in.Consent = &crm.Consent{Reminders: rng.IntN(2) == 0}
			dup := false
			if rng.IntN(10) == 0 && len(customers) > 0 {
				// An admin admits a duplicate of an earlier customer's email.
				prev, err := e.Services.Table.Customers().GetCustomer(ctx, customers[rng.IntN(len(customers))])
				if err == nil && prev.Email != "" {
					in.Email, dup = prev.Email, true
				}
			}
			c, err := d.Customers.Create(ctx, admin, in, dup)
			if err != nil {
				t.Fatalf("op %d create: %v", i, err)
			}
			customers = append(customers, c.ID)
		case op < 50:
			id := customers[rng.IntN(len(customers))]
			_, err := d.Customers.Update(ctx, admin, id, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
				in.Segment = segments[rng.IntN(3)]
				if rng.IntN(3) == 0 {
					in.OwnerID = owners[rng.IntN(3)]
				}
				if rng.IntN(3) == 0 {
					in.Address = nil
				}
				return in, nil
			})
			if code := crm.ErrorCode(err); err != nil && code != crm.EGONE && code != crm.ENOTFOUND {
				t.Fatalf("op %d update: %v", i, err)
			}
		case op < 52:
			_, _ = d.Customers.Verify(ctx, admin, customers[rng.IntN(len(customers))], nil)
		case op < 54:
			// Mostly recent customers, so that some are still active.
			_, _ = d.Customers.MarkLost(ctx, admin, customers[len(customers)-1-rng.IntN(min(10, len(customers)))], nil, crm.LostInput{Reason: crm.DefaultLostReasons[rng.IntN(6)]})
		case op < 55:
			// A review link, which the customer completes half the time.
			l, err := d.Portal.CreateLink(ctx, admin, customers[rng.IntN(len(customers))])
			if err == nil && rng.IntN(2) == 0 {
				token := l.URL[strings.LastIndex(l.URL, "#")+1:] // …/self-service#<token>
				phone := fmt.Sprintf("+86139%08d", i)
				_, _ = d.Portal.Update(ctx, token, "203.0.113.7", crm.PortalInput{Phone: &phone})
			}
		case op < 60:
			_ = d.Customers.Erase(ctx, admin, customers[rng.IntN(len(customers))])
		case op < 65:
			at := time.Now()
			_, _ = d.Customers.AddInteraction(ctx, admin, customers[rng.IntN(len(customers))], crm.InteractionInput{Kind: crm.KindCall, At: &at, Summary: "Called"})
		case op < 75:
			c, err := d.Complaints.File(ctx, admin, crm.ComplaintInput{CustomerID: customers[rng.IntN(len(customers))],
				Channel: crm.Channels[rng.IntN(len(crm.Channels))], Category: "delivery", Severity: crm.Severities[rng.IntN(4)],
				Subject: "Late", Description: "The parcel is late"})
			if err == nil {
				complaints = append(complaints, c.ID)
			}
		case op < 80:
			// A customer answers one of the surveys sent so far.
			sent := e.Notifier.Sent()
			if surveys := slices.DeleteFunc(sent, func(n crm.Notification) bool { return n.Kind != crm.NotifySurveyRequested }); len(surveys) > 0 {
				_, tok, _ := strings.Cut(surveys[rng.IntN(len(surveys))].Link, "#")
				if answered[tok] >= 3 {
					continue // a few second answers (409) are enough; each counts against the link's limit
				}
				answered[tok]++
				score := 1 + rng.IntN(5)
				_, err := d.Surveys.Answer(ctx, tok, fmt.Sprintf("198.51.100.%d", i%250), crm.SurveyAnswer{Score: &score})
				if code := crm.ErrorCode(err); err != nil && code != crm.ECONFLICT && code != crm.ENOTFOUND {
					t.Fatalf("op %d answer: %v", i, err)
				}
			}
		default:
			if len(complaints) == 0 {
				continue
			}
			id := complaints[rng.IntN(len(complaints))]
			in := crm.TransitionInput{To: []string{crm.ActionInProgress, crm.ActionResolve, crm.ActionClose, crm.ActionReopen}[rng.IntN(4)]}
			if in.To == crm.ActionResolve {
				in.Resolution = &crm.Resolution{Summary: "Fixed", RootCause: roots[rng.IntN(len(roots))], Remedy: "Process change"}
			}
			_, _ = d.Complaints.Transition(ctx, admin, id, nil, in)
		}
	}
	// The reminder run flags breaches and moves marks: changes the
	// consumer must count too.
	// An item that fails here (a busy audit chain) is only one change
	// fewer for the aggregates to count.
	_, _ = d.Reminders.Run(ctx, time.Now().Add(30*24*time.Hour))

	var poller *streams.Poller
	records := streamRecords(t, e, &poller)
	if len(records) < ops {
		t.Fatalf("only %d stream records", len(records))
	}
	// Shuffle, and deliver a tenth of the records twice.
	deliveries := append([]events.DynamoDBEventRecord{}, records...)
	for _, i := range rng.Perm(len(records))[:len(records)/10] {
		deliveries = append(deliveries, records[i])
	}
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	h := app.StreamHandler(e.Services, nil)
	for round := 0; len(deliveries) > 0; round++ {
		for len(deliveries) > 0 {
			n := min(1+rng.IntN(100), len(deliveries))
			resp, err := h(ctx, events.DynamoDBEvent{Records: deliveries[:n]})
			if err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("batch failed: %v %+v", err, resp.BatchItemFailures)
			}
			deliveries = deliveries[n:]
		}
		// The outcome view writes activity items, whose own records the
		// aggregates count in turn.
		deliveries = streamRecords(t, e, &poller)
		rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
		if round > 5 {
			t.Fatalf("the stream does not settle: %d more records", len(deliveries))
		}
	}
	// What the consumer wrote itself (likely-duplicate states) are changes
	// the aggregates count too: deliver them until the stream is quiet.
	for more := streamRecords(t, e, &poller); len(more) > 0; more = streamRecords(t, e, &poller) {
		if resp, err := h(ctx, events.DynamoDBEvent{Records: more}); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("batch failed: %v %+v", err, resp.BatchItemFailures)
		}
	}

	res, err := e.Services.Table.Aggregates().Rebuild(ctx, e.Services.ReportPolicy, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := res.Differences(); len(diff) > 0 {
		t.Errorf("%d counters differ from the rebuild, e.g. %v", len(diff), diff[:min(5, len(diff))])
	}
	live := 0
	for _, id := range customers {
		if _, err := e.Services.Table.Customers().GetCustomer(ctx, id); err == nil {
			live++
		}
	}
	var sent, responses int64
	for name, c := range res.Computed {
		if strings.HasPrefix(name, crm.AggSurveyWeek(time.Now())[:5]) {
			sent, responses = sent+c["sent"], responses+c["responses"]
		}
	}
	if sent == 0 || responses == 0 {
		t.Errorf("the rebuild counts %d surveys sent, %d answered: the test should make both", sent, responses)
	}
	if got := res.Computed[crm.AggCustomers]["customers"]; got != int64(live) || res.Computed[crm.AggCustomers]["duplicate"] == 0 {
		t.Errorf("rebuild counts %d customers (%d duplicates), the test made %d live", got, res.Computed[crm.AggCustomers]["duplicate"], live)
	}

	churn, all := res.Computed[crm.AggChurn], res.Computed[crm.AggCustomers]
	var kinds = map[string]int64{}
	for k, v := range churn {
		kinds[k[:strings.Index(k, "#")]] += v
	}
	for k := range all {
		if strings.HasPrefix(k, "cyc#") {
			kinds["cycle"] += all[k]
		}
	}
	kinds["ssDone"], kinds["suspect"] = all["ssDone"], all["suspect"]
	for _, k := range []string{"start", "react", "dorm", "lost", "cycle", "ssDone", "suspect"} {
		if kinds[k] == 0 {
			t.Errorf("the workload counted no %s: %v", k, kinds)
		}
	}

	// New customers per month and segment are counters like the others,
	// so the equality above covers them; the workload must make them move
	// (segment changes) and they must add up to the month's new customers.
	perMonth, segs := map[string]int64{}, map[string]bool{}
	for k, v := range all {
		if rest, ok := strings.CutPrefix(k, "newseg#"); ok && v != 0 {
			month, seg, _ := strings.Cut(rest, "#")
			perMonth[month] += v
			segs[seg] = true
		}
	}
	if len(segs) != len(segments) {
		t.Errorf("new customers are counted in segments %v, want all of %q", segs, segments)
	}
	for k, v := range all {
		if month, ok := strings.CutPrefix(k, "new#"); ok && perMonth[month] != v {
			t.Errorf("month %s: %d new customers, %d over its segments", month, v, perMonth[month])
		}
	}

	// Rebuild with write replaces the aggregates with equal ones.
	if _, err := e.Services.Table.Aggregates().Rebuild(ctx, e.Services.ReportPolicy, true, nil); err != nil {
		t.Fatal(err)
	}
	again, err := e.Services.Table.Aggregates().Rebuild(ctx, e.Services.ReportPolicy, false, nil)
	if err != nil || len(again.Differences()) > 0 {
		t.Errorf("after a written rebuild: %v %v", err, again.Differences())
	}
}

// TestReportRoutes reads each report through the gateway, as each role.
func TestReportRoutes(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	alice, admin := e.Token("alice", "sales"), e.Token("root", "admin")
	post := func(tok string, body map[string]any) int {
		return e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: tok, Body: body}).Status
	}
	for i, body := range []map[string]any{
		{"name": "Li Wei", "email": "li@example.com", "phone": "+8613800138000", "address": map[string]any{"line1": "1 Road", "city": "Shanghai", "country": "CN"}},
		{"name": "Wang Fang", "email": "wang@example.com"},
		{"name": "Chen Jie", "email": "chen@example.com", "ownerId": "bob"},
	} {
		tok := alice
		if i == 2 {
			tok = admin
		}
		if s := post(tok, body); s != http.StatusCreated {
			t.Fatalf("create %d: %d", i, s)
		}
	}
	if s := post(alice, map[string]any{"name": ""}); s != http.StatusBadRequest {
		t.Fatalf("invalid create: %d", s)
	}
	var poller *streams.Poller
	recs := streamRecords(t, e, &poller)
	if _, err := app.StreamHandler(e.Services, nil)(ctx, events.DynamoDBEvent{Records: recs}); err != nil {
		t.Fatal(err)
	}

	var mine crm.DataQualityReport
	r := e.Do(testenv.Request{Method: "GET", Path: "/reports/data-quality", Token: alice})
	r.JSON(t, &mine)
	if r.Status != http.StatusOK || mine.Customers != 2 || mine.CompletenessRate != 0.5 || len(mine.ByOwner) != 1 || mine.ByOwner[0].OwnerID != "alice" {
		t.Errorf("alice's data quality: %d %+v", r.Status, mine)
	}
	if mine.Invalid.RejectedWrites != 0 {
		t.Errorf("a rep's report counts refused writes of others: %+v", mine.Invalid)
	}
	var all crm.DataQualityReport
	e.Do(testenv.Request{Method: "GET", Path: "/reports/data-quality", Token: admin}).JSON(t, &all)
	if all.Customers != 3 || len(all.ByOwner) != 2 || all.Invalid.RejectedWrites != 1 || all.Invalid.AcceptedWrites != 3 ||
		all.Met["completenessRate"] || !all.Met["duplicateRate"] || all.TimelinessRate != 1 {
		t.Errorf("admin's data quality: %+v", all)
	}
	var growth crm.CustomerReport
	e.Do(testenv.Request{Method: "GET", Path: "/reports/customers", Token: admin}).JSON(t, &growth)
	if growth.Customers != 3 || growth.ByOwner["alice"] != 2 || growth.NewPerMonth[time.Now().UTC().Format("2006-01")] != 3 ||
		growth.NewPerMonthBySegment[time.Now().UTC().Format("2006-01")]["(none)"] != 3 {
		t.Errorf("customer report: %+v", growth)
	}
	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/reports/customers", alice, http.StatusForbidden},
		{"/reports/complaints", alice, http.StatusForbidden},
		{"/reports/data-quality", e.Token("sam", "service"), http.StatusForbidden},
		{"/reports/complaints?from=yesterday&to=2026-01-01&x=1", admin, http.StatusBadRequest},
		{"/reports/complaints?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", admin, http.StatusBadRequest},
		{"/reports/complaints?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", admin, http.StatusOK},
	} {
		if r := e.Do(testenv.Request{Method: "GET", Path: c.path, Token: c.token}); r.Status != c.status {
			t.Errorf("GET %s: %d, want %d", c.path, r.Status, c.status)
		}
	}
}
