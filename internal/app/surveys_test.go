package app_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestSatisfactionReport: surveys sent and answered show in the complaint
// report overall, per category, per assignee and per week, against the
// configured target, counted from the stream.
func TestSatisfactionReport(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.Surveys.Target = 0.6 }))
	ctx := context.Background()
	d := e.Services.API
	admin := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	// Three customers agree to service contact, one does not.
	cases := []struct {
		owner, category string
		consent         bool
		score           int // 0: not answered
	}{
		{"alice", "delivery", true, 5},
		{"alice", "billing", true, 2},
		{"bob", "delivery", true, 0},
		{"bob", "delivery", false, 0},
	}
	for i, c := range cases {
		cust, err := d.Customers.Create(ctx, admin, crm.CustomerInput{Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("c%d@example.com", i),
			OwnerID: c.owner, Consent: &crm.Consent{Reminders: c.consent}}, false)
		if err != nil {
			t.Fatal(err)
		}
		k, err := d.Complaints.File(ctx, admin, crm.ComplaintInput{CustomerID: cust.ID, Channel: "phone", Category: c.category,
			Severity: "low", Subject: "Late", Description: "The parcel is late"})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range []crm.TransitionInput{{To: crm.ActionInProgress},
			{To: crm.ActionResolve, Resolution: &crm.Resolution{Summary: "Fixed", RootCause: "Courier", Remedy: "Refund"}}} {
			if _, err := d.Complaints.Transition(ctx, admin, k.ID, nil, in); err != nil {
				t.Fatal(err)
			}
		}
		if c.score == 0 {
			continue
		}
		var tok string
		for _, n := range e.Notifier.Sent() {
			if n.Kind == crm.NotifySurveyRequested && n.RecipientID == cust.ID {
				_, tok, _ = strings.Cut(n.Link, "#")
			}
		}
		if _, err := d.Surveys.Answer(ctx, tok, "192.0.2.1", crm.SurveyAnswer{Score: &c.score}); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	// Deliver the stream until it is quiet: the consumer's own writes
	// (customers' activity, likely-duplicate states) are changes the
	// aggregates count too.
	var poller *streams.Poller
	h := app.StreamHandler(e.Services, nil)
	for round, recs := 0, streamRecords(t, e, &poller); len(recs) > 0; round, recs = round+1, streamRecords(t, e, &poller) {
		if round > 5 {
			t.Fatalf("the stream does not settle: %d more records", len(recs))
		}
		if _, err := h(ctx, events.DynamoDBEvent{Records: recs}); err != nil {
			t.Fatal(err)
		}
	}

	var rep crm.ComplaintReport
	r := e.Do(testenv.Request{Method: "GET", Path: "/reports/complaints", Token: e.Token("root", "admin")})
	r.JSON(t, &rep)
	if r.Status != http.StatusOK {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	s := rep.Satisfaction
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if s.Sent != 3 || s.Responses != 2 || !near(s.ResponseRate, 2.0/3) || !near(s.SatisfiedRate, 0.5) || !near(s.Mean, 3.5) ||
		s.Target != 0.6 || s.Met {
		t.Errorf("satisfaction: %+v", s.SatisfactionStats)
	}
	if c := s.ByCategory["delivery"]; c.Sent != 2 || c.Responses != 1 || c.SatisfiedRate != 1 || !c.Met {
		t.Errorf("delivery: %+v", c)
	}
	if c := s.ByCategory["billing"]; c.Sent != 1 || c.Responses != 1 || c.SatisfiedRate != 0 || c.Mean != 2 || c.Met {
		t.Errorf("billing: %+v", c)
	}
	if a, b := s.ByAssignee["alice"], s.ByAssignee["bob"]; a.Sent != 2 || a.Responses != 2 || b.Sent != 1 || b.Responses != 0 || b.Met {
		t.Errorf("by assignee: alice %+v, bob %+v", a, b)
	}
	week := crm.AggSurveyWeek(time.Now())[len("csat#"):]
	var found bool
	for _, w := range s.Weekly {
		if w.Week == week {
			found = w.Sent == 3 && w.Responses == 2
		} else if w.Sent != 0 {
			t.Errorf("surveys counted in week %s: %+v", w.Week, w)
		}
	}
	if !found {
		t.Errorf("this week's satisfaction is missing or wrong: %+v", s.Weekly)
	}

	// The rebuild counts the same from the items.
	res, err := e.Services.Table.Aggregates().Rebuild(ctx, e.Services.ReportPolicy, false, nil)
	if err != nil || len(res.Differences()) > 0 {
		t.Errorf("rebuild: %v %v", err, res.Differences())
	}
}
