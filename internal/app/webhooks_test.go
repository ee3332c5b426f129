package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/events"
	"github.com/clientele-crm/clientele/internal/testenv"
	"github.com/clientele-crm/clientele/internal/webhooks"
	"github.com/clientele-crm/clientele/internal/webhookverify"
)

func sampleEvent(i int) events.Event {
	return events.Event{ID: fmt.Sprintf("evt_%04d", i), Type: events.CustomerCreated, At: time.Now().UTC().Add(time.Duration(i) * time.Millisecond),
		Data: events.Data{EntityType: "customer", EntityID: fmt.Sprintf("c_%d", i), ActorID: "u_1", ChangedFields: []string{"name"}}}
}

func createWebhook(t *testing.T, e *testenv.Env, url string) string {
	t.Helper()
	r := e.Do(testenv.Request{Method: "POST", Path: "/webhooks", Token: e.Token("root", "admin"),
		Body: map[string]any{"url": url, "events": []string{events.CustomerCreated}}})
	if r.Status != 201 {
		t.Fatalf("create webhook: %d %s", r.Status, r.Body)
	}
	var wh struct{ ID string }
	r.JSON(t, &wh)
	return wh.ID
}

func deliveriesOf(t *testing.T, e *testenv.Env, id string) []dynamo.Delivery {
	t.Helper()
	ds, _, err := e.Services.Table.Webhooks().ListDeliveries(context.Background(), id, crmPage(200))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestReceiverBehaviours: a receiver that hangs, fails, is gone, redirects
// or answers with 10 MB each gets what it deserves, and none of them holds
// up a healthy one.
func TestReceiverBehaviours(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(loopback))
	var redirected atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Add(1) }))
	defer target.Close()
	big := bytes.Repeat([]byte("x"), 10<<20)
	var healthyAt atomic.Int64
	var start time.Time
	hang := make(chan struct{})
	handlers := map[string]http.HandlerFunc{
		"healthy": func(http.ResponseWriter, *http.Request) { healthyAt.Store(int64(time.Since(start))) },
		"slow": func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		},
		"failing":  func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) },
		"gone":     func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(410) },
		"redirect": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.URL, http.StatusFound) },
		"huge":     func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(big) },
	}
	ids := map[string]string{}
	// The slow one first, so that a loop serving endpoints one by one
	// would make the healthy one wait for it.
	for _, name := range []string{"slow", "healthy", "failing", "gone", "redirect", "huge"} {
		srv := httptest.NewServer(handlers[name])
		defer srv.Close()
		if name == "slow" {
			// Let the hung handler go before its server closes.
			defer close(hang)
		}
		ids[name] = createWebhook(t, e, srv.URL+"/"+name)
	}
	if err := e.Services.Webhooks.Fanout(context.Background(), []events.Event{sampleEvent(1)}); err != nil {
		t.Fatal(err)
	}
	// The slow endpoint holds its attempt for the whole timeout; the
	// healthy one must not wait for it.
	w := appWorker(e, 5*time.Second)
	start = time.Now()
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if at := time.Duration(healthyAt.Load()); at == 0 || at > 4*time.Second {
		t.Errorf("the healthy endpoint got its delivery after %s", at)
	}
	want := map[string]struct{ status, errPart string }{
		"healthy": {dynamo.DeliveryDelivered, ""}, "slow": {dynamo.DeliveryFailed, "timeout"},
		"failing": {dynamo.DeliveryFailed, "status 500"}, "gone": {dynamo.DeliveryDead, "410"},
		"redirect": {dynamo.DeliveryFailed, "redirect 302"}, "huge": {dynamo.DeliveryDelivered, ""},
	}
	for name, w := range want {
		ds := deliveriesOf(t, e, ids[name])
		if len(ds) != 1 || ds[0].Status != w.status || !strings.Contains(ds[0].LastError, w.errPart) || ds[0].Attempts != 1 {
			t.Errorf("%s: %+v, want %s (%q)", name, ds, w.status, w.errPart)
		}
	}
	if redirected.Load() != 0 {
		t.Error("a redirect was followed")
	}
	// A failed delivery is due again later, with back-off.
	if d := deliveriesOf(t, e, ids["failing"])[0]; !d.NextAt.After(d.At) {
		t.Errorf("failed delivery due again at %s", d.NextAt)
	}
	// The gone endpoint is disabled, its creator told, and /enable brings
	// it back.
	wh, _, err := e.Services.Table.Webhooks().Webhook(context.Background(), ids["gone"], false)
	if err != nil || wh.Enabled {
		t.Fatalf("gone endpoint: %+v %v", wh, err)
	}
	notified := false
	for _, n := range e.Notifier.Sent() {
		notified = notified || (n.Kind == webhooks.NotifyWebhookDisabled && n.SubjectID == ids["gone"] && n.RecipientID == "root")
	}
	if !notified {
		t.Error("no notice of the disabled endpoint")
	}
	r := e.Do(testenv.Request{Method: "POST", Path: "/webhooks/" + ids["gone"] + "/enable", Token: e.Token("root", "admin")})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"enabled":true`) {
		t.Errorf("enable: %d %s", r.Status, r.Body)
	}
}

// TestBadWebhookInput: each bad field is named in a 400.
func TestBadWebhookInput(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(loopback))
	admin := e.Token("root", "admin")
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "not a url", "events": []string{"customer.created"}}, "url"},
		{map[string]any{"url": "http://10.0.0.1:80/x", "events": []string{"customer.created"}}, "url"},
		{map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{"customer.exploded"}}, "events"},
		{map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{}}, "events"},
		{map[string]any{"url": "http://127.0.0.1:9/x"}, "events"},
	} {
		r := e.Do(testenv.Request{Method: "POST", Path: "/webhooks", Token: admin, Body: c.body})
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"`+c.field+`"`) {
			t.Errorf("%v: %d %s", c.body, r.Status, r.Body)
		}
	}
}

// TestSecretRotation: after a rotation both secrets sign, and the old one
// stops when its grace ends.
func TestSecretRotation(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(loopback))
	rec := newReceiver(t)
	admin := e.Token("root", "admin")
	r := e.Do(testenv.Request{Method: "POST", Path: "/webhooks", Token: admin, Body: map[string]any{"url": rec.URL, "events": []string{events.CustomerCreated}}})
	var first struct{ ID, Secret string }
	r.JSON(t, &first)
	r = e.Do(testenv.Request{Method: "POST", Path: "/webhooks/" + first.ID + "/rotate-secret", Token: admin})
	var second struct{ ID, Secret string }
	r.JSON(t, &second)
	if r.Status != 200 || second.Secret == "" || second.Secret == first.Secret {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	if err := e.Services.Webhooks.Fanout(context.Background(), []events.Event{sampleEvent(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := appWorker(e, 2*time.Second).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rec.deliveries()
	if len(got) != 1 || len(strings.Fields(got[0].header.Get("webhook-signature"))) != 2 {
		t.Fatalf("deliveries %d, signature %q", len(got), got)
	}
	for _, s := range []string{first.Secret, second.Secret} {
		if err := verify(s, got[0]); err != nil {
			t.Errorf("during the grace period: %v", err)
		}
	}
	// Past the grace period only the new secret signs.
	svc := *e.Services.Webhooks
	svc.Now = func() time.Time { return time.Now().Add(webhooks.DefaultGrace + time.Hour) }
	if err := svc.Fanout(context.Background(), []events.Event{sampleEvent(2)}); err != nil {
		t.Fatal(err)
	}
	w := appWorker(e, 2*time.Second)
	w.Service = &svc
	w.Sender = webhooks.NewSender(svc.Guard, 2*time.Second)
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = rec.deliveries()
	if len(got) != 2 || len(strings.Fields(got[1].header.Get("webhook-signature"))) != 1 {
		t.Fatalf("after the grace: %d deliveries", len(got))
	}
}

// TestDeliveryLoopKilled stops the delivery loop in the middle of a batch,
// while a delivery is in flight, and starts another: every event arrives,
// and only the one in flight may arrive twice.
func TestDeliveryLoopKilled(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(loopback))
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		total int
	)
	ctx, kill := context.WithCancel(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("webhook-id")]++
		total++
		n := total
		mu.Unlock()
		if n == 7 {
			// Killed while this one is in flight: its answer never
			// reaches the loop.
			kill()
			time.Sleep(200 * time.Millisecond)
		}
	}))
	defer srv.Close()
	createWebhook(t, e, srv.URL)
	const n = 20
	var evs []events.Event
	for i := range n {
		evs = append(evs, sampleEvent(i))
	}
	if err := e.Services.Webhooks.Fanout(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	appWorker(e, 2*time.Second).Run(ctx, 10*time.Millisecond)

	// The restarted loop runs once the claim of the one in flight ran out.
	svc := *e.Services.Webhooks
	svc.Now = func() time.Time { return time.Now().Add(time.Minute) }
	w := appWorker(e, 2*time.Second)
	w.Service = &svc
	for range 10 {
		if k, err := w.RunOnce(context.Background()); err != nil || k == 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for i := range n {
		switch c := seen[fmt.Sprintf("evt_%04d", i)]; {
		case c == 0:
			t.Errorf("evt_%04d lost", i)
		case c == 2:
			twice++
		case c > 2:
			t.Errorf("evt_%04d sent %d times", i, c)
		}
	}
	if twice > 1 || total > n+1 {
		t.Errorf("%d events sent twice, %d requests for %d events", twice, total, n)
	}
}

func appWorker(e *testenv.Env, timeout time.Duration) *webhooks.Worker {
	return app.Worker(e.Services, timeout)
}

func crmPage(n int) crm.Page { return crm.Page{Limit: n} }

func verify(secret string, d delivery) error {
	return webhookverify.Verify(secret, d.header, d.body, time.Now())
}
