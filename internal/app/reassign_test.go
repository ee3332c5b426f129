package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestReassignmentMovesDependents: when a customer changes owner, the
// stream consumer moves its complaints into the new owner's list and out
// of the old one's, gives its open reminders to the new owner, and revokes
// the links the old owner opened; delivering the change again moves
// nothing more.
func TestReassignmentMovesDependents(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	d := e.Services.API
	alice := crm.Actor{ID: "alice", Roles: []crm.Role{crm.RoleSales}}
	bob := crm.Actor{ID: "bob", Roles: []crm.Role{crm.RoleSales}}
	admin := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	agent := crm.Actor{ID: "sam", Roles: []crm.Role{crm.RoleService}}

	c, err := d.Customers.Create(ctx, alice, crm.CustomerInput{Name: "Li Wei", Phone: "13800138000", Consent: &crm.Consent{Reminders: true}}, false)
	if err != nil {
		t.Fatal(err)
	}
	comp, err := d.Complaints.File(ctx, agent, crm.ComplaintInput{CustomerID: c.ID, Channel: "phone", Category: "billing",
		Severity: "low", Subject: "Charged twice", Description: "Two debits"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := d.Portal.CreateLink(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The record falls due for review: a reminder for alice.
	if _, err := d.Reminders.Run(ctx, time.Now().Add(400*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rs, _, err := d.Reminders.List(ctx, alice, crm.ReminderFilter{}, crm.Page{Limit: 50}); err != nil || len(rs) == 0 {
		t.Fatalf("alice has %d reminders (%v)", len(rs), err)
	}

	if _, err := d.Customers.Update(ctx, admin, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
		in.OwnerID = "bob"
		return in, nil
	}); err != nil {
		t.Fatal(err)
	}
	var poller *streams.Poller
	records := streamRecords(t, e, &poller) // all of them: the consumer is idempotent
	h := app.StreamHandler(e.Services, nil)
	for range 2 { // the second delivery must change nothing
		if resp, err := h(ctx, events.DynamoDBEvent{Records: records}); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("consumer: %v %+v", err, resp.BatchItemFailures)
		}
	}

	if cs, _, err := d.Complaints.List(ctx, alice, crm.ComplaintFilter{}, crm.Page{Limit: 50}); err != nil || len(cs) != 0 {
		t.Errorf("the former owner still lists %d complaints (%v)", len(cs), err)
	}
	if cs, _, err := d.Complaints.List(ctx, bob, crm.ComplaintFilter{}, crm.Page{Limit: 50}); err != nil || len(cs) != 1 || cs[0].ID != comp.ID {
		t.Errorf("the new owner lists %+v (%v)", cs, err)
	}
	if rs, _, _ := d.Reminders.List(ctx, alice, crm.ReminderFilter{}, crm.Page{Limit: 50}); len(rs) != 0 {
		t.Errorf("the former owner keeps %d reminders about the customer", len(rs))
	}
	if rs, _, _ := d.Reminders.List(ctx, bob, crm.ReminderFilter{}, crm.Page{Limit: 50}); len(rs) == 0 {
		t.Error("the new owner got no reminder")
	}
	token := link.URL[len(link.URL)-len(tokenOf(link.URL)):]
	if r := e.Do(testenv.Request{Method: "GET", Path: "/portal/" + token}); r.Status != http.StatusNotFound {
		t.Errorf("the former owner's link still opens: %d", r.Status)
	}
}

// tokenOf returns the token at the end of a portal URL.
func tokenOf(url string) string {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == '/' || url[i] == '#' {
			return url[i+1:]
		}
	}
	return url
}
