package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/events"
	"github.com/clientele-crm/clientele/internal/streams"
)

// The scenarios of the triage, bulk reassignment, webhook and outcome
// screens; TestConsole runs them.

// triageScenario: a complaint a machine client filed with an unknown
// contact is in triage; linking it to the customer an agent finds takes it
// off the list and shows it on the customer.
func triageScenario(t *testing.T, s *site) {
	admin := s.e.Token("root", "admin")
	cust := s.api("POST", "/customers", admin, map[string]any{"name": "Triage Target", "email": "triage.target@example.com"}).Map(t)["id"].(string)
	client := s.e.ClientToken("wechat-bridge", crm.ScopeComplaintsWrite)
	r := s.api("POST", "/complaints", client, map[string]any{"customer": map[string]any{"email": "unknown.sender@example.com"}, "externalRef": "msg-triage-1",
		"channel": "social", "category": "delivery", "severity": "medium", "subject": "Parcel never came", "description": "Ordered last week, nothing yet"})
	if r.Status != 201 {
		t.Fatalf("machine-filed complaint: %d %s", r.Status, r.Body)
	}
	id := r.Map(t)["id"].(string)

	ctx := s.tab(t)
	s.signIn(t, ctx, "service", "tess")
	s.goTo(t, ctx, "#/triage")
	row := fmt.Sprintf(`#triage-list tr[data-complaint=%q]`, id)
	if txt := s.text(t, ctx, row); !strings.Contains(txt, "Parcel never came") || !strings.Contains(txt, "unknown.sender@example.com") {
		t.Errorf("triage row: %q", txt)
	}
	s.accessible(t, ctx)
	s.shoot(t, ctx, "triage")
	s.run(t, ctx, chromedp.Click(chromedp.CSS(row+` button[data-link]`)), chromedp.WaitVisible(chromedp.CSS(`#triage-search`)))
	// An unknown customer id is refused beside its field.
	s.fill(t, ctx, "#link-form", map[string]string{"customerId": "c_nobody"})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#link-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#link-form [data-error-for=customerId]:not(:empty)`)))
	if v := s.attr(t, ctx, `#link-form [name=customerId]`, "aria-invalid"); v != "true" {
		t.Errorf("customerId aria-invalid=%q", v)
	}
	// An invalid email in the search is refused beside its field too.
	s.fill(t, ctx, "#triage-search", map[string]string{"email": "not-an-email"})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#triage-search button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#triage-search [data-error-for=email]:not(:empty)`)))
	s.fill(t, ctx, "#triage-search", map[string]string{"email": "triage.target@example.com"})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#triage-search button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#triage-matches button[data-customer=%q]`, cust))))
	s.accessible(t, ctx)
	s.shoot(t, ctx, "triage-link")
	s.run(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#triage-matches button[data-customer=%q]`, cust))), chromedp.WaitVisible(chromedp.CSS(`#linked-customer`)))
	waitJS(t, s, ctx, fmt.Sprintf(`!document.querySelector(%q)`, row))
	if r := s.api("GET", "/complaints/"+id, admin, nil).Map(t); r["customerId"] != cust {
		t.Errorf("the complaint is linked to %v, want %s", r["customerId"], cust)
	}
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#linked-customer`)), chromedp.WaitVisible(chromedp.CSS(`#customer-complaints`)))
	if txt := s.text(t, ctx, "#customer-complaints"); !strings.Contains(txt, "Parcel never came") {
		t.Errorf("the customer's complaints: %q", txt)
	}
}

// reassignScenario: an admin moves a departing rep's book from the
// customers screen's owner filter; the progress reaches done and the
// customers show the new owner. The stream consumer moves them, so it runs
// for this scenario as the local runtime runs it.
func reassignScenario(t *testing.T, s *site) {
	admin := s.e.Token("root", "admin")
	var ids []string
	for i := range 3 {
		ids = append(ids, s.api("POST", "/customers", admin, map[string]any{"name": fmt.Sprintf("Book %d", i), "email": fmt.Sprintf("book%d@example.com", i), "ownerId": "dora"}).Map(t)["id"].(string))
	}
	arn, err := streams.StreamARN(context.Background(), s.e.DB, s.e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := streams.New(s.e.StreamsClient(), arn, app.StreamHandler(s.e.Services, nil), streams.Options{PollInterval: 100 * time.Millisecond}).Run(pctx); err != nil {
			t.Errorf("stream consumer: %v", err)
		}
	}()
	t.Cleanup(func() { stop(); <-done })

	ctx := s.tab(t)
	s.signIn(t, ctx, "admin", "root")
	s.goTo(t, ctx, "#/customers?owner=dora")
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#reassign-book`)), chromedp.WaitVisible(chromedp.CSS(`main[data-ready="#/reassign?from=dora"] #reassign-form`)))
	if v := get(t, s, ctx, chromedp.Value(chromedp.CSS(`#reassign-form [name=from]`))); v != "dora" {
		t.Errorf("from %q, want the filtered owner", v)
	}
	// Moving a book to its own rep is refused beside the field.
	s.fill(t, ctx, "#reassign-form", map[string]string{"to": "dora"})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#reassign-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#reassign-form [data-error-for=to]:not(:empty)`)))
	s.accessible(t, ctx)
	s.fill(t, ctx, "#reassign-form", map[string]string{"to": "erin"})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#reassign-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#reassign-bar`)))
	s.run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#reassign-status[data-status=done]`)))
	if st := s.text(t, ctx, "#reassign-status"); !strings.Contains(st, "3 / 3") {
		t.Errorf("progress when done: %q", st)
	}
	if v := get(t, s, ctx, chromedp.Evaluate[float64](`document.getElementById('reassign-bar').position`)); v != 1 {
		t.Errorf("progress bar at %v when done", v)
	}
	s.accessible(t, ctx)
	s.shoot(t, ctx, "reassign")
	s.goTo(t, ctx, "#/customers/"+ids[0])
	if d := s.text(t, ctx, "#customer-details"); !strings.Contains(d, "erin") {
		t.Errorf("the customer after the reassignment: %q", d)
	}
}

// webhooksScenario: an admin registers an endpoint, sees its secret once,
// reads its delivery log (an event the receiver refused) and deletes it.
func webhooksScenario(t *testing.T, s *site) {
	admin := s.e.Token("root", "admin")
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer receiver.Close()
	hook := receiver.URL + "/hooks/crm"
	ctx := s.tab(t)
	s.signIn(t, ctx, "admin", "root")
	s.goTo(t, ctx, "#/webhooks")
	s.accessible(t, ctx)
	// No event and a URL that is not one: both refused beside their fields.
	s.fill(t, ctx, "#webhook-form", map[string]string{"url": "not a url"})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#webhook-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#webhook-form [data-error-for=url]:not(:empty)`)))
	if msg := s.text(t, ctx, `#webhook-form [data-error-for=events]`); msg == "" {
		t.Error("no error beside the events")
	}
	s.fill(t, ctx, "#webhook-form", map[string]string{"url": hook})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#webhook-form [name="event:complaint.created"]`)),
		chromedp.Click(chromedp.CSS(`#webhook-form [name="event:customer.created"]`)),
		chromedp.Click(chromedp.CSS(`#webhook-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#webhook-secret`)))
	secret := get(t, s, ctx, chromedp.Value(chromedp.CSS(`#webhook-secret`)))
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret shown: %q", secret)
	}
	var list struct {
		Items []struct {
			ID     string   `json:"id"`
			URL    string   `json:"url"`
			Events []string `json:"events"`
		} `json:"items"`
	}
	s.api("GET", "/webhooks", admin, nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].URL != hook || !sameSet(list.Items[0].Events, "customer.created", "complaint.created") {
		t.Fatalf("webhooks: %+v", list.Items)
	}
	id := list.Items[0].ID
	// The secret stays on screen through a language switch, relabelled.
	switchLang(t, s, ctx, "zh-CN")
	if v := get(t, s, ctx, chromedp.Value(chromedp.CSS(`#webhook-secret`))); v != secret || !strings.Contains(s.text(t, ctx, "#webhook-created"), "仅显示这一次") {
		t.Errorf("after a language switch the secret box shows %q, %q", v, s.text(t, ctx, "#webhook-created"))
	}
	switchLang(t, s, ctx, "en")
	waitJS(t, s, ctx, fmt.Sprintf(`!!document.querySelector('#webhook-list tr[data-webhook=%q]')`, id))
	// One event reaches it, as the stream consumer fans events out, and
	// one delivery attempt fails.
	ev := events.Event{ID: "evt_console_1", Type: events.CustomerCreated, At: time.Now().UTC(),
		Data: events.Data{EntityType: "customer", EntityID: "c_console_1", ActorID: "root", ChangedFields: []string{"name", "email"}}}
	if err := s.e.Services.Webhooks.Fanout(context.Background(), []events.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Worker(s.e.Services, 5*time.Second).RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.accessible(t, ctx)
	s.shoot(t, ctx, "webhooks")
	s.run(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[data-deliveries=%q]`, id))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-ready="#/webhooks/%s"]`, id))))
	row := s.text(t, ctx, `#delivery-list tr[data-status=failed]`)
	if !strings.Contains(row, "customer.created") || !strings.Contains(row, "evt_console_1") || !strings.Contains(row, "503") || !strings.Contains(row, "\t1\t") {
		t.Errorf("the delivery log's row: %q", row)
	}
	if body := s.text(t, ctx, "main"); strings.Contains(body, "whsec_") {
		t.Error("the delivery log shows the secret")
	}
	s.accessible(t, ctx)
	s.shoot(t, ctx, "webhook-deliveries")
	// Shown once: back on the list, the secret is gone.
	s.goTo(t, ctx, "#/webhooks")
	if n := get(t, s, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#webhook-secret').length`)); n != 0 {
		t.Error("the secret is shown again")
	}
	del := fmt.Sprintf(`button[data-delete=%q]`, id)
	s.run(t, ctx, chromedp.Click(chromedp.CSS(del)), chromedp.Click(chromedp.CSS(del)), chromedp.WaitVisible(chromedp.CSS(`#webhook-empty`)))
	if r := s.api("GET", "/webhooks", admin, nil); !strings.Contains(string(r.Body), `"items":[]`) {
		t.Errorf("after delete: %s", r.Body)
	}
}

// outcomesScenario: a resolved complaint's survey is answered; the
// dashboards show satisfaction, self-service, update cycle and churn with
// the numbers the API gives.
func outcomesScenario(t *testing.T, s *site) {
	admin, sam := s.e.Token("root", "admin"), s.e.Token("sam", "service")
	cust := s.api("POST", "/customers", admin, map[string]any{"name": "Survey Taker", "email": "survey.taker@example.com", "consent": map[string]any{"reminders": true}}).Map(t)["id"].(string)
	k := s.api("POST", "/complaints", sam, map[string]any{"customerId": cust, "channel": "phone", "category": "billing", "severity": "low", "subject": "Charged twice", "description": "Two charges"}).Map(t)["id"].(string)
	for _, body := range []map[string]any{{"to": "in_progress"}, {"to": "resolved", "resolution": map[string]any{"summary": "Refunded", "rootCause": "Billing system bug", "remedy": "Refund"}}} {
		if r := s.api("POST", "/complaints/"+k+"/transitions", sam, body); r.Status != 200 {
			t.Fatalf("transition: %d %s", r.Status, r.Body)
		}
	}
	var tok string
	for _, n := range s.e.Notifier.Sent() {
		if n.Kind == crm.NotifySurveyRequested && n.RecipientID == cust {
			_, tok, _ = strings.Cut(n.Link, "#")
		}
	}
	if r := s.api("POST", "/surveys/"+tok, "", map[string]any{"score": 4}); r.Status != 200 {
		t.Fatalf("survey answer: %d %s", r.Status, r.Body)
	}
	if _, err := s.e.Services.Table.Aggregates().Rebuild(context.Background(), s.e.Services.ReportPolicy, true, io.Discard); err != nil {
		t.Fatal(err)
	}
	ctx := s.tab(t)
	s.signIn(t, ctx, "admin", "root")
	s.goTo(t, ctx, "#/dashboards")
	s.run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#outcomes`)))
	kpi := func(id string) float64 {
		t.Helper()
		var v float64
		if err := json.Unmarshal([]byte(s.attr(t, ctx, fmt.Sprintf(`[data-kpi=%q]`, id), "data-value")), &v); err != nil {
			t.Fatalf("kpi %s: %v", id, err)
		}
		return v
	}
	near := func(a, b any) bool { x, _ := a.(float64); y, _ := b.(float64); return math.Abs(x-y) < 1e-9 }
	cr := s.api("GET", "/reports/complaints", admin, nil).Map(t)["satisfaction"].(map[string]any)
	if cr["responses"].(float64) < 1 {
		t.Fatalf("the report counts no survey response: %v", cr)
	}
	for _, k := range []string{"satisfiedRate", "responseRate", "mean"} {
		if got := kpi(k); !near(got, cr[k]) {
			t.Errorf("%s: dashboard %v, report %v", k, got, cr[k])
		}
	}
	if sent := s.text(t, ctx, `[data-kpi=responseRate]`); !strings.Contains(sent, fmt.Sprintf("sent %v", cr["sent"])) {
		t.Errorf("response card %q lacks sent %v", sent, cr["sent"])
	}
	if v := s.attr(t, ctx, `#chart-csat-category svg`, "data-values"); !strings.Contains(v, `["billing",`) {
		t.Errorf("satisfaction by category: %s", v)
	}
	dq := s.api("GET", "/reports/data-quality", admin, nil).Map(t)
	if got := kpi("selfServiceRate"); !near(got, dq["selfServiceRate"]) {
		t.Errorf("self-service: dashboard %v, report %v", got, dq["selfServiceRate"])
	}
	if got := kpi("suspectRate"); !near(got, dq["suspectRate"]) {
		t.Errorf("suspect: dashboard %v, report %v", got, dq["suspectRate"])
	}
	if got, want := kpi("updateCycle"), dq["updateCycle"].(map[string]any)["medianHours"]; !near(got, want) {
		t.Errorf("update cycle: dashboard %v, report %v", got, want)
	}
	if txt := s.text(t, ctx, `[data-kpi=updateCycle]`); !strings.Contains(txt, "24") {
		t.Errorf("update cycle card %q does not show its 24 h target", txt)
	}
	gr := s.api("GET", "/reports/customers", admin, nil).Map(t)["churn"].([]any)
	chart := s.attr(t, ctx, `#chart-churn svg`, "data-values")
	for _, m := range gr {
		m := m.(map[string]any)
		want := fmt.Sprintf(`[%q,%v,%v,%v,%v]`, m["month"].(string)[2:], m["new"], m["newlyDormant"], m["lost"], m["reactivated"])
		if !strings.Contains(chart, want) {
			t.Errorf("churn chart %s lacks %s", chart, want)
		}
		row := s.text(t, ctx, fmt.Sprintf(`#churn-table tr[data-month=%q]`, m["month"]))
		if !strings.Contains(row, fmt.Sprint(m["active"])) {
			t.Errorf("churn row %q lacks active %v", row, m["active"])
		}
	}
	s.accessible(t, ctx)
	s.run(t, ctx, js(`document.getElementById('outcomes').scrollIntoView()`))
	s.shoot(t, ctx, "dashboards-outcomes")
}

// sameSet reports whether got holds exactly want, in any order.
func sameSet(got []string, want ...string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// languageScenario: switching the language relabels a screen and keeps
// what its form holds and the errors shown beside it.
func languageScenario(t *testing.T, s *site) {
	ctx := s.tab(t)
	s.signIn(t, ctx, "sales", "lena")
	s.goTo(t, ctx, "#/customers")
	s.fill(t, ctx, "#customer-create", map[string]string{"name": "Half Filled", "email": "half@"})
	s.run(t, ctx, chromedp.Click(chromedp.CSS(`#customer-create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#customer-create [data-error-for=email]:not(:empty)`)))
	before := s.text(t, ctx, `#customer-create [data-error-for=email]`)
	switchLang(t, s, ctx, "zh-CN")
	if h := s.text(t, ctx, "#new-customer"); h != "新建客户" {
		t.Errorf("heading after the switch: %q", h)
	}
	for name, want := range map[string]string{"name": "Half Filled", "email": "half@"} {
		if v := get(t, s, ctx, chromedp.Value(chromedp.CSS(fmt.Sprintf(`#customer-create [name=%q]`, name)))); v != want {
			t.Errorf("%s after the switch: %q, want %q", name, v, want)
		}
	}
	if msg := s.text(t, ctx, `#customer-create [data-error-for=email]`); msg != before || s.attr(t, ctx, `#customer-create [name=email]`, "aria-invalid") != "true" {
		t.Errorf("the email error after the switch: %q, want %q", msg, before)
	}
	switchLang(t, s, ctx, "en")
	if v := get(t, s, ctx, chromedp.Value(chromedp.CSS(`#customer-create [name=name]`))); v != "Half Filled" {
		t.Errorf("name after switching back: %q", v)
	}
}

// switchLang picks a language with the switch, as a user would, and waits
// for the screen to render again. SetValue fires the select's change event
// itself; a second one would start a second render, racing the reads that
// follow.
func switchLang(t *testing.T, s *site, ctx context.Context, lang string) {
	t.Helper()
	s.run(t, ctx, js(`delete document.getElementById('main').dataset.ready`), chromedp.SetValue(chromedp.CSS(`#lang`), lang),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready]`)))
}
