package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

type reminderList struct {
	Items      []crm.Reminder
	NextCursor string
}

// person is a customer's create body with a distinct email.
func person(name string, i int) map[string]any {
	return map[string]any{"name": name, "email": fmt.Sprintf("person%d@example.com", i)}
}

func runReminders(e *testenv.Env, asOf time.Time) crm.RunReport {
	e.TB.Helper()
	rep, err := e.Services.API.Reminders.Run(context.Background(), asOf)
	if err != nil {
		e.TB.Fatalf("run as of %s: %v", asOf, err)
	}
	return rep
}

func created(rep crm.RunReport) int {
	n := 0
	for _, c := range rep.Created {
		n += c
	}
	return n
}

// sentSince returns the notifications recorded after the first n.
func sentSince(e *testenv.Env, n int) []crm.Notification { return e.Notifier.Sent()[n:] }

func countKinds(notes []crm.Notification) map[string]int {
	out := map[string]int{}
	for _, n := range notes {
		out[n.Kind+"/"+n.RecipientType]++
	}
	return out
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestReminderRunMovesThroughTheClock moves the run's clock across an SLA
// warning, a follow-up date, an SLA breach and a review period, running
// each instant twice, and counts reminders and notifications exactly.
func TestReminderRunMovesThroughTheClock(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) {
		c.Assignment = crm.Assignment{Mode: crm.AssignRoundRobin, Agents: []string{"sam"}}
	}))
	alice, sam := e.Token("alice", "sales"), e.Token("sam", "service")
	t0 := time.Now().UTC()
	consenting := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "consent": map[string]any{"reminders": true}})
	quiet := mustCreate(e, alice, map[string]any{"name": "Zhang San", "email": "zhang.san@example.com"})
	if r := post(e, alice, "/customers/"+quiet+"/interactions", map[string]any{"kind": "call", "at": t0.Format(time.RFC3339),
		"summary": "Asked for a quote", "followUpAt": t0.Add(48 * time.Hour).Format(time.RFC3339)}); r.Status != http.StatusCreated {
		t.Fatalf("interaction: %d %s", r.Status, r.Body)
	}
	c := fileComplaint(e, sam, consenting, "medium") // 24 h target: warned at 18 h, breached at 24 h
	base := len(e.Notifier.Sent())

	steps := []struct {
		name    string
		at      time.Duration
		created map[string]int
		notes   map[string]int
	}{
		{"nothing due yet", time.Hour, map[string]int{}, map[string]int{}},
		{"75% of the SLA used", 19 * time.Hour, map[string]int{crm.ReminderSLAWarning: 1}, map[string]int{"reminder_due/staff": 1}},
		{"follow-up date and breach", 72 * time.Hour, map[string]int{crm.ReminderFollowUp: 1, crm.ReminderSLABreach: 1},
			map[string]int{"reminder_due/staff": 2, "complaint_escalated/staff": 1}},
		{"review period over", 181 * 24 * time.Hour, map[string]int{crm.ReminderStaleCustomer: 2},
			map[string]int{"reminder_due/staff": 2, "review_requested/customer": 1}},
	}
	for _, st := range steps {
		for run := 1; run <= 2; run++ {
			before := len(e.Notifier.Sent())
			rep := runReminders(e, t0.Add(st.at))
			want, wantNotes := st.created, st.notes
			if run == 2 {
				want, wantNotes = map[string]int{}, map[string]int{}
			}
			if !equalCounts(rep.Created, want) || rep.Failed != 0 {
				t.Errorf("%s, run %d: created %v failed %d, want %v", st.name, run, rep.Created, rep.Failed, want)
			}
			if got := countKinds(sentSince(e, before)); !equalCounts(got, wantNotes) {
				t.Errorf("%s, run %d: notifications %v, want %v", st.name, run, got, wantNotes)
			}
		}
	}

	// The breach escalated the complaint once, as the system, in its timeline.
	var got complaint
	get(e, sam, "/complaints/"+c.ID).JSON(t, &got)
	last := got.Timeline[len(got.Timeline)-1]
	if got.EscalationLevel != 1 || last.Action != "escalated" || last.ActorID != crm.SystemActor.ID || got.Version != c.Version+1 {
		t.Errorf("after breach: level %d, last entry %+v, version %d", got.EscalationLevel, last, got.Version)
	}

	// The consenting customer's review request carries a working portal link.
	var link string
	for _, n := range sentSince(e, base) {
		if n.Kind == crm.NotifyReviewRequested {
			link = n.Link
			if n.RecipientID != consenting {
				t.Errorf("review request went to %s", n.RecipientID)
			}
		}
	}
	token := link[strings.LastIndex(link, "#")+1:]
	if r := e.Do(testenv.Request{Method: "GET", Path: "/portal/" + token}); r.Status != http.StatusOK {
		t.Errorf("portal link from the reminder: %d %s", r.Status, r.Body)
	}

	// Alice's list: one reminder of each kind she is responsible for.
	var mine reminderList
	get(e, alice, "/reminders").JSON(t, &mine)
	kinds := map[string]int{}
	for _, r := range mine.Items {
		kinds[r.Kind]++
		if r.AssigneeID != "alice" || r.Status != crm.ReminderOpen {
			t.Errorf("alice's list holds %+v", r)
		}
	}
	if !equalCounts(kinds, map[string]int{crm.ReminderStaleCustomer: 2, crm.ReminderFollowUp: 1}) {
		t.Errorf("alice's reminders by kind: %v", kinds)
	}
	var slas reminderList
	get(e, sam, "/reminders?kind=sla_breach").JSON(t, &slas)
	if len(slas.Items) != 1 || slas.Items[0].SubjectID != c.ID || !slas.Items[0].DueAt.Equal(c.SLADueAt) {
		t.Errorf("sam's breach reminders: %+v", slas.Items)
	}
}

func TestReminderDoneAndList(t *testing.T) {
	e := testenv.New(t)
	alice, bob, admin, auditor := e.Token("alice", "sales"), e.Token("bob", "sales"), e.Token("root", "admin"), e.Token("ann", "auditor")
	t0 := time.Now().UTC()
	for i, name := range []string{"Li Wei", "Wang Fang", "Chen Jie"} {
		mustCreate(e, alice, person(name, i))
	}
	mustCreate(e, bob, person("Zhao Lei", 3))
	runReminders(e, t0.Add(200*24*time.Hour))

	var page1, page2 reminderList
	get(e, alice, "/reminders?limit=2").JSON(t, &page1)
	if len(page1.Items) != 2 || page1.NextCursor == "" {
		t.Fatalf("first page: %d items, cursor %q", len(page1.Items), page1.NextCursor)
	}
	get(e, alice, "/reminders?limit=2&cursor="+page1.NextCursor).JSON(t, &page2)
	if len(page2.Items) != 1 || page2.NextCursor != "" || page2.Items[0].ID == page1.Items[0].ID {
		t.Fatalf("second page: %+v", page2)
	}
	id := page1.Items[0].ID

	// Someone else's reminder does not exist for bob; alice and admins may
	// mark it done, and marking it again changes nothing.
	if r := post(e, bob, "/reminders/"+id+"/done", nil); r.Status != http.StatusNotFound {
		t.Errorf("bob marks alice's reminder: %d", r.Status)
	}
	var done crm.Reminder
	r := post(e, alice, "/reminders/"+id+"/done", nil)
	r.JSON(t, &done)
	if r.Status != http.StatusOK || done.Status != crm.ReminderDone || done.DoneBy != "alice" || done.DoneAt.IsZero() {
		t.Fatalf("done: %d %+v", r.Status, done)
	}
	var again crm.Reminder
	post(e, admin, "/reminders/"+id+"/done", map[string]any{}).JSON(t, &again)
	if again.DoneBy != "alice" || !again.DoneAt.Equal(done.DoneAt) {
		t.Errorf("second done changed it: %+v", again)
	}
	if r := post(e, alice, "/reminders/"+id+"/done", map[string]any{"note": "x"}); r.Status != http.StatusBadRequest {
		t.Errorf("done with a body: %d", r.Status)
	}
	if r := post(e, alice, "/reminders/r_nosuchreminder/done", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown reminder: %d", r.Status)
	}

	var open, finished, all reminderList
	get(e, alice, "/reminders").JSON(t, &open)
	get(e, alice, "/reminders?status=done").JSON(t, &finished)
	get(e, alice, "/reminders?status=all&kind=stale_customer").JSON(t, &all)
	if len(open.Items) != 2 || len(finished.Items) != 1 || finished.Items[0].ID != id || len(all.Items) != 3 {
		t.Errorf("open %d, done %d, all %d", len(open.Items), len(finished.Items), len(all.Items))
	}

	// Only admins and auditors list another's reminders.
	if r := get(e, alice, "/reminders?assignee=bob"); r.Status != http.StatusForbidden {
		t.Errorf("alice lists bob's: %d", r.Status)
	}
	for _, tok := range []string{admin, auditor} {
		var bobs reminderList
		get(e, tok, "/reminders?assignee=bob").JSON(t, &bobs)
		if len(bobs.Items) != 1 || bobs.Items[0].AssigneeID != "bob" {
			t.Errorf("bob's reminders: %+v", bobs.Items)
		}
	}
	// Every bad parameter is named.
	r = get(e, alice, "/reminders?kind=nap&status=asleep&limit=0&colour=red")
	p := r.Map(t)
	if r.Status != http.StatusBadRequest || len(p["errors"].([]any)) != 4 {
		t.Errorf("bad parameters: %d %s", r.Status, r.Body)
	}
}

// TestReminderRunsConcurrently starts two runs for the same instant at once:
// every reminder and notification is made exactly once between them.
func TestReminderRunsConcurrently(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	t0 := time.Now().UTC()
	const n = 12
	for i := range n {
		body := person("Customer "+string(rune('A'+i)), i)
		if i%3 == 0 {
			body["consent"] = map[string]any{"reminders": true}
		}
		mustCreate(e, alice, body)
	}
	asOf := t0.Add(181 * 24 * time.Hour)
	var wg sync.WaitGroup
	reps := make([]crm.RunReport, 2)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := e.Services.API.Reminders.Run(context.Background(), asOf)
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		}()
	}
	wg.Wait()
	if total := created(reps[0]) + created(reps[1]); total != n {
		t.Errorf("two concurrent runs created %d reminders, want %d (%+v, %+v)", total, n, reps[0], reps[1])
	}
	notes := countKinds(e.Notifier.Sent())
	if !equalCounts(notes, map[string]int{"reminder_due/staff": n, "review_requested/customer": n / 3}) {
		t.Errorf("notifications %v", notes)
	}
	ids := map[string]bool{}
	for _, s := range e.Notifier.Sent() {
		if ids[s.ID] {
			t.Errorf("notification %s sent twice", s.ID)
		}
		ids[s.ID] = true
	}
	if rep := runReminders(e, asOf); created(rep) != 0 || rep.Due != 0 {
		t.Errorf("a third run: %+v", rep)
	}
}

// cancelAfter is a notifier that cancels the run's context after n
// deliveries, as a function timing out half-way would.
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
	inner  crm.Notifier
}

func (c *cancelAfter) Notify(ctx context.Context, n crm.Notification) error {
	c.mu.Lock()
	c.n--
	if c.n == 0 {
		c.cancel()
	}
	c.mu.Unlock()
	return c.inner.Notify(ctx, n)
}

// TestReminderRunFinishesWhatAFailedRunLeft stops a run half-way and fails
// a delivery: the next run makes exactly the reminders the first did not,
// and delivers the failed notification once.
func TestReminderRunFinishesWhatAFailedRunLeft(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	t0 := time.Now().UTC()
	const n = 20
	for i := range n {
		mustCreate(e, alice, person("Customer "+string(rune('A'+i)), i))
	}
	asOf := t0.Add(181 * 24 * time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	half := *e.Services.API.Reminders
	half.Workers = 1
	half.Notifier = &cancelAfter{n: 5, cancel: cancel, inner: e.Notifier}
	rep1, err := half.Run(ctx, asOf)
	if err == nil || created(rep1) >= n || created(rep1) < 5 {
		t.Fatalf("interrupted run: %+v, %v", rep1, err)
	}

	// The next run makes the rest; its first delivery fails, and is sent
	// again once the run has done every item.
	e.Notifier.FailNext(1, nil)
	rep2 := runReminders(e, asOf)
	if created(rep1)+created(rep2) != n || rep2.NotifyFails != 1 || rep2.Redelivered != 1 {
		t.Errorf("created %d then %d, want %d in all; second run %+v", created(rep1), created(rep2), n, rep2)
	}
	sent := e.Notifier.Sent()
	ids := map[string]bool{}
	for _, s := range sent {
		if ids[s.ID] {
			t.Errorf("notification %s sent twice", s.ID)
		}
		ids[s.ID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct notifications delivered, want %d", len(ids), n)
	}
	if rep := runReminders(e, asOf); rep.Redelivered != 0 || created(rep) != 0 || rep.Due != 0 {
		t.Errorf("third run: %+v", rep)
	}
}

// TestBreachPolicy hands breached complaints to a lead when configured, and
// only reminds when escalation is off.
func TestBreachPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		breach   crm.BreachPolicy
		assignee string
		level    int
	}{
		{"escalate to the lead", crm.BreachPolicy{Escalate: true, EscalateTo: "lead"}, "lead", 1},
		{"remind only", crm.BreachPolicy{}, "sam", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testenv.New(t, testenv.WithConfig(func(c *app.Config) {
				c.Breach = tc.breach
				c.Assignment = crm.Assignment{Mode: crm.AssignRoundRobin, Agents: []string{"sam"}}
			}))
			alice, sam := e.Token("alice", "sales"), e.Token("sam", "service")
			c := fileComplaint(e, sam, mustCreate(e, alice, person("Li Wei", 0)), "critical")
			rep := runReminders(e, c.SLADueAt.Add(time.Minute))
			if !equalCounts(rep.Created, map[string]int{crm.ReminderSLABreach: 1}) {
				t.Fatalf("created %v", rep.Created)
			}
			var got complaint
			get(e, sam, "/complaints/"+c.ID).JSON(t, &got)
			if got.AssigneeID != tc.assignee || got.EscalationLevel != tc.level {
				t.Errorf("assignee %s level %d", got.AssigneeID, got.EscalationLevel)
			}
			var list reminderList
			get(e, e.Token(tc.assignee, "service"), "/reminders?kind=sla_breach").JSON(t, &list)
			if len(list.Items) != 1 {
				t.Errorf("%s has %d breach reminders", tc.assignee, len(list.Items))
			}
			// A resolved complaint is never reminded of again.
			if rep := runReminders(e, c.SLADueAt.Add(time.Hour)); rep.Due != 0 {
				t.Errorf("after the breach: %+v", rep)
			}
		})
	}
}
