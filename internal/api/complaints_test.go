package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

const secretDescription = "Parcel left at 88 Jianguo Road was opened"

type complaint struct {
	ID, Status, AssigneeID, Severity, CustomerID string
	Version                                      int64
	CreatedAt, SLADueAt, AckDueAt, ResolvedAt    time.Time
	Resolution                                   *crm.Resolution
	EscalationLevel                              int
	Breached                                     bool
	Timeline                                     []crm.TimelineEntry
}

func fileComplaint(e *testenv.Env, token, customerID, severity string) complaint {
	e.TB.Helper()
	r := post(e, token, "/complaints", map[string]any{"customerId": customerID, "channel": "phone", "category": "delivery",
		"severity": severity, "subject": "Damaged parcel", "description": secretDescription})
	if r.Status != http.StatusCreated {
		e.TB.Fatalf("file complaint: %d %s", r.Status, r.Body)
	}
	var c complaint
	r.JSON(e.TB, &c)
	return c
}

func transition(e *testenv.Env, token, id string, body map[string]any) testenv.Response {
	e.TB.Helper()
	return post(e, token, "/complaints/"+id+"/transitions", body)
}

var resolution = map[string]any{"summary": "Replaced the item", "rootCause": "Courier handling", "remedy": "New courier contract"}

func TestComplaintLifecycle(t *testing.T) {
	e := testenv.New(t)
	alice, sam := e.Token("alice", "sales"), e.Token("sam", "service")
	cust := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "consent": map[string]any{"reminders": true}})

	c := fileComplaint(e, alice, cust, "high")
	if c.Status != "acknowledged" || c.AssigneeID != "alice" || c.Version != 1 {
		t.Fatalf("filed: %+v", c)
	}
	if d := c.SLADueAt.Sub(c.CreatedAt); d != 8*time.Hour {
		t.Errorf("high severity SLA %s, want 8h", d)
	}
	if d := c.AckDueAt.Sub(c.CreatedAt); d <= 0 || d > 8*time.Hour {
		t.Errorf("acknowledge target %s", d)
	}
	sent := e.Notifier.Sent()
	if len(sent) != 2 || sent[0].Kind != crm.NotifyComplaintAssigned || sent[0].RecipientID != "alice" ||
		sent[1].RecipientType != crm.RecipientCustomer || sent[1].RecipientID != cust {
		t.Fatalf("notifications %+v", sent)
	}

	steps := []struct {
		body       map[string]any
		wantStatus string
	}{
		{map[string]any{"to": "in_progress", "note": "Calling the courier"}, "in_progress"},
		{map[string]any{"to": "escalated", "note": "Customer is a key account", "severity": "critical", "assigneeId": "sue"}, "in_progress"},
		{map[string]any{"to": "resolved", "note": "Sent a replacement", "resolution": resolution}, "resolved"},
		{map[string]any{"to": "closed"}, "closed"},
		{map[string]any{"to": "reopened", "note": "Replacement damaged too"}, "in_progress"},
		{map[string]any{"to": "resolved", "resolution": resolution}, "resolved"},
		{map[string]any{"to": "closed", "note": "Confirmed with customer"}, "closed"},
	}
	for i, st := range steps {
		r := transition(e, sam, c.ID, st.body)
		var got complaint
		r.JSON(t, &got)
		if r.Status != 200 || got.Status != st.wantStatus || got.Version != int64(i+2) || r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, i+2) {
			t.Fatalf("step %d (%v): %d %s", i, st.body["to"], r.Status, r.Body)
		}
	}
	if r := post(e, sam, "/complaints/"+c.ID+"/notes", map[string]any{"note": "Sent a goodwill voucher"}); r.Status != 201 {
		t.Fatalf("note: %d %s", r.Status, r.Body)
	}

	var got complaint
	get(e, alice, "/complaints/"+c.ID).JSON(t, &got)
	if got.Severity != "critical" || got.AssigneeID != "sue" || got.EscalationLevel != 1 || got.Resolution == nil {
		t.Fatalf("final %+v", got)
	}
	if d := got.SLADueAt.Sub(got.CreatedAt); d != 2*time.Hour {
		t.Errorf("escalated SLA %s, want the critical 2h from intake", d)
	}
	var actions []string
	for i, tl := range got.Timeline {
		actions = append(actions, tl.Action+":"+tl.From+">"+tl.To)
		if tl.Seq != i+1 || tl.At.IsZero() || tl.ActorID == "" {
			t.Errorf("entry %d: %+v", i, tl)
		}
	}
	want := []string{"created:>new", "acknowledged:new>acknowledged", "in_progress:acknowledged>in_progress",
		"escalated:in_progress>in_progress", "resolved:in_progress>resolved", "closed:resolved>closed",
		"reopened:closed>in_progress", "resolved:in_progress>resolved", "closed:resolved>closed", "note:>"}
	if !slices.Equal(actions, want) {
		t.Fatalf("timeline\n got %v\nwant %v", actions, want)
	}
	if tl := got.Timeline[3]; tl.Note != "Customer is a key account" || tl.Severity != "critical" || tl.AssigneeID != "sue" || tl.ActorID != "sam" {
		t.Errorf("escalation entry %+v", tl)
	}
	if got.Timeline[9].Note != "Sent a goodwill voucher" {
		t.Errorf("note entry %+v", got.Timeline[9])
	}
	// Each resolution also sent the customer, who agreed to service
	// contact, a satisfaction survey.
	n := slices.DeleteFunc(e.Notifier.Sent(), func(n crm.Notification) bool { return n.Kind == crm.NotifySurveyRequested })
	if len(n) != 3 || n[2].Kind != crm.NotifyComplaintEscalated || n[2].RecipientID != "sue" {
		t.Errorf("escalation notification %+v", n)
	}
	if surveys := len(e.Notifier.Sent()) - len(n); surveys != 2 {
		t.Errorf("%d surveys sent for two resolutions", surveys)
	}

	t.Run("PersonalTextIsSealed", func(t *testing.T) {
		raw, _ := json.Marshal(scanAll(t, e))
		for _, s := range []string{secretDescription, "Jianguo", "Replaced the item", "Courier handling", "goodwill voucher", "key account", "Damaged parcel"} {
			if strings.Contains(string(raw), s) {
				t.Errorf("the table holds %q in plaintext", s)
			}
		}
	})
}

// complaintIn walks a new complaint to status.
func complaintIn(e *testenv.Env, token, cust, status string) string {
	e.TB.Helper()
	c := fileComplaint(e, token, cust, "medium")
	path := map[string][]map[string]any{
		"acknowledged": nil,
		"in_progress":  {{"to": "in_progress"}},
		"resolved":     {{"to": "in_progress"}, {"to": "resolved", "resolution": resolution}},
		"closed":       {{"to": "in_progress"}, {"to": "resolved", "resolution": resolution}, {"to": "closed"}},
	}[status]
	for _, b := range path {
		if r := transition(e, token, c.ID, b); r.Status != 200 {
			e.TB.Fatalf("walk to %s: %d %s", status, r.Status, r.Body)
		}
	}
	return c.ID
}

func TestEveryTransition(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	cust := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	bodies := map[string]map[string]any{
		"in_progress": {"to": "in_progress"},
		"resolved":    {"to": "resolved", "resolution": resolution},
		"closed":      {"to": "closed"},
		"reopened":    {"to": "reopened", "note": "again"},
		"escalated":   {"to": "escalated", "note": "urgent", "severity": "critical"},
	}
	// want[state][action] is the resulting status, "" for a 409.
	want := map[string]map[string]string{
		"acknowledged": {"in_progress": "in_progress", "escalated": "acknowledged"},
		"in_progress":  {"resolved": "resolved", "escalated": "in_progress"},
		"resolved":     {"closed": "closed", "reopened": "in_progress"},
		"closed":       {"reopened": "in_progress"},
	}
	for _, state := range []string{"acknowledged", "in_progress", "resolved", "closed"} {
		for _, action := range []string{"in_progress", "resolved", "closed", "reopened", "escalated"} {
			t.Run(state+"/"+action, func(t *testing.T) {
				id := complaintIn(e, admin, cust, state)
				r := transition(e, admin, id, bodies[action])
				m := r.Map(t)
				to, legal := want[state][action]
				switch {
				case legal && (r.Status != 200 || m["status"] != to):
					t.Fatalf("got %d %v, want 200 and %s", r.Status, m["status"], to)
				case !legal && r.Status != http.StatusConflict:
					t.Fatalf("got %d, want 409", r.Status)
				case !legal:
					var allowed []string
					for a := range want[state] {
						allowed = append(allowed, a)
					}
					slices.Sort(allowed)
					if fmt.Sprint(m["allowed"]) != fmt.Sprint(allowed) {
						t.Fatalf("allowed %v, want %v", m["allowed"], allowed)
					}
					var got complaint
					get(e, admin, "/complaints/"+id).JSON(t, &got)
					if got.Status != state {
						t.Fatalf("a refused transition moved the complaint to %s", got.Status)
					}
				}
			})
		}
	}
	if got := crm.AllowedActions(crm.StatusNew); len(got) != 0 {
		t.Errorf("new is transient, yet allows %v", got)
	}
}

func TestComplaintValidation(t *testing.T) {
	e := testenv.New(t)
	alice, sam := e.Token("alice", "sales"), e.Token("sam", "service")
	cust := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	bobs := mustCreate(e, e.Token("bob", "sales"), map[string]any{"name": "Bob's", "phone": "13900139000"})
	id := fileComplaint(e, alice, cust, "low").ID

	for _, tt := range []struct {
		name       string
		token      string
		path       string
		body       any
		wantStatus int
		wantFields []string
	}{
		{"ErrEveryFieldNamed", alice, "/complaints", map[string]any{"channel": "pigeon", "category": "weather", "severity": "extreme", "subject": "", "description": ""}, 400,
			[]string{"category", "channel", "customerId", "description", "severity", "subject"}},
		{"ErrUnknownField", alice, "/complaints", map[string]any{"customerId": cust, "channel": "web", "category": "billing", "severity": "low", "subject": "x", "description": "y", "priority": 1}, 400, []string{"priority"}},
		{"ErrReadOnlyField", alice, "/complaints", map[string]any{"customerId": cust, "channel": "web", "category": "billing", "severity": "low", "subject": "x", "description": "y", "status": "closed"}, 400, []string{"status"}},
		{"ErrUnknownCustomer", alice, "/complaints", map[string]any{"customerId": "c_nobody", "channel": "web", "category": "billing", "severity": "low", "subject": "x", "description": "y"}, 404, []string{"customerId"}},
		{"ErrOtherRepsCustomer", alice, "/complaints", map[string]any{"customerId": bobs, "channel": "web", "category": "billing", "severity": "low", "subject": "x", "description": "y"}, 404, []string{"customerId"}},
		{"ErrResolveWithoutResolution", sam, "/complaints/" + id + "/transitions", map[string]any{"to": "resolved"}, 400, []string{"resolution"}},
		{"ErrIncompleteResolution", sam, "/complaints/" + id + "/transitions", map[string]any{"to": "resolved", "resolution": map[string]any{"summary": "x"}}, 400, []string{"resolution.remedy", "resolution.rootCause"}},
		{"ErrEscalateWithoutWhy", sam, "/complaints/" + id + "/transitions", map[string]any{"to": "escalated", "severity": "high"}, 400, []string{"note"}},
		{"ErrEscalateNothing", sam, "/complaints/" + id + "/transitions", map[string]any{"to": "escalated", "note": "x"}, 400, []string{"severity"}},
		{"ErrUnknownTarget", sam, "/complaints/" + id + "/transitions", map[string]any{"to": "archived"}, 400, []string{"to"}},
		{"ErrSeverityOutsideEscalation", sam, "/complaints/" + id + "/transitions", map[string]any{"to": "in_progress", "severity": "high"}, 400, []string{"severity"}},
		{"ErrEmptyNote", sam, "/complaints/" + id + "/notes", map[string]any{"note": " "}, 400, []string{"note"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(e, tt.token, tt.path, tt.body)
			if got := fieldsOf(t, r); r.Status != tt.wantStatus || !slices.Equal(got, tt.wantFields) {
				t.Fatalf("status %d fields %v, want %d %v: %s", r.Status, got, tt.wantStatus, tt.wantFields, r.Body)
			}
		})
	}
	t.Run("ErrEscalationMustRaiseSeverity", func(t *testing.T) {
		c := fileComplaint(e, alice, cust, "high")
		if r := transition(e, sam, c.ID, map[string]any{"to": "escalated", "note": "x", "severity": "medium"}); r.Status != 400 {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("NothingChanged", func(t *testing.T) {
		var got complaint
		get(e, sam, "/complaints/"+id).JSON(t, &got)
		if got.Version != 1 || len(got.Timeline) != 2 {
			t.Fatalf("refused requests changed the complaint: %+v", got)
		}
	})
}

func TestComplaintAccess(t *testing.T) {
	e := testenv.New(t)
	alice, bob := e.Token("alice", "sales"), e.Token("bob", "sales")
	cust := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	id := fileComplaint(e, alice, cust, "low").ID
	for _, tt := range []struct {
		name   string
		req    testenv.Request
		status int
	}{
		{"OwnerReads", testenv.Request{Method: "GET", Path: "/complaints/" + id, Token: alice}, 200},
		{"OtherRepIs404", testenv.Request{Method: "GET", Path: "/complaints/" + id, Token: bob}, 404},
		{"AuditorReads", testenv.Request{Method: "GET", Path: "/complaints/" + id, Token: e.Token("aud", "auditor")}, 200},
		{"ServiceReads", testenv.Request{Method: "GET", Path: "/complaints/" + id, Token: e.Token("sam", "service")}, 200},
		{"FinanceIs403", testenv.Request{Method: "GET", Path: "/complaints/" + id, Token: e.Token("fin", "finance")}, 403},
		{"FinanceListIs403", testenv.Request{Method: "GET", Path: "/complaints", Token: e.Token("fin", "finance")}, 403},
		{"SalesCannotTransition", testenv.Request{Method: "POST", Path: "/complaints/" + id + "/transitions", Token: alice, Body: `{"to":"in_progress"}`}, 403},
		{"AuditorCannotNote", testenv.Request{Method: "POST", Path: "/complaints/" + id + "/notes", Token: e.Token("aud", "auditor"), Body: `{"note":"x"}`}, 403},
		{"UnknownIs404", testenv.Request{Method: "GET", Path: "/complaints/k_nothing", Token: alice}, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.Do(tt.req); r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
		})
	}
	t.Run("OtherRepListIsEmpty", func(t *testing.T) {
		var l struct{ Items []any }
		get(e, bob, "/complaints?customerId="+cust).JSON(t, &l)
		if len(l.Items) != 0 {
			t.Fatalf("bob sees %d of alice's complaints", len(l.Items))
		}
	})
}

func TestComplaintLists(t *testing.T) {
	e := testenv.New(t)
	admin, sam := e.Token("root", "admin"), e.Token("sam", "service")
	a := mustCreate(e, admin, map[string]any{"name": "A", "phone": "13800138001", "ownerId": "sam"})
	b := mustCreate(e, admin, map[string]any{"name": "B", "phone": "13800138002", "ownerId": "alice"})
	for _, sev := range []string{"low", "medium", "critical"} {
		fileComplaint(e, admin, a, sev)
	}
	last := fileComplaint(e, admin, b, "high")
	transition(e, sam, last.ID, map[string]any{"to": "in_progress"})

	count := func(query, token string) int {
		var l struct{ Items []complaint }
		r := get(e, token, "/complaints?"+query)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", query, r.Status, r.Body)
		}
		r.JSON(t, &l)
		return len(l.Items)
	}
	for _, tt := range []struct {
		query, token string
		want         int
	}{
		{"", admin, 4}, {"status=acknowledged", admin, 3}, {"status=in_progress", admin, 1}, {"assignee=me", sam, 3},
		{"assignee=alice", admin, 1}, {"customerId=" + a, admin, 3}, {"severity=critical", admin, 1},
		{"severity=critical&customerId=" + b, admin, 0}, {"breached=true", admin, 0}, {"", e.Token("alice", "sales"), 1},
	} {
		if got := count(tt.query, tt.token); got != tt.want {
			t.Errorf("%q: %d, want %d", tt.query, got, tt.want)
		}
	}
	t.Run("BreachedAfterTheSLA", func(t *testing.T) {
		d := e.Services.API
		d.Complaints.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
		defer func() { d.Complaints.Now = time.Now }()
		// critical (2h), high (8h) and medium (24h) are past; low (72h) is not.
		if got := count("breached=true", admin); got != 3 {
			t.Fatalf("%d breached, want 3", got)
		}
	})
	t.Run("ErrBadFilters", func(t *testing.T) {
		for _, q := range []string{"status=lost", "severity=extreme", "breached=maybe", "limit=500", "colour=red"} {
			if r := get(e, admin, "/complaints?"+q); r.Status != 400 {
				t.Errorf("%s: %d", q, r.Status)
			}
		}
	})
}

func TestConcurrentTransitions(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	cust := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	c := fileComplaint(e, admin, cust, "low")
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := map[string]any{"to": "in_progress", "note": fmt.Sprint("agent ", i)}
			if i%2 == 1 {
				body = map[string]any{"to": "escalated", "note": "urgent", "severity": "high"}
			}
			statuses[i] = e.Do(testenv.Request{Method: "POST", Path: "/complaints/" + c.ID + "/transitions", Token: admin, Body: body, Header: map[string]string{"If-Match": `"1"`}}).Status
		}()
	}
	wg.Wait()
	if wins := slices.Index(statuses, 200); wins < 0 || slices.Contains(statuses[wins+1:], 200) {
		t.Fatalf("statuses %v: exactly one transition must win", statuses)
	}
	var got complaint
	get(e, admin, "/complaints/"+c.ID).JSON(t, &got)
	if got.Version != 2 || len(got.Timeline) != 3 {
		t.Fatalf("version %d, %d timeline entries: more than one change landed", got.Version, len(got.Timeline))
	}
}

func TestRoundRobinIsFairUnderConcurrency(t *testing.T) {
	agents := []string{"sam", "sue", "sid"}
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) {
		c.Assignment = crm.Assignment{Mode: crm.AssignRoundRobin, Agents: agents}
	}))
	admin := e.Token("root", "admin")
	cust := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	const n = 30
	assignees := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := post(e, admin, "/complaints", map[string]any{"customerId": cust, "channel": "app", "category": "product", "severity": "low", "subject": "x", "description": "y"})
			assignees[i], _ = r.Map(t)["assigneeId"].(string)
		}()
	}
	wg.Wait()
	per := map[string]int{}
	for _, a := range assignees {
		per[a]++
	}
	for _, a := range agents {
		if per[a] != n/len(agents) {
			t.Fatalf("assignments %v, want %d each", per, n/len(agents))
		}
	}
}

func TestFailedNotificationIsRecorded(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	cust := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	e.Notifier.FailNext(100, fmt.Errorf("sns down"))
	c := fileComplaint(e, admin, cust, "low")
	out, err := e.DB.Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(e.Config.Table), IndexName: aws.String("GSI4"),
		KeyConditionExpression:    aws.String("GSI4PK = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "NOTIFY#failed"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("%d failed notifications on record, want the assignee's", len(out.Items))
	}
	// The index holds keys only; the notification is the item.
	k := out.Items[0]
	n := rawItem(t, e, k["PK"].(*types.AttributeValueMemberS).Value, k["SK"].(*types.AttributeValueMemberS).Value)
	if n["subjectId"].(*types.AttributeValueMemberS).Value != c.ID {
		t.Fatalf("the failed notification is about %v, want %s", n["subjectId"], c.ID)
	}
}
