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
	e.ReplayEvents("../../events", api.FnReminders, map[string]int{
		"reminders-list.json":                          200,
		"reminders-list-bad-kind.json":                 400,
		"reminders-list-other-assignee-forbidden.json": 403,
		"reminders-done-unknown.json":                  404,
	})
}

// TestScheduleEvent runs the job from the sample EventBridge event, as of
// the event's time, twice: the second delivery creates nothing.
func TestScheduleEvent(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	raw, err := os.ReadFile("../../events/reminders-schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	due := at.Add(-time.Hour)
	err = e.Services.Store.CreateCustomer(ctx, crm.Customer{ID: "c_sampledue000000001", Name: "Li Wei", Email: "sample@example.com", OwnerID: "alice",
		CreatedAt: due, UpdatedAt: due, ReviewDueAt: due, Version: 1}, false,
		crm.NewAudit(ctx, crm.Actor{ID: "test-setup"}, "customer.create", "customer", "c_sampledue000000001"))
	if err != nil {
		t.Fatal(err)
	}
	h := app.ReminderHandler(e.Services.Deps, api.NewHandler(e.Services.Deps, api.FnReminders))
	for run, want := range []int{1, 0} {
		out, err := h(ctx, json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		rep := out.(crm.RunReport)
		if !rep.AsOf.Equal(at) || rep.Created[crm.ReminderStaleCustomer] != want {
			t.Errorf("delivery %d: %+v", run+1, rep)
		}
	}
	if _, err := h(ctx, json.RawMessage(`{"hello":"world"}`)); err == nil {
		t.Error("an unknown event was accepted")
	}
}
