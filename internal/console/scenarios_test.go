package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clientele-crm/clientele/internal/app"
)

// TestConsole drives the console and the self-service page in headless
// Chromium against the local runtime: one browser, a tab per scenario.
func TestConsole(t *testing.T) {
	s := newSite(t)
	ctx0 := context.Background()
	alice := s.e.Token("alice", "sales")
	admin := s.e.Token("root", "admin")

	t.Run("SignInAsEachRole", func(t *testing.T) {
		want := map[string][]string{
			"admin": {"Customers", "Complaints", "Reminders", "Dashboards", "Audit", "Access report"},
			"sales": {"Customers", "Complaints", "Reminders", "Dashboards"}, "service": {"Customers", "Complaints", "Reminders", "Dashboards"},
			"finance": {"Customers", "Reminders"}, "auditor": {"Customers", "Complaints", "Reminders", "Dashboards", "Audit", "Access report"},
		}
		for role, menu := range want {
			ctx := s.tab(t)
			s.signIn(t, ctx, role, "u-"+role)
			nav := s.text(t, ctx, "#nav")
			for _, m := range menu {
				if !strings.Contains(nav, m) {
					t.Errorf("%s: menu %q lacks %q", role, nav, m)
				}
			}
			if role == "finance" && strings.Contains(nav, "Audit") {
				t.Errorf("finance sees the audit menu: %q", nav)
			}
			if who := s.text(t, ctx, "#who"); !strings.Contains(who, "u-"+role) || !strings.Contains(who, role) {
				t.Errorf("%s: signed in as %q", role, who)
			}
		}
	})

	t.Run("FirstScreen", func(t *testing.T) {
		ctx := s.tab(t)
		s.signIn(t, ctx, "sales", "first")
		// A fresh load of the first screen, every file fetched again.
		s.run(t, ctx, js(`sessionStorage.setItem('lang', 'en')`))
		type load struct {
			Bytes int     `json:"bytes"`
			Files int     `json:"files"`
			Ready float64 `json:"ready"`
		}
		s.run(t, ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(s.url+"/#/customers"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
		got := get(t, s, ctx, chromedp.Evaluate[load](`(() => {
			const own = (e) => new URL(e.name).origin === location.origin && !/\/(customers|reminders|complaints|reports|audit)/.test(new URL(e.name).pathname);
			const files = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource').filter(own)];
			return { bytes: files.reduce((n, e) => n + e.encodedBodySize, 0), files: files.length,
				ready: performance.getEntriesByName('console-ready')[0].startTime };
		})()`))
		t.Logf("first screen: %d files, %d bytes compressed, interactive after %.0f ms", got.Files, got.Bytes, got.Ready)
		if got.Bytes > 150<<10 || got.Files < 5 {
			t.Errorf("first screen: %d files, %d bytes compressed; the budget is 150 KB", got.Files, got.Bytes)
		}
	})

	var firstID string
	t.Run("CreateWithErrorsThenCorrect", func(t *testing.T) {
		ctx := s.tab(t)
		s.signIn(t, ctx, "sales", "alice")
		s.goTo(t, ctx, "#/customers")
		s.accessible(t, ctx)
		s.fill(t, ctx, "#customer-create", map[string]string{"name": "Zhang San", "email": "not-an-email", "address.line1": "1 Road"})
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#customer-create button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#customer-create [data-error-for="email"]:not(:empty)`)))
		if msg := s.text(t, ctx, `#customer-create [data-error-for="address.country"]`); msg == "" {
			t.Error("no error shown next to the address's country")
		}
		var invalid string
		invalid = s.attr(t, ctx, `#customer-create [name=email]`, "aria-invalid")
		if invalid != "true" {
			t.Errorf("email field aria-invalid=%q", invalid)
		}
		s.shoot(t, ctx, "customer-errors")
		s.fill(t, ctx, "#customer-create", map[string]string{"email": "zhang.san@example.com", "address.country": "CN", "phone": "13800138000"})
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#customer-create button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#customer-details`)))
		loc := get(t, s, ctx, chromedp.Location())
		firstID = loc[strings.LastIndex(loc, "/")+1:]
		if d := s.text(t, ctx, "#customer-details"); !strings.Contains(d, "zhang.san@example.com") || !strings.Contains(d, "+8613800138000") {
			t.Errorf("details after create: %q", d)
		}
		s.accessible(t, ctx)
		s.shoot(t, ctx, "customer-detail")
	})

	t.Run("Duplicate", func(t *testing.T) {
		need(t, firstID)
		ctx := s.tab(t)
		s.signIn(t, ctx, "sales", "alice")
		s.goTo(t, ctx, "#/customers")
		// The list, before the form is filled.
		s.shoot(t, ctx, "customers")
		s.fill(t, ctx, "#customer-create", map[string]string{"name": "Zhang Three", "email": "ZHANG.SAN@example.com"})
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#customer-create button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#duplicate-link`)))
		href := s.attr(t, ctx, `#duplicate-link`, "href")
		if href != "#/customers/"+firstID {
			t.Errorf("duplicate links to %q, want the first customer %s", href, firstID)
		}
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#duplicate-link`)), chromedp.WaitVisible(chromedp.CSS(`#customer-details`)))
	})

	t.Run("StaleEdit", func(t *testing.T) {
		need(t, firstID)
		ctx := s.tab(t)
		s.signIn(t, ctx, "sales", "alice")
		s.goTo(t, ctx, "#/customers/"+firstID)
		s.fill(t, ctx, "#customer-edit", map[string]string{"company": "Acme Trading"})
		// Someone else saves first.
		cur := s.api("GET", "/customers/"+firstID, alice, nil)
		if r := s.api("PATCH", "/customers/"+firstID, alice, map[string]any{"segment": "vip"}, "If-Match", cur.Header.Get("ETag")); r.Status != 200 {
			t.Fatalf("concurrent edit: %d %s", r.Status, r.Body)
		}
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#customer-edit button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#stale-edit`)))
		if v := s.text(t, ctx, "#stale-edit"); !strings.Contains(v, "vip") {
			t.Errorf("the stale-edit view does not show the other user's version: %q", v)
		}
		s.shoot(t, ctx, "stale-edit")
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#reapply`)), chromedp.Sleep(300*time.Millisecond), chromedp.WaitVisible(chromedp.CSS(`#customer-details`)))
		var got map[string]any
		deadline := time.Now().Add(5 * time.Second)
		for {
			got = s.api("GET", "/customers/"+firstID, alice, nil).Map(t)
			if got["company"] == "Acme Trading" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got["company"] != "Acme Trading" || got["segment"] != "vip" {
			t.Errorf("after reapplying: company %v, segment %v", got["company"], got["segment"])
		}
	})

	t.Run("ComplaintToClosed", func(t *testing.T) {
		need(t, firstID)
		ctx := s.tab(t)
		s.signIn(t, ctx, "service", "sam")
		s.goTo(t, ctx, "#/complaints")
		s.fill(t, ctx, "#complaint-form", map[string]string{"customerId": firstID, "category": "delivery", "subject": "Parcel crushed", "description": "Box arrived damaged", "severity": "high"})
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#complaint-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#complaint-status`)))
		if st := s.text(t, ctx, "#complaint-status"); st != "acknowledged" {
			t.Fatalf("new complaint status %q", st)
		}
		s.accessible(t, ctx)
		s.shoot(t, ctx, "complaint")
		loc := get(t, s, ctx, chromedp.Location())
		hash := loc[strings.Index(loc, "#"):]
		opts := s.text(t, ctx, `#transition-form select[name=to]`)
		if strings.Contains(opts, "closed") || !strings.Contains(opts, "in progress") {
			t.Errorf("transitions offered from acknowledged: %q", opts)
		}
		step := func(to string, extra map[string]string, accepted bool) {
			s.run(t, ctx, chromedp.SetValue(chromedp.CSS(`#transition-form select[name=to]`), to),
				js(`document.querySelector('#transition-form select[name=to]').dispatchEvent(new Event('change'))`))
			s.fill(t, ctx, "#transition-form", extra)
			// The answer re-renders the page: wait for that, not for the
			// page as it was.
			s.run(t, ctx, js(`delete document.getElementById('main').dataset.ready`), chromedp.Click(chromedp.CSS(`#transition-form button[type=submit]`)))
			if accepted {
				s.run(t, ctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-ready=%q]`, hash))))
			}
		}
		step("in_progress", map[string]string{"note": "Calling the courier"}, true)
		waitText(t, s, ctx, "#complaint-status", "in progress")
		// Resolving without a resolution shows the errors by their fields.
		step("resolved", map[string]string{"note": "done"}, false)
		s.run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#transition-form [data-error-for="resolution.rootCause"]:not(:empty)`)))
		step("resolved", map[string]string{"resolution.summary": "Replaced", "resolution.rootCause": "Courier handling", "resolution.remedy": "New parcel sent"}, true)
		waitText(t, s, ctx, "#complaint-status", "resolved")
		step("closed", map[string]string{}, true)
		waitText(t, s, ctx, "#complaint-status", "closed")
		if tl := s.text(t, ctx, "#timeline"); !strings.Contains(tl, "Calling the courier") {
			t.Errorf("timeline: %q", tl)
		}
		s.goTo(t, ctx, "#/complaints?queue=team")
		s.shoot(t, ctx, "complaints")
	})

	t.Run("ReminderDone", func(t *testing.T) {
		need(t, firstID)
		follow := time.Now().Add(1500 * time.Millisecond)
		if r := s.api("POST", "/customers/"+firstID+"/interactions", alice, map[string]any{"kind": "call", "at": time.Now().Add(-time.Hour), "summary": "Asked for a quote", "followUpAt": follow}); r.Status != 201 {
			t.Fatalf("interaction: %d %s", r.Status, r.Body)
		}
		time.Sleep(time.Until(follow) + 100*time.Millisecond)
		if _, err := app.RunReminders(ctx0, s.e.Services.API, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		ctx := s.tab(t)
		s.signIn(t, ctx, "sales", "alice")
		s.goTo(t, ctx, "#/reminders?tab=overdue")
		s.accessible(t, ctx)
		s.shoot(t, ctx, "reminders")
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#reminder-list button[data-reminder]`)))
		waitJS(t, s, ctx, `document.querySelectorAll('#reminder-list button[data-reminder]').length === 0`)
		s.goTo(t, ctx, "#/reminders?tab=done")
		// The done list loads after the tab shows: wait for it.
		waitJS(t, s, ctx, `((document.querySelector('#reminder-list tbody') || {}).innerText || '').includes('follow_up')`)
	})

	t.Run("Dashboards", func(t *testing.T) {
		for i, seg := range []string{"retail", "retail", "vip"} {
			if r := s.api("POST", "/customers", admin, map[string]any{"name": fmt.Sprintf("Dash %d", i), "email": fmt.Sprintf("dash%d@example.com", i), "segment": seg, "ownerId": "bob"}); r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
		}
		if _, err := s.e.Services.Table.Aggregates().Rebuild(ctx0, s.e.Services.ReportPolicy, true, io.Discard); err != nil {
			t.Fatal(err)
		}
		ctx := s.tab(t)
		s.signIn(t, ctx, "admin", "root")
		s.goTo(t, ctx, "#/dashboards")
		for _, id := range []string{"chart-dq", "chart-dq-owner", "chart-weekly", "chart-times", "chart-rootcauses", "chart-growth", "chart-growth-segment", "chart-segment"} {
			n := get(t, s, ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('#%s svg rect').length`, id)))
			if n == 0 {
				t.Errorf("chart %s drew no bars", id)
			}
		}
		var seg string
		seg = s.attr(t, ctx, `#chart-segment svg`, "data-values")
		// Two customers were made by the sales rep above with segment vip
		// after the stale edit, and these three.
		want := s.api("GET", "/reports/customers", admin, nil).Map(t)["bySegment"].(map[string]any)
		for k, v := range want {
			if !strings.Contains(seg, fmt.Sprintf(`[%q,%v]`, k, v)) {
				t.Errorf("segment chart %s lacks %s=%v", seg, k, v)
			}
		}
		if want["retail"] != float64(2) {
			t.Errorf("report bySegment %v", want)
		}
		// New customers per month × segment: one group per month, one bar
		// per segment, with the report's numbers; this month holds the
		// two retail customers made above.
		growth := s.api("GET", "/reports/customers", admin, nil).Map(t)
		bySeg, _ := growth["newPerMonthBySegment"].(map[string]any)
		month := time.Now().UTC().Format("2006-01")
		if cur, _ := bySeg[month].(map[string]any); cur["retail"] != float64(2) {
			t.Errorf("report newPerMonthBySegment %v: this month's retail customers", bySeg)
		}
		months := slices.Sorted(maps.Keys(growth["newPerMonth"].(map[string]any)))
		segSet := map[string]bool{}
		for _, m := range bySeg {
			for k := range m.(map[string]any) {
				segSet[k] = true
			}
		}
		segs := slices.Sorted(maps.Keys(segSet))
		var rows [][]any
		for _, m := range months {
			row := []any{m}
			cur, _ := bySeg[m].(map[string]any)
			for _, sg := range segs {
				n, _ := cur[sg].(float64)
				row = append(row, int64(n))
			}
			rows = append(rows, row)
		}
		wantGrowth, _ := json.Marshal(rows)
		if got := s.attr(t, ctx, `#chart-growth-segment svg`, "data-values"); got != string(wantGrowth) {
			t.Errorf("month × segment chart %s, want %s", got, wantGrowth)
		}
		var roots string
		roots = s.attr(t, ctx, `#chart-rootcauses svg`, "data-values")
		if !strings.Contains(strings.ToLower(roots), "courier handling") {
			t.Errorf("root causes chart: %s", roots)
		}
		s.accessible(t, ctx)
		s.shoot(t, ctx, "dashboards")
		s.goTo(t, ctx, "#/audit")
		s.accessible(t, ctx)
		s.shoot(t, ctx, "audit")
		s.goTo(t, ctx, "#/access")
		s.shoot(t, ctx, "access")
	})

	t.Run("AuditorSeesMasked", func(t *testing.T) {
		need(t, firstID)
		ctx := s.tab(t)
		s.signIn(t, ctx, "auditor", "audrey")
		s.goTo(t, ctx, "#/customers/"+firstID)
		d := s.text(t, ctx, "#customer-details")
		if strings.Contains(d, "zhang.san@example.com") || strings.Contains(d, "13800138000") || !strings.Contains(d, "•") {
			t.Errorf("auditor sees %q", d)
		}
		n := get(t, s, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#customer-edit').length`))
		if n != 0 {
			t.Error("the auditor is offered an edit form")
		}
	})

	t.Run("MaskedNotEditable", func(t *testing.T) {
		need(t, firstID)
		ctx := s.tab(t)
		s.signIn(t, ctx, "service", "sam")
		if r := s.api("PATCH", "/customers/"+firstID, admin, map[string]any{"nationalId": "110101199003071234"}); r.Status != 200 {
			t.Fatalf("set national id: %d %s", r.Status, r.Body)
		}
		s.goTo(t, ctx, "#/customers/"+firstID)
		ro := get(t, s, ctx, chromedp.Evaluate[bool](`document.querySelector('#customer-edit [name=nationalId]').readOnly`))
		if !ro {
			t.Error("a masked national id is editable")
		}
	})

	t.Run("SalesCannotReachAnotherRepsCustomer", func(t *testing.T) {
		bobs := s.api("POST", "/customers", s.e.Token("bob", "sales"), map[string]any{"name": "Bob's Client", "email": "client.of.bob@example.com"}).Map(t)["id"].(string)
		ctx := s.tab(t)
		s.signIn(t, ctx, "sales", "alice")
		s.goTo(t, ctx, "#/customers/"+bobs)
		var status string
		status = s.attr(t, ctx, `main [role=alert]`, "data-status")
		if status != "404" || strings.Contains(s.text(t, ctx, "main"), "Bob's Client") {
			t.Errorf("sales rep reached another rep's customer: status %q, page %q", status, s.text(t, ctx, "main"))
		}
	})

	t.Run("SelfService", func(t *testing.T) {
		need(t, firstID)
		link := s.api("POST", "/customers/"+firstID+"/portal-links", alice, nil).Map(t)["url"].(string)
		if !strings.Contains(link, "/self-service#") {
			t.Fatalf("portal link %q does not open the self-service page", link)
		}
		page := s.url + "/self-service" + link[strings.Index(link, "#"):]
		ctx := s.tab(t)
		s.run(t, ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#ss-form`)))
		s.accessible(t, ctx)
		s.shoot(t, ctx, "self-service")
		s.fill(t, ctx, "#ss-form", map[string]string{"email": "broken@"})
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#ss-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#ss-form [data-error-for=email]:not(:empty)`)))
		s.fill(t, ctx, "#ss-form", map[string]string{"email": "zhang.new@example.org"})
		s.run(t, ctx, chromedp.Click(chromedp.CSS(`#ss-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#ss-saved`)))
		staff := s.tab(t)
		s.signIn(t, staff, "sales", "alice")
		s.goTo(t, staff, "#/customers/"+firstID)
		if d := s.text(t, staff, "#customer-details"); !strings.Contains(d, "zhang.new@example.org") {
			t.Errorf("staff view after the customer's correction: %q", d)
		}
		// A used link, like an expired one, says so plainly.
		s.run(t, ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#ss-expired`)))
		s.shoot(t, ctx, "self-service-expired")
	})

	t.Run("ExpiredLink", func(t *testing.T) {
		ctx := s.tab(t)
		// A token whose signature or expiry fails is answered like an
		// expired link.
		s.run(t, ctx, chromedp.Navigate(s.url+"/self-service#v1.expired.token"), chromedp.WaitVisible(chromedp.CSS(`#ss-expired`)))
		if v := s.text(t, ctx, "#ss-expired"); !strings.Contains(v, "expired") {
			t.Errorf("expired link shows %q", v)
		}
	})

	// Triage, bulk reassignment, webhooks, outcome KPIs, and the language
	// switch that keeps a form (ops_scenarios_test.go).
	t.Run("TriageLink", func(t *testing.T) { triageScenario(t, s) })
	t.Run("ReassignBook", func(t *testing.T) { reassignScenario(t, s) })
	t.Run("Webhooks", func(t *testing.T) { webhooksScenario(t, s) })
	t.Run("Outcomes", func(t *testing.T) { outcomesScenario(t, s) })
	t.Run("LanguageSwitchKeepsForm", func(t *testing.T) { languageScenario(t, s) })
	// Data stewardship: approvals inbox, imports, likely duplicates, consent
	// history and the self-service consent toggles.
	t.Run("StewardshipMenus", func(t *testing.T) {
		menus := map[string]struct{ has, lacks []string }{
			"admin":   {has: []string{"Approvals", "Imports", "Likely duplicates"}},
			"finance": {has: []string{"Approvals"}, lacks: []string{"Imports", "Likely duplicates"}},
			"service": {has: []string{"Likely duplicates"}, lacks: []string{"Approvals", "Imports"}},
			"sales":   {lacks: []string{"Approvals", "Imports", "Likely duplicates"}},
		}
		for role, m := range menus {
			ctx := s.tab(t)
			s.signIn(t, ctx, role, "menu-"+role)
			nav := s.text(t, ctx, "#nav")
			for _, x := range m.has {
				if !strings.Contains(nav, x) {
					t.Errorf("%s: menu %q lacks %q", role, nav, x)
				}
			}
			for _, x := range m.lacks {
				if strings.Contains(nav, x) {
					t.Errorf("%s: menu %q offers %q", role, nav, x)
				}
			}
		}
	})

	t.Run("ApprovalsInbox", func(t *testing.T) {
		c := s.api("POST", "/customers", admin, map[string]any{"name": "Four Eyes Ltd", "email": "four.eyes@example.com", "billing": map[string]any{"bankAccount": "6222020200112233"}})
		if c.Status != 201 {
			t.Fatalf("create: %d %s", c.Status, c.Body)
		}
		id := c.Map(t)["id"].(string)
		root := s.tab(t)
		s.signIn(t, root, "admin", "root")
		s.goTo(t, root, "#/customers/"+id)
		s.fill(t, root, "#customer-edit", map[string]string{"billing.bankAccount": "6222020200998877"})
		s.run(t, root, chromedp.Click(chromedp.CSS(`#customer-edit button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#approval-pending`)))
		if msg := s.text(t, root, "#approval-pending"); !strings.Contains(msg, "Waiting for approval") {
			t.Errorf("after a billing edit the customer screen says %q", msg)
		}
		billing := func() any {
			return s.api("GET", "/customers/"+id, admin, nil).Map(t)["billing"].(map[string]any)["bankAccount"]
		}
		if got := billing(); got != "6222020200112233" {
			t.Fatalf("the billing edit applied before approval: %v", got)
		}
		approval := s.attr(t, root, "#approval-pending", "data-approval")
		card := fmt.Sprintf(`#approval-list li[data-approval=%q]`, approval)
		s.goTo(t, root, "#/approvals")
		if link := s.attr(t, root, card+` a`, "href"); link != "#/customers/"+id {
			t.Errorf("the request links to %q", link)
		}
		if f := s.text(t, root, card); !strings.Contains(f, "billing") || !strings.Contains(f, "root") {
			t.Errorf("the request shows %q, want the field and the requester", f)
		}
		s.accessible(t, root)
		s.shoot(t, root, "approvals")
		// Approving one's own request is refused.
		s.run(t, root, chromedp.Click(chromedp.CSS(card+` button[data-approve]`)), chromedp.WaitVisible(chromedp.CSS(card+` [role=alert][data-status="403"]`)))
		if msg := s.text(t, root, card+` [role=alert]`); !strings.Contains(msg, "different person") {
			t.Errorf("approving one's own request shows %q", msg)
		}
		fin := s.tab(t)
		s.signIn(t, fin, "finance", "fiona")
		s.goTo(t, fin, "#/approvals")
		s.run(t, fin, chromedp.Click(chromedp.CSS(card+` button[data-approve]`)), chromedp.WaitVisible(chromedp.CSS(card+` .success`)))
		if got := billing(); got != "6222020200998877" {
			t.Errorf("after approval the billing is %v", got)
		}
		// The requester's page still offers the decided request.
		s.run(t, root, chromedp.Click(chromedp.CSS(card+` button[data-reject]`)), chromedp.WaitVisible(chromedp.CSS(card+` [role=alert][data-status="409"]`)))
		if msg := s.text(t, root, card+` [role=alert]`); !strings.Contains(msg, "already decided") {
			t.Errorf("deciding a decided request shows %q", msg)
		}
	})

	t.Run("ImportWithARejectedRow", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "customers.csv")
		csv := "name,email,segment\nImported One,imported.one@example.com,retail\nImported Two,not-an-email,retail\n"
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx := s.tab(t)
		s.signIn(t, ctx, "admin", "root")
		s.goTo(t, ctx, "#/imports")
		s.run(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`#import-form input[name=file]`), []string{file}),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#import-status[data-status=done]`)),
			chromedp.WaitVisible(chromedp.CSS(`#rejected-rows tr[data-row="2"]`)))
		if v, m := s.attr(t, ctx, "#import-bar", "value"), s.attr(t, ctx, "#import-bar", "max"); v != "2" || m != "2" {
			t.Errorf("progress %s of %s, want 2 of 2", v, m)
		}
		counts := map[string]string{}
		for _, k := range []string{"rows", "created", "rejectedCount"} {
			counts[k] = s.text(t, ctx, fmt.Sprintf(`#import-counts [data-count=%q]`, k))
		}
		if counts["rows"] != "2" || counts["created"] != "1" || counts["rejectedCount"] != "1" {
			t.Errorf("counts %v", counts)
		}
		rows := s.text(t, ctx, "#rejected-rows tbody")
		if !strings.Contains(rows, "email") || strings.Contains(rows, "not-an-email") || strings.Contains(rows, "Imported") {
			t.Errorf("rejected rows show %q: want the bad row's error, never its values", rows)
		}
		if n := get(t, s, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#rejected-rows tbody tr').length`)); n != 1 {
			t.Errorf("%d rejected rows shown, want 1", n)
		}
		s.accessible(t, ctx)
		s.shoot(t, ctx, "imports")
	})

	t.Run("LikelyDuplicates", func(t *testing.T) {
		a := s.api("POST", "/customers", admin, map[string]any{"name": "Wang Fang", "company": "Blue Sky Trading", "phone": "13700001111", "ownerId": "alice"}).Map(t)["id"].(string)
		b := s.api("POST", "/customers", admin, map[string]any{"name": "wang  FANG", "company": "BLUE SKY trading", "email": "wang.fang@bluesky.example", "ownerId": "bob"}).Map(t)["id"].(string)
		newStreamDelivery(t, s).settle(t)
		pair := fmt.Sprintf(`#duplicate-list li[data-pair=%q]`, min(a, b)+" "+max(a, b))
		ctx := s.tab(t)
		s.signIn(t, ctx, "service", "sam")
		s.goTo(t, ctx, "#/duplicates")
		for _, r := range []string{"same_name", "same_company"} {
			if n := get(t, s, ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('%s [data-reason=%s]').length`, pair, r))); n != 1 {
				t.Errorf("the pair does not give the reason %s", r)
			}
		}
		if txt := s.text(t, ctx, pair); !strings.Contains(txt, "same company") || !strings.Contains(txt, "Blue Sky Trading") || !strings.Contains(txt, "wang.fang@bluesky.example") {
			t.Errorf("the pair shows %q", txt)
		}
		if n := get(t, s, ctx, chromedp.Evaluate[int](`document.querySelectorAll('form.merge').length`)); n != 0 {
			t.Error("the service desk is offered a merge")
		}
		adm := s.tab(t)
		s.signIn(t, adm, "admin", "root")
		s.goTo(t, adm, "#/duplicates")
		s.run(t, adm, chromedp.Click(chromedp.CSS(pair+` details > summary`)), chromedp.WaitVisible(chromedp.CSS(pair+` form.merge button[type=submit]`)))
		s.accessible(t, adm)
		s.shoot(t, adm, "duplicates")

		// Merge, keeping the first record and taking the other's company;
		// the field the survivor lacks (a phone or an e-mail) is filled from
		// the other; then undo.
		company := map[string]string{a: "Blue Sky Trading", b: "BLUE SKY trading"}
		keep, gone := min(a, b), max(a, b)
		// The screenshots re-render the page, closing the form: open it again.
		s.run(t, adm, js(fmt.Sprintf(`document.querySelector('%s details').open = true`, pair)), chromedp.WaitVisible(chromedp.CSS(pair+` form.merge button[type=submit]`)),
			chromedp.Click(chromedp.CSS(pair+` form.merge input[name="prefer.company"][value=from]`)),
			chromedp.Click(chromedp.CSS(pair+` form.merge button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(pair+` #merge-done`)))
		got := s.api("GET", "/customers/"+keep, admin, nil).Map(t)
		if got["company"] != company[gone] || got["email"] != "wang.fang@bluesky.example" || got["phone"] != "+8613700001111" {
			t.Errorf("survivor after the merge: company %v, email %v, phone %v", got["company"], got["email"], got["phone"])
		}
		// An edit since the merge of a field it took stands in the way of
		// the undo, which names it; set back, the undo goes through.
		patch := func(v string) {
			t.Helper()
			if r := s.api("PATCH", "/customers/"+keep, admin, map[string]any{"company": v}); r.Status != 200 {
				t.Fatalf("edit after the merge: %d %s", r.Status, r.Body)
			}
		}
		patch("Blue Sky Holdings")
		s.run(t, adm, chromedp.Click(chromedp.CSS(pair+` button.undo`)), chromedp.WaitVisible(chromedp.CSS(pair+` [role=alert]`)))
		if st, msg := s.attr(t, adm, pair+` [role=alert]`, "data-status"), s.text(t, adm, pair+` [role=alert]`); st != "409" || !strings.Contains(msg, "edited since") || !strings.Contains(msg, "company") {
			t.Errorf("undoing after an edit answers %s and shows %q", st, msg)
		}
		patch(company[gone])
		s.run(t, adm, chromedp.Click(chromedp.CSS(pair+` button.undo`)), chromedp.WaitVisible(chromedp.CSS(pair+` #undo-done`)))
		got = s.api("GET", "/customers/"+keep, admin, nil).Map(t)
		// The field the survivor only had from the other record is gone again.
		filled := map[string]string{a: "email", b: "phone"}[keep]
		if got["company"] != company[keep] || got[filled] != nil {
			t.Errorf("survivor after the undo: company %v, %s %v; want %v and none", got["company"], filled, got[filled], company[keep])
		}
		if r := s.api("GET", "/customers/"+gone, admin, nil); r.Status != 200 || r.Map(t)["company"] != company[gone] {
			t.Errorf("the merged-away customer after the undo: %d %s", r.Status, r.Body)
		}
	})

	t.Run("ConsentHistoryFromSelfService", func(t *testing.T) {
		id := s.api("POST", "/customers", alice, map[string]any{"name": "Consent Case", "email": "consent.case@example.com", "phone": "13600001234"}).Map(t)["id"].(string)
		link := s.api("POST", "/customers/"+id+"/portal-links", alice, nil).Map(t)["url"].(string)
		ctx := s.tab(t)
		s.run(t, ctx, chromedp.Navigate(s.url+"/self-service"+link[strings.Index(link, "#"):]), chromedp.WaitVisible(chromedp.CSS(`#ss-consent`)))
		s.accessible(t, ctx)
		// The customer also clears their phone: an emptied field removes it.
		s.run(t, ctx, js(`document.querySelector('#ss-form [name=phone]').value = ''`), chromedp.Click(chromedp.CSS(`#ss-form [name="consent.marketing"]`)),
			chromedp.Click(chromedp.CSS(`#ss-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#ss-saved`)))
		after := s.api("GET", "/customers/"+id, alice, nil).Map(t)
		if got := after["consent"].(map[string]any); got["marketing"] != true || got["reminders"] == true {
			t.Errorf("consent after the customer's change: %v", got)
		}
		if after["phone"] != nil || after["email"] != "consent.case@example.com" {
			t.Errorf("after clearing the phone: phone %v, email %v", after["phone"], after["email"])
		}
		staff := s.tab(t)
		s.signIn(t, staff, "sales", "alice")
		s.goTo(t, staff, "#/customers/"+id)
		row := `#consent-history tr[data-source=portal][data-purpose=marketing]`
		if r := s.text(t, staff, row); !strings.Contains(r, "yes") || !strings.Contains(r, "self-service") || !strings.Contains(r, "customer:"+id) {
			t.Errorf("consent history row %q", r)
		}
		if n := get(t, s, staff, chromedp.Evaluate[int](`document.querySelectorAll('#consent-history tr[data-source=portal]').length`)); n != 1 {
			t.Errorf("%d portal consent records, want the one change", n)
		}
		s.accessible(t, staff)
		s.shoot(t, staff, "consent-history")
	})
}

// need stops a scenario that builds on the customer an earlier one made.
func need(t *testing.T, id string) {
	if id == "" {
		t.Fatal("the customer the create scenario makes is missing")
	}
}

// waitJS polls a condition the page re-renders into.
func waitJS(t *testing.T, s *site, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !get(t, s, ctx, chromedp.Evaluate[bool](cond)) {
		if time.Now().After(deadline) {
			t.Fatalf("still not true after 5s: %s", cond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitText(t *testing.T, s *site, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := get(t, s, ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ''`, sel)))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s shows %q, want %q", sel, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHeaders checks what every console response carries.
func TestHeaders(t *testing.T) {
	s := newSite(t)
	for _, p := range []string{"/", "/self-service", "/js/app.js", "/app.css", "/local/sign-in"} {
		resp, err := http.Get(s.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "script-src 'self'") ||
			resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: %d, CSP %q, Referrer-Policy %q", p, resp.StatusCode, csp, resp.Header.Get("Referrer-Policy"))
		}
	}
}
