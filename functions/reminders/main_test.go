//go:build !fast

// Every test here needs DynamoDB Local: the fast tier (make test-fast,
// -tags fast) leaves this file out rather than link a whole program only
// to skip it.

package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSampleEvents replays this function's sample API events through the
// real Lambda handler against DynamoDB Local.
func TestSampleEvents(t *testing.T) {
	e := testenv.New(t)
	e.ReplayEvents("../../events", function, map[string]int{
		"reminders-list.json":                          200,
		"reminders-list-bad-kind.json":                 400,
		"reminders-list-other-assignee-forbidden.json": 403,
		"reminders-done-unknown.json":                  404,
	})
}

// TestScheduleEvent runs the job from the sample EventBridge event, as of
// the event's time, twice: the first delivery records one reminder for the
// customer that fell due for review, the second creates and sends nothing.
func TestScheduleEvent(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	raw, err := os.ReadFile("../../events/reminders-schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		DetailType string    `json:"detail-type"`
		Source     string    `json:"source"`
		Time       time.Time `json:"time"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Time.IsZero() {
		t.Fatalf("reminders-schedule.json is not an EventBridge scheduled event: %q from %q at %v", ev.DetailType, ev.Source, ev.Time)
	}
	const id = "c_sampledue000000001"
	due := ev.Time.Add(-time.Hour)
	err = e.Services.Table.Customers().CreateCustomer(ctx, crm.Customer{ID: id, Name: "Li Wei", Email: "sample@example.com", OwnerID: "alice",
		CreatedAt: due, UpdatedAt: due, ReviewDueAt: due, Version: 1}, false,
		crm.NewAudit(ctx, crm.Actor{ID: "test-setup"}, "customer.create", "customer", id))
	if err != nil {
		t.Fatal(err)
	}
	h := app.ReminderHandler(e.Services.API, api.NewHandler(e.Services.API, api.FnReminders, function.Routes))
	alice := e.Token("alice", "sales")
	for run, want := range []int{1, 0} {
		out, err := h(ctx, json.RawMessage(raw))
		if err != nil {
			t.Fatalf("delivery %d: %v", run+1, err)
		}
		rep, ok := out.(crm.RunReport)
		if !ok {
			t.Fatalf("delivery %d answered %T, want crm.RunReport", run+1, out)
		}
		created := 0
		for _, n := range rep.Created {
			created += n
		}
		if !rep.AsOf.Equal(ev.Time) || rep.Created[crm.ReminderStaleCustomer] != want || created != want || rep.Failed != 0 {
			t.Errorf("delivery %d: %+v, want asOf %v and %d stale_customer reminder(s), nothing else", run+1, rep, ev.Time, want)
		}
		if run > 0 && rep.Notified+rep.Redelivered != 0 {
			t.Errorf("delivery %d sent notifications again: %+v", run+1, rep)
		}

		// The reminder is on file, once, for the owner.
		r := e.Do(testenv.Request{Method: "GET", Path: "/reminders?status=all", Token: alice})
		if r.Status != 200 {
			t.Fatalf("delivery %d: GET /reminders answered %d", run+1, r.Status)
		}
		var got struct{ Items []crm.Reminder }
		r.JSON(t, &got)
		if len(got.Items) != 1 {
			t.Fatalf("delivery %d: %d reminders on file, want 1", run+1, len(got.Items))
		}
		rem := got.Items[0]
		if rem.ID != crm.ReminderID(crm.ReminderStaleCustomer, id, due) || rem.Kind != crm.ReminderStaleCustomer ||
			rem.SubjectType != "customer" || rem.SubjectID != id || rem.CustomerID != id || rem.AssigneeID != "alice" ||
			!rem.DueAt.Equal(due) || rem.Status != crm.ReminderOpen || !rem.CreatedAt.Equal(ev.Time) {
			t.Errorf("delivery %d: reminder %+v", run+1, rem)
		}
	}

	for name, other := range map[string]string{
		"unknown":                 `{"hello":"world"}`,
		"not JSON":                `not json`,
		"scheduled without time":  `{"detail-type":"Scheduled Event","source":"aws.events"}`,
		"other EventBridge event": `{"detail-type":"Object Created","source":"aws.s3","time":"2026-11-22T09:00:00Z"}`,
	} {
		if out, err := h(ctx, json.RawMessage(other)); err == nil {
			t.Errorf("%s event was accepted: %T", name, out)
		}
	}
}
