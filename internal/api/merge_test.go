package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/testenv"
)

type mergeAnswer struct {
	MergeID  string         `json:"mergeId"`
	Customer map[string]any `json:"customer"`
}

type problemDoc struct {
	Status     int      `json:"status"`
	MergedInto string   `json:"mergedInto"`
	Fields     []string `json:"fields"`
	Errors     []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
}

func mergeReq(e *testenv.Env, token, into string, body any, key string) testenv.Response {
	e.TB.Helper()
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return e.Do(testenv.Request{Method: "POST", Path: "/customers/" + into + "/merge", Token: token, Body: body, Header: h})
}

func mustMerge(t *testing.T, e *testenv.Env, token, into string, body any) mergeAnswer {
	t.Helper()
	r := mergeReq(e, token, into, body, "")
	if r.Status != http.StatusOK {
		t.Fatalf("merge: %d %s", r.Status, r.Body)
	}
	var m mergeAnswer
	r.JSON(t, &m)
	return m
}

func problemOf(t *testing.T, r testenv.Response) problemDoc {
	t.Helper()
	var p problemDoc
	r.JSON(t, &p)
	return p
}

func itemIDs(t *testing.T, r testenv.Response) []string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var l struct{ Items []map[string]any }
	r.JSON(t, &l)
	var ids []string
	for _, it := range l.Items {
		if id, ok := it["id"].(string); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestMergeAndUndo walks a merge through the real router: the rules that
// refuse one, the survivor's fields, the redirect of the merged-away id
// (308 for those who may see the survivor, 404 for others, 409 for
// writes), children moved, idempotent retries, and the undo that puts
// everything back, once.
func TestMergeAndUndo(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin, alice, carol := e.Token("root", "admin"), e.Token("alice", "sales"), e.Token("carol", "sales")
	survivor := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "company": "Acme", "ownerId": "alice", "tags": []string{"vip"}})
	from := mustCreate(e, admin, map[string]any{"name": "Wei Li", "phone": "139 0000 1111", "email": emailRaw, "segment": "retail",
		"ownerId": "bob", "tags": []string{"web", "vip"}, "consent": map[string]any{"reminders": true, "marketing": false}})
	if r := post(e, admin, "/customers/"+from+"/interactions", map[string]any{"kind": "call", "at": "2026-11-01T09:00:00Z", "summary": "Renewal"}); r.Status != http.StatusCreated {
		t.Fatalf("interaction: %d %s", r.Status, r.Body)
	}
	complaint := fileComplaint(e, admin, from, "low").ID
	beforeSurvivor := get(e, admin, "/customers/"+survivor).Map(t)
	beforeFrom := get(e, admin, "/customers/"+from).Map(t)

	t.Run("Refused", func(t *testing.T) {
		if r := mergeReq(e, alice, survivor, map[string]any{"from": from}, ""); r.Status != http.StatusForbidden {
			t.Errorf("sales merge: %d", r.Status)
		}
		if r := mergeReq(e, admin, survivor, map[string]any{"from": survivor}, ""); r.Status != http.StatusConflict {
			t.Errorf("merge into itself: %d %s", r.Status, r.Body)
		}
		r := mergeReq(e, admin, survivor, map[string]any{"from": "c_nosuch"}, "")
		if p := problemOf(t, r); r.Status != http.StatusNotFound || len(p.Errors) != 1 || p.Errors[0].Field != "from" {
			t.Errorf("unknown from: %d %s", r.Status, r.Body)
		}
		r = mergeReq(e, admin, survivor, map[string]any{"from": from, "prefer": map[string]any{"phnoe": "from", "tags": "from", "email": "mine"}}, "")
		var got []string
		for _, f := range problemOf(t, r).Errors {
			got = append(got, f.Field)
		}
		if r.Status != http.StatusBadRequest || !slices.Equal(got, []string{"prefer.email", "prefer.phnoe", "prefer.tags"}) {
			t.Errorf("bad prefer: %d %v", r.Status, got)
		}
		if r := mergeReq(e, admin, survivor, map[string]any{}, ""); r.Status != http.StatusBadRequest {
			t.Errorf("no from: %d", r.Status)
		}
	})

	body := map[string]any{"from": from, "prefer": map[string]any{"phone": "from"}}
	r := mergeReq(e, admin, survivor, body, "merge-1")
	if r.Status != http.StatusOK {
		t.Fatalf("merge: %d %s", r.Status, r.Body)
	}
	var m mergeAnswer
	r.JSON(t, &m)
	c := m.Customer
	if m.MergeID == "" || c["id"] != survivor || c["phone"] != "+8613900001111" || c["email"] != emailNorm || c["company"] != "Acme" ||
		c["segment"] != "retail" || c["ownerId"] != "alice" {
		t.Fatalf("survivor after merge: %v", c)
	}
	if tags := c["tags"].([]any); len(tags) != 2 || tags[0] != "vip" || tags[1] != "web" {
		t.Errorf("tags %v, want the union", tags)
	}
	if again := mergeReq(e, admin, survivor, body, "merge-1"); again.Status != http.StatusOK || string(again.Body) != string(r.Body) {
		t.Errorf("retry with the same key: %d %s", again.Status, again.Body)
	}

	t.Run("MergedAwayId", func(t *testing.T) {
		for _, suffix := range []string{"", "/interactions", "/consents"} {
			r := get(e, admin, "/customers/"+from+suffix)
			if r.Status != http.StatusPermanentRedirect || r.Header.Get("Location") != "/customers/"+survivor+suffix || problemOf(t, r).MergedInto != survivor {
				t.Errorf("GET %s: %d %q %s", suffix, r.Status, r.Header.Get("Location"), r.Body)
			}
		}
		if r := get(e, alice, "/customers/"+from+"/interactions?limit=5"); r.Status != http.StatusPermanentRedirect ||
			r.Header.Get("Location") != "/customers/"+survivor+"/interactions?limit=5" {
			t.Errorf("survivor's owner: %d %q", r.Status, r.Header.Get("Location"))
		}
		if r := get(e, carol, "/customers/"+from); r.Status != http.StatusNotFound {
			t.Errorf("a rep who may not see the survivor: %d %s", r.Status, r.Body)
		}
		r := patch(e, admin, "/customers/"+from, "", map[string]any{"company": "X"})
		if r.Status != http.StatusConflict || problemOf(t, r).MergedInto != survivor {
			t.Errorf("PATCH: %d %s", r.Status, r.Body)
		}
		r = post(e, admin, "/customers/"+from+"/interactions", map[string]any{"kind": "note", "at": "2026-11-02T09:00:00Z", "summary": "x"})
		if r.Status != http.StatusConflict || problemOf(t, r).MergedInto != survivor {
			t.Errorf("POST interaction: %d %s", r.Status, r.Body)
		}
		third := mustCreate(e, admin, map[string]any{"name": "Third", "email": "third@corp.cn"})
		r = mergeReq(e, admin, third, map[string]any{"from": from}, "")
		if r.Status != http.StatusConflict || problemOf(t, r).MergedInto != survivor {
			t.Errorf("merging a merged-away customer: %d %s", r.Status, r.Body)
		}
	})

	t.Run("ChildrenMoved", func(t *testing.T) {
		if n := len(itemIDs(t, get(e, admin, "/customers/"+survivor+"/interactions"))); n != 1 {
			t.Errorf("survivor has %d interactions, want the merged one", n)
		}
		var cp map[string]any
		get(e, admin, "/complaints/"+complaint).JSON(t, &cp)
		if cp["customerId"] != survivor {
			t.Errorf("complaint's customer %v", cp["customerId"])
		}
		if ids := itemIDs(t, get(e, admin, "/customers?phone="+url.QueryEscape("+8613900001111"))); !slices.Equal(ids, []string{survivor}) {
			t.Errorf("lookup by the moved phone finds %v", ids)
		}
		if ids := itemIDs(t, get(e, admin, "/customers?email="+url.QueryEscape(emailNorm))); !slices.Equal(ids, []string{survivor}) {
			t.Errorf("lookup by the moved email finds %v", ids)
		}
		// The survivor's old phone is free while merged: it may be taken.
	})

	r = post(e, admin, "/merges/"+m.MergeID+"/undo", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("undo: %d %s", r.Status, r.Body)
	}
	afterSurvivor := get(e, admin, "/customers/"+survivor).Map(t)
	afterFrom := get(e, admin, "/customers/"+from).Map(t)
	for _, pair := range []struct{ before, after map[string]any }{{beforeSurvivor, afterSurvivor}, {beforeFrom, afterFrom}} {
		for k, v := range pair.before {
			if k == "version" || k == "updatedAt" {
				continue
			}
			if !jsonEqual(v, pair.after[k]) {
				t.Errorf("%v after undo: %s is %v, was %v", pair.before["id"], k, pair.after[k], v)
			}
		}
	}
	if n := len(itemIDs(t, get(e, admin, "/customers/"+from+"/interactions"))); n != 1 {
		t.Errorf("merged-away customer has %d interactions back, want 1", n)
	}
	if n := len(itemIDs(t, get(e, admin, "/customers/"+survivor+"/interactions"))); n != 0 {
		t.Errorf("survivor kept %d interactions", n)
	}
	var cp map[string]any
	get(e, admin, "/complaints/"+complaint).JSON(t, &cp)
	if cp["customerId"] != from {
		t.Errorf("complaint's customer after undo %v", cp["customerId"])
	}
	if ids := itemIDs(t, get(e, admin, "/customers?phone="+url.QueryEscape(phoneE164))); !slices.Equal(ids, []string{survivor}) {
		t.Errorf("survivor's own phone finds %v after undo", ids)
	}
	if r := post(e, admin, "/merges/"+m.MergeID+"/undo", nil); r.Status != http.StatusConflict {
		t.Errorf("second undo: %d %s", r.Status, r.Body)
	}
	if r := post(e, admin, "/merges/m_nosuch/undo", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown merge: %d", r.Status)
	}

	t.Run("EditedSince", func(t *testing.T) {
		m := mustMerge(t, e, admin, survivor, map[string]any{"from": from})
		if r := patch(e, admin, "/customers/"+survivor, "", map[string]any{"email": "new@corp.cn", "company": "Acme Ltd"}); r.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		r := post(e, admin, "/merges/"+m.MergeID+"/undo", nil)
		if p := problemOf(t, r); r.Status != http.StatusConflict || !slices.Equal(p.Fields, []string{"email"}) {
			t.Errorf("undo after an edit: %d %s, want 409 naming email only", r.Status, r.Body)
		}
		// Erasing the survivor purges the snapshot.
		if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + survivor, Token: admin}); r.Status != http.StatusNoContent {
			t.Fatalf("erase: %d %s", r.Status, r.Body)
		}
		if r := post(e, admin, "/merges/"+m.MergeID+"/undo", nil); r.Status != http.StatusGone {
			t.Errorf("undo after erasure: %d %s", r.Status, r.Body)
		}
		if r := mergeReq(e, admin, survivor, map[string]any{"from": from}, ""); r.Status != http.StatusConflict {
			t.Errorf("merge into an erased customer: %d %s", r.Status, r.Body)
		}
	})
}

// TestMergeUndoExpires: past MERGE_UNDO_TTL an undo is refused (410),
// whether or not the table's TTL has removed the snapshot yet.
func TestMergeUndoExpires(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { directWrites(c); c.MergeUndoTTL = 50 * time.Millisecond }))
	admin := e.Token("root", "admin")
	a := mustCreate(e, admin, map[string]any{"name": "Li Wei", "email": "a@corp.cn"})
	b := mustCreate(e, admin, map[string]any{"name": "Li Wei", "email": "b@corp.cn"})
	m := mustMerge(t, e, admin, a, map[string]any{"from": b})
	time.Sleep(1100 * time.Millisecond)
	if r := post(e, admin, "/merges/"+m.MergeID+"/undo", nil); r.Status != http.StatusGone {
		t.Fatalf("expired undo: %d %s", r.Status, r.Body)
	}
	// Its reserved claim is free again.
	if r := post(e, admin, "/customers", map[string]any{"name": "New", "email": "b@corp.cn"}); r.Status != http.StatusCreated {
		t.Errorf("the merged-away email after expiry: %d %s", r.Status, r.Body)
	}
}

// TestMergeEndsTheMergedAwayLinks: a self-service link sent to the
// merged-away record opens nothing after the merge (the record only
// redirects), and the survivor's own link stays open.
func TestMergeEndsTheMergedAwayLinks(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin := e.Token("root", "admin")
	a := mustCreate(e, admin, map[string]any{"name": "Li Wei", "email": "a@corp.cn", "consent": map[string]any{"reminders": true}})
	b := mustCreate(e, admin, map[string]any{"name": "Li Wei", "email": "b@corp.cn", "consent": map[string]any{"reminders": true}})
	linkA, linkB := portalLink(e, admin, a), portalLink(e, admin, b)
	mustMerge(t, e, admin, a, map[string]any{"from": b})
	if r := e.Do(testenv.Request{Method: "GET", Path: linkB}); r.Status != http.StatusNotFound {
		t.Errorf("the merged-away customer's link after the merge: %d", r.Status)
	}
	// Nor does it take a correction.
	if r := putPortal(e, linkB, map[string]any{"email": "new@corp.cn"}); r.Status != http.StatusNotFound {
		t.Errorf("a correction through the merged-away customer's link: %d %s", r.Status, r.Body)
	}
	if r := e.Do(testenv.Request{Method: "GET", Path: linkA}); r.Status != http.StatusOK {
		t.Errorf("the survivor's link after the merge: %d", r.Status)
	}
}

// TestMergeFourEyes: a merge that would change the survivor's billing
// waits for a second person, whose approval answers as the merge would.
func TestMergeFourEyes(t *testing.T) {
	e := testenv.New(t)
	root, other := e.Token("root", "admin"), e.Token("second", "admin")
	a := mustCreate(e, root, map[string]any{"name": "Li Wei", "email": "a@corp.cn"})
	b := mustCreate(e, root, map[string]any{"name": "Li Wei", "email": "b@corp.cn", "billing": map[string]any{"bankAccount": bank}})
	r := mergeReq(e, root, a, map[string]any{"from": b}, "")
	if r.Status != http.StatusAccepted {
		t.Fatalf("merge changing billing: %d %s", r.Status, r.Body)
	}
	apID := r.Map(t)["approvalId"].(string)
	if r := get(e, root, "/customers/"+b); r.Status != http.StatusOK {
		t.Fatalf("pending merge applied already: %d", r.Status)
	}
	if r := post(e, root, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusForbidden {
		t.Errorf("own approval: %d", r.Status)
	}
	r = post(e, other, "/approvals/"+apID+"/approve", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	var m mergeAnswer
	r.JSON(t, &m)
	if m.MergeID == "" || m.Customer["id"] != a || m.Customer["billing"] == nil {
		t.Fatalf("approved merge answered %s", r.Body)
	}
	if r := get(e, root, "/customers/"+b); r.Status != http.StatusPermanentRedirect {
		t.Errorf("merged-away customer after approval: %d", r.Status)
	}
	// A merge that leaves billing alone is not held.
	c := mustCreate(e, root, map[string]any{"name": "Li Wei", "email": "c@corp.cn"})
	mustMerge(t, e, root, a, map[string]any{"from": c})
}

func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !jsonEqual(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// TestMergeConsentHistory: consent taken from the merged-away record is on
// the survivor's history, which agrees with its consent; the undo takes
// the record away with the change.
func TestMergeConsentHistory(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin := e.Token("root", "admin")
	a := mustCreate(e, admin, map[string]any{"name": "Li Wei", "email": "a@corp.cn", "consent": map[string]any{"reminders": false, "marketing": true}})
	b := mustCreate(e, admin, map[string]any{"name": "Li Wei", "email": "b@corp.cn", "consent": map[string]any{"reminders": true, "marketing": false}})
	before := consents(e, admin, a)
	m := mustMerge(t, e, admin, a, map[string]any{"from": b, "prefer": map[string]any{"consent": "from"}})
	latestAgrees(e, admin, a)
	if n := len(consents(e, admin, a)); n < len(before)+2 {
		t.Errorf("survivor's history has %d records, want its own, the merged-away one's and the merge's", n)
	}
	if r := post(e, admin, "/merges/"+m.MergeID+"/undo", nil); r.Status != http.StatusOK {
		t.Fatalf("undo: %d %s", r.Status, r.Body)
	}
	if after := consents(e, admin, a); !slices.Equal(after, before) {
		t.Errorf("survivor's history after undo %+v, want %+v", after, before)
	}
	latestAgrees(e, admin, b)
}

// TestMergeAgainAfterUndo: a pair merged, undone and merged again keeps
// the second merge's rules, the stream delivered between each step as on
// AWS: an edit since in a field it took makes undo
// the 409 naming that field, and once set back the undo goes through.
func TestMergeAgainAfterUndo(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin := e.Token("root", "admin")
	a := mustCreate(e, admin, map[string]any{"name": "Wang Fang", "phone": phoneRaw, "company": "Blue Sky Trading"})
	b := mustCreate(e, admin, map[string]any{"name": "wang FANG", "email": emailRaw, "company": "BLUE SKY trading"})
	body := map[string]any{"from": b, "prefer": map[string]any{"company": "from"}}
	first := mustMerge(t, e, admin, a, body)
	deliverStream(t, e)
	if r := post(e, admin, "/merges/"+first.MergeID+"/undo", nil); r.Status != http.StatusOK {
		t.Fatalf("first undo: %d %s", r.Status, r.Body)
	}
	deliverStream(t, e)
	second := mustMerge(t, e, admin, a, body)
	deliverStream(t, e)
	if r := patch(e, admin, "/customers/"+a, "", map[string]any{"company": "Blue Sky Ltd"}); r.Status != http.StatusOK {
		t.Fatalf("edit: %d %s", r.Status, r.Body)
	}
	deliverStream(t, e)
	r := post(e, admin, "/merges/"+second.MergeID+"/undo", nil)
	if p := problemOf(t, r); r.Status != http.StatusConflict || !slices.Contains(p.Fields, "company") {
		t.Fatalf("undo after an edit of a field the merge took: %d %s", r.Status, r.Body)
	}
	if r := patch(e, admin, "/customers/"+a, "", map[string]any{"company": "BLUE SKY trading"}); r.Status != http.StatusOK {
		t.Fatalf("set back: %d %s", r.Status, r.Body)
	}
	if r := post(e, admin, "/merges/"+second.MergeID+"/undo", nil); r.Status != http.StatusOK {
		t.Fatalf("undo once set back: %d %s", r.Status, r.Body)
	}
	if c := get(e, admin, "/customers/"+b).Map(t); c["company"] != "BLUE SKY trading" {
		t.Errorf("the merged-away record after the undo: %v", c["company"])
	}
}
