package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
	"github.com/clientele-crm/clientele/internal/webhookverify"
)

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint on loopback that records what it gets
// and answers with status (200 unless set).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	status func(n int) int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: b})
		n := len(r.got)
		st := r.status
		r.mu.Unlock()
		if st != nil {
			w.WriteHeader(st(n))
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// pump delivers the table's stream to the consumer, as Lambda or the
// local poller would, then runs the delivery loop until nothing is due.
type pump struct {
	t      *testing.T
	e      *testenv.Env
	poller *streams.Poller
}

func newPump(t *testing.T, e *testenv.Env) *pump {
	arn, err := streams.StreamARN(context.Background(), e.DB, e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	h := app.StreamHandler(e.Services, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &pump{t: t, e: e, poller: streams.New(e.StreamsClient(), arn, h, streams.Options{})}
}

func (p *pump) stream() {
	p.t.Helper()
	if _, err := p.poller.Drain(context.Background()); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pump) deliver() {
	p.t.Helper()
	w := app.Worker(p.e.Services, 5*time.Second)
	for range 50 {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			p.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func loopback(c *app.Config) { c.Webhooks.Loopback = true }

// TestWebhookDeliveries follows a customer from creation to erasure and a
// complaint through its life to its SLA breach: each change arrives at a
// receiver on loopback as an event, signed, with no personal data.
func TestWebhookDeliveries(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(loopback), testenv.WithConfig(func(c *app.Config) { c.FourEyes.Kinds = nil })) // erasures apply at once
	rec := newReceiver(t)
	admin := e.Token("root", "admin")
	all := []string{"customer.created", "customer.updated", "customer.verified", "customer.erased",
		"complaint.created", "complaint.transitioned", "complaint.breached", "reminder.created"}
	r := e.Do(testenv.Request{Method: "POST", Path: "/webhooks", Token: admin, Body: map[string]any{"url": rec.URL + "/hook", "events": all}})
	if r.Status != 201 {
		t.Fatalf("create webhook: %d %s", r.Status, r.Body)
	}
	var wh struct{ ID, Secret string }
	r.JSON(t, &wh)
	if !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("secret %q", wh.Secret)
	}

	ctx := context.Background()
	api := e.Services.API
	actor := crm.Actor{ID: "u_admin", Roles: []crm.Role{crm.RoleAdmin}}
	planted := []string{"Zebulon Plantedname", "zebulon.planted@example.com", "zeb.second@example.com", "13800138000",
		"Plantedstreet 9", "Planted subject of the complaint", "Planted description text"}
	c, err := api.Customers.Create(ctx, actor, crm.CustomerInput{Name: planted[0], Email: planted[1], Phone: "+86 138 0013 8000",
		Address: &crm.Address{Line1: planted[4], City: "Shanghai", Country: "CN"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Customers.Update(ctx, actor, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
		in.Email = planted[2]
		return in, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Customers.Verify(ctx, actor, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	k, err := api.Complaints.File(ctx, actor, crm.ComplaintInput{CustomerID: c.ID, Channel: "phone", Category: "billing",
		Severity: "critical", Subject: planted[5], Description: planted[6]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Complaints.Transition(ctx, actor, k.ID, nil, crm.TransitionInput{To: "in_progress", Note: "looking"}); err != nil {
		t.Fatal(err)
	}
	// A failed write makes no event: a transition the state machine refuses.
	if _, err := api.Complaints.Transition(ctx, actor, k.ID, nil, crm.TransitionInput{To: "closed", Note: "no"}); err == nil {
		t.Fatal("an illegal transition was accepted")
	}
	if _, err := app.RunReminders(ctx, api, k.SLADueAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := api.Customers.Erase(ctx, actor, c.ID); err != nil {
		t.Fatal(err)
	}
	p := newPump(t, e)
	p.stream()
	p.deliver()

	got := rec.deliveries()
	types := map[string]int{}
	ids := map[string]bool{}
	for _, d := range got {
		if err := webhookverify.Verify(wh.Secret, d.header, d.body, time.Now()); err != nil {
			t.Errorf("delivery %s: %v", d.body, err)
		}
		var ev struct {
			ID, Type string
			At       time.Time
			Data     struct {
				EntityID, ActorID string
				ChangedFields     []string
			}
		}
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != d.header.Get("webhook-id") || ev.At.IsZero() || ev.Data.EntityID == "" || ev.Data.ActorID == "" {
			t.Errorf("event %s, webhook-id %s", d.body, d.header.Get("webhook-id"))
		}
		ids[ev.ID] = true
		types[ev.Type]++
		for _, v := range planted {
			if strings.Contains(string(d.body), v) || strings.Contains(strings.ToLower(string(d.body)), strings.ToLower(v)) {
				t.Errorf("delivery of %s carries personal data", ev.Type)
			}
		}
	}
	for _, want := range all {
		if types[want] == 0 {
			t.Errorf("no %s delivered; got %v", want, types)
		}
	}
	if len(ids) != len(got) {
		t.Errorf("%d deliveries, %d distinct events", len(got), len(ids))
	}
	if types["complaint.transitioned"] != 1 {
		t.Errorf("complaint.transitioned %d times, want 1 (the refused transition made none)", types["complaint.transitioned"])
	}

	// The stream given again (a redelivery) sends nothing again.
	p2 := newPump(t, e)
	p2.stream()
	p2.deliver()
	if n := len(rec.deliveries()); n != len(got) {
		t.Errorf("redelivered stream: %d deliveries, want %d", n, len(got))
	}

	r = e.Do(testenv.Request{Method: "GET", Path: "/webhooks/" + wh.ID + "/deliveries", Token: admin})
	var page struct {
		Items []struct {
			EventID, Status string
			Attempts        int
		}
	}
	r.JSON(t, &page)
	if r.Status != 200 || len(page.Items) != len(got) {
		t.Fatalf("deliveries: %d, %d items, want %d", r.Status, len(page.Items), len(got))
	}
	for _, it := range page.Items {
		if it.Status != "delivered" || it.Attempts != 1 || !ids[it.EventID] {
			t.Errorf("delivery %+v", it)
		}
	}
}
