package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// resolveComplaint files a complaint about customerID and resolves it.
func resolveComplaint(e *testenv.Env, token, sam, customerID string) complaint {
	e.TB.Helper()
	c := fileComplaint(e, token, customerID, "medium")
	if r := transition(e, sam, c.ID, map[string]any{"to": "in_progress"}); r.Status != http.StatusOK {
		e.TB.Fatalf("in progress: %d %s", r.Status, r.Body)
	}
	if r := transition(e, sam, c.ID, map[string]any{"to": "resolved", "resolution": resolution}); r.Status != http.StatusOK {
		e.TB.Fatalf("resolve: %d %s", r.Status, r.Body)
	}
	return c
}

// sentOf returns the notifications of kind sent so far.
func sentOf(e *testenv.Env, kind string) []crm.Notification {
	var out []crm.Notification
	for _, n := range e.Notifier.Sent() {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

// surveyToken is the token of a survey link: its fragment.
func surveyToken(tb testing.TB, n crm.Notification) string {
	tb.Helper()
	base, tok, ok := strings.Cut(n.Link, "#")
	if !ok || !strings.HasSuffix(base, "/survey") || tok == "" {
		tb.Fatalf("survey link %q is not …/survey#<token>", n.Link)
	}
	return tok
}

const surveyComment = "Still broken, call me at 138 0013 8000"

func TestSurveyFlow(t *testing.T) {
	e := testenv.New(t)
	alice, sam, admin := e.Token("alice", "sales"), e.Token("sam", "service"), e.Token("root", "admin")
	yes := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "consent": map[string]any{"reminders": true}})
	no := mustCreate(e, alice, map[string]any{"name": "Wang Fang", "email": "wang@example.com", "consent": map[string]any{"reminders": false}})

	c := resolveComplaint(e, alice, sam, yes)
	resolveComplaint(e, alice, sam, no)
	invites := sentOf(e, crm.NotifySurveyRequested)
	if len(invites) != 1 {
		t.Fatalf("%d survey invitations, want 1 (the customer without consent gets none): %+v", len(invites), invites)
	}
	inv := invites[0]
	if inv.RecipientType != crm.RecipientCustomer || inv.RecipientID != yes || inv.SubjectID != c.ID || inv.Language != "zh-CN" || !strings.Contains(inv.Text, "投诉") {
		t.Fatalf("survey invitation: %+v", inv)
	}
	tok := surveyToken(t, inv)
	path := "/surveys/" + tok

	t.Run("View", func(t *testing.T) {
		r := get(e, "", path)
		var v crm.SurveyView
		r.JSON(t, &v)
		if r.Status != http.StatusOK || v.Category != "delivery" || v.ResolvedAt.IsZero() || v.Answered || v.Language != "zh-CN" ||
			v.Questions.Score == "" || v.Questions.Comment == "" || !v.ExpiresAt.After(v.ResolvedAt) {
			t.Fatalf("survey view: %d %s", r.Status, r.Body)
		}
		for _, personal := range []string{"Li Wei", phoneE164, yes} {
			if strings.Contains(string(r.Body), personal) {
				t.Errorf("the survey view shows %q", personal)
			}
		}
	})

	t.Run("ErrNotValid", func(t *testing.T) {
		unknown := get(e, "", "/surveys/not-a-token")
		if unknown.Status != http.StatusNotFound {
			t.Fatalf("unknown token: %d", unknown.Status)
		}
		tampered := tok[:len(tok)-1] + "A"
		if strings.HasSuffix(tok, "A") {
			tampered = tok[:len(tok)-1] + "E"
		}
		portal := portalLink(e, alice, yes)
		portalTok := strings.TrimPrefix(portal, "/portal/")
		for name, p := range map[string]string{"tampered": "/surveys/" + tampered, "portal token": "/surveys/" + portalTok} {
			for _, r := range []testenv.Response{get(e, "", p), e.Do(testenv.Request{Method: "POST", Path: p, Body: map[string]any{"score": 5}})} {
				if !sameAnswer(r, unknown) {
					t.Errorf("%s: %d %s, want the unknown token's answer %s", name, r.Status, r.Body, unknown.Body)
				}
			}
		}
		// And a survey token opens no portal.
		if r := get(e, "", "/portal/"+tok); r.Status != http.StatusNotFound {
			t.Errorf("survey token on the portal: %d", r.Status)
		}
		svc := e.Services.API.Surveys
		later := time.Now().Add(15 * 24 * time.Hour)
		svc.Now = func() time.Time { return later }
		defer func() { svc.Now = time.Now }()
		if r := get(e, "", path); !sameAnswer(r, unknown) {
			t.Errorf("expired: %d %s", r.Status, r.Body)
		}
	})

	t.Run("ErrInvalidAnswer", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"ErrScoreMissing", map[string]any{"comment": "ok"}, []string{"score"}},
			{"ErrScoreZero", map[string]any{"score": 0}, []string{"score"}},
			{"ErrScoreSix", map[string]any{"score": 6}, []string{"score"}},
			{"ErrCommentTooLong", map[string]any{"score": 3, "comment": strings.Repeat("好", 2001)}, []string{"comment"}},
			{"ErrUnknownField", map[string]any{"score": 3, "rating": 3}, []string{"rating"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.Do(testenv.Request{Method: "POST", Path: path, Body: c.body})
				if r.Status != http.StatusBadRequest || !slices.Equal(fieldsOf(t, r), c.fields) {
					t.Fatalf("%d %s, want 400 naming %v", r.Status, r.Body, c.fields)
				}
			})
		}
		if r := get(e, "", path); r.Map(t)["answered"] != false {
			t.Fatalf("a refused answer was recorded: %s", r.Body)
		}
	})

	t.Run("AnswerOnce", func(t *testing.T) {
		logsBefore := len(e.Logs.String())
		r := e.Do(testenv.Request{Method: "POST", Path: path, Body: map[string]any{"score": 2, "comment": surveyComment}})
		if r.Status != http.StatusOK || r.Map(t)["score"] != float64(2) {
			t.Fatalf("answer: %d %s", r.Status, r.Body)
		}
		again := e.Do(testenv.Request{Method: "POST", Path: path, Body: map[string]any{"score": 5}})
		if again.Status != http.StatusConflict {
			t.Fatalf("second answer: %d %s", again.Status, again.Body)
		}
		var got complaint
		get(e, sam, "/complaints/"+c.ID).JSON(t, &got)
		last := got.Timeline[len(got.Timeline)-1]
		if got.Status != "resolved" || last.Action != crm.ActionSurveyAnswered || last.ActorID != "customer:"+yes || last.Score != 2 || last.Note != surveyComment {
			t.Fatalf("timeline after the answer (status %s): %+v", got.Status, last)
		}
		if n := len(got.Timeline); got.Timeline[n-2].Action != "resolved" {
			t.Errorf("the second answer changed the timeline: %+v", got.Timeline[n-2:])
		}
		if v := get(e, "", path).Map(t); v["answered"] != true {
			t.Errorf("view after the answer: %v", v)
		}
		if strings.Contains(e.Logs.String()[logsBefore:], "138 0013") {
			t.Error("the comment reached the logs")
		}
		trail := auditEntries(t, e, "entityId="+c.ID)
		if trail[0].Action != "complaint.survey_answer" || trail[0].Actor != "customer:"+yes {
			t.Errorf("the answer's audit entry: %+v", trail[0])
		}
	})

	t.Run("LowScoreOffersReopening", func(t *testing.T) {
		low := sentOf(e, crm.NotifySurveyLowScore)
		if len(low) != 1 || low[0].RecipientType != crm.RecipientRole || low[0].RecipientID != "admin" || low[0].SubjectID != c.ID ||
			!strings.Contains(low[0].Text, "reopen") && !strings.Contains(low[0].Text, "重新打开") {
			t.Fatalf("low-score notification: %+v", low)
		}
		if strings.Contains(low[0].Text, "138") || low[0].Link != "" {
			t.Errorf("the low-score notification carries the answer: %+v", low[0])
		}
		if r := transition(e, admin, c.ID, map[string]any{"to": "reopened", "note": "customer unhappy"}); r.Status != http.StatusOK {
			t.Fatalf("reopen: %d %s", r.Status, r.Body)
		}
	})
}

// TestSurveyLowScoreToEscalationTarget: with SLA_ESCALATE_TO set, a low
// score goes to that user; a good score notifies nobody.
func TestSurveyLowScoreToEscalationTarget(t *testing.T) {
	e := testenv.New(t)
	e.Services.API.Surveys.EscalateTo = "lead"
	alice, sam := e.Token("alice", "sales"), e.Token("sam", "service")
	var paths []string
	for _, name := range []string{"Li Wei", "Wang Fang"} {
		id := mustCreate(e, alice, map[string]any{"name": name, "email": strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@example.com",
			"consent": map[string]any{"reminders": true}})
		resolveComplaint(e, alice, sam, id)
	}
	for _, n := range sentOf(e, crm.NotifySurveyRequested) {
		paths = append(paths, "/surveys/"+surveyToken(t, n))
	}
	if len(paths) != 2 {
		t.Fatalf("%d invitations", len(paths))
	}
	if r := e.Do(testenv.Request{Method: "POST", Path: paths[0], Body: map[string]any{"score": 5}}); r.Status != http.StatusOK {
		t.Fatalf("answer: %d %s", r.Status, r.Body)
	}
	if low := sentOf(e, crm.NotifySurveyLowScore); len(low) != 0 {
		t.Fatalf("a good score notified: %+v", low)
	}
	if r := e.Do(testenv.Request{Method: "POST", Path: paths[1], Body: map[string]any{"score": 1}}); r.Status != http.StatusOK {
		t.Fatalf("answer: %d %s", r.Status, r.Body)
	}
	if low := sentOf(e, crm.NotifySurveyLowScore); len(low) != 1 || low[0].RecipientType != crm.RecipientStaff || low[0].RecipientID != "lead" {
		t.Fatalf("low-score notification: %+v", low)
	}
}

// TestSurveyInCustomersLanguage: a customer's language is validated,
// stored, shown, and used for the survey sent to them.
func TestSurveyInCustomersLanguage(t *testing.T) {
	e := testenv.New(t)
	alice, sam := e.Token("alice", "sales"), e.Token("sam", "service")
	if r := post(e, alice, "/customers", map[string]any{"name": "Li Wei", "email": "li@example.com", "language": "english"}); r.Status != http.StatusBadRequest ||
		!slices.Equal(fieldsOf(t, r), []string{"language"}) {
		t.Fatalf("invalid language: %d %s", r.Status, r.Body)
	}
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "email": "li@example.com", "language": "EN-gb", "consent": map[string]any{"reminders": true}})
	cr := get(e, alice, "/customers/"+id)
	if lang := cr.Map(t)["language"]; lang != "en-GB" {
		t.Fatalf("stored language %v", lang)
	}
	if r := patch(e, alice, "/customers/"+id, cr.Header.Get("ETag"), map[string]any{"language": "zh-Hans"}); r.Status != http.StatusOK || r.Map(t)["language"] != "zh-Hans" {
		t.Fatalf("patch language: %d %s", r.Status, r.Body)
	}
	cr = get(e, alice, "/customers/"+id)
	if r := patch(e, alice, "/customers/"+id, cr.Header.Get("ETag"), map[string]any{"language": "en"}); r.Status != http.StatusOK {
		t.Fatalf("patch language: %d %s", r.Status, r.Body)
	}
	resolveComplaint(e, alice, sam, id)
	inv := sentOf(e, crm.NotifySurveyRequested)
	if len(inv) != 1 || inv[0].Language != "en" || !strings.Contains(inv[0].Text, "resolved") {
		t.Fatalf("invitation: %+v", inv)
	}
	v := get(e, "", "/surveys/"+surveyToken(t, inv[0])).Map(t)
	if v["language"] != "en" || !strings.Contains(v["questions"].(map[string]any)["score"].(string), "satisfied") {
		t.Fatalf("survey view: %v", v)
	}
}
