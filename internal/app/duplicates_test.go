package app_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// stream delivers the main table's stream to the consumer, the records
// not delivered yet, as many times as asked.
type stream struct {
	t       *testing.T
	poller  *streams.Poller
	pending []events.DynamoDBEventRecord
	handle  func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

func newStream(t *testing.T, e *testenv.Env) *stream {
	s := &stream{t: t, handle: app.StreamHandler(e.Services, nil)}
	arn, err := streams.StreamARN(context.Background(), e.DB, e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	s.poller = streams.New(e.StreamsClient(), arn, func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		s.pending = append(s.pending, ev.Records...)
		return events.DynamoDBEventResponse{}, nil
	}, streams.Options{})
	return s
}

// deliver hands every new record to the consumer times times, then does
// the same with the records that delivery wrote, until none are left.
func (s *stream) deliver(times int) {
	s.t.Helper()
	for range 10 {
		s.pending = nil
		if _, err := s.poller.Drain(context.Background()); err != nil {
			s.t.Fatal(err)
		}
		if len(s.pending) == 0 {
			return
		}
		batch := s.pending
		for range times {
			if resp, err := s.handle(context.Background(), events.DynamoDBEvent{Records: batch}); err != nil || len(resp.BatchItemFailures) > 0 {
				s.t.Fatalf("consumer: %v %+v", err, resp.BatchItemFailures)
			}
		}
	}
	s.t.Fatal("the stream did not settle")
}

type dupList struct {
	Items []crm.LikelyDuplicate `json:"items"`
}

func createCustomer(t *testing.T, e *testenv.Env, token string, body map[string]any) string {
	t.Helper()
	r := e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: token, Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	return r.Map(t)["id"].(string)
}

// TestLikelyDuplicatesFromStream: the consumer pairs customers whose names
// normalize alike and that share a signal, and only those; the list and
// the data-quality rate follow edits and erasure; delivering every record
// twice changes nothing; the rebuild finds the same pairs.
func TestLikelyDuplicatesFromStream(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.FourEyes.Kinds = nil })) // erasures apply at once
	admin := e.Token("root", "admin")
	s := newStream(t, e)

	li1 := createCustomer(t, e, admin, map[string]any{"name": "Li Wei", "company": "Acme Trading", "phone": "13800138000", "ownerId": "alice"})
	li2 := createCustomer(t, e, admin, map[string]any{"name": "  LI   wei ", "company": "ACME  trading", "phone": "13900139001", "ownerId": "bob"})
	// Same name in full-width forms, but nothing else in common.
	li3 := createCustomer(t, e, admin, map[string]any{"name": "Ｌｉ　Ｗｅｉ", "company": "Other Co", "email": "li@other.example", "ownerId": "alice"})
	// One letter apart, sharing the phone's last four digits.
	jo1 := createCustomer(t, e, admin, map[string]any{"name": "Jonathan Smith", "phone": "13800004321", "email": "jon@smith-co.example"})
	jo2 := createCustomer(t, e, admin, map[string]any{"name": "Jonathon Smith", "phone": "13911114321", "email": "jsmith@gmail.com"})
	createCustomer(t, e, admin, map[string]any{"name": "Mary Jones", "company": "Acme Trading", "email": "mary@jones.example"})
	s.deliver(2)

	list := func() dupList {
		t.Helper()
		r := e.Do(testenv.Request{Method: "GET", Path: "/customers/duplicates", Token: admin})
		if r.Status != http.StatusOK {
			t.Fatalf("duplicates: %d %s", r.Status, r.Body)
		}
		var l dupList
		r.JSON(t, &l)
		return l
	}
	pairOf := func(a, b string) [2]string { return [2]string{min(a, b), max(a, b)} }
	got := map[[2]string][]string{}
	for _, p := range list().Items {
		got[[2]string{p.A, p.B}] = p.Reasons
	}
	want := map[[2]string][]string{
		pairOf(li1, li2): {crm.ReasonSameName, crm.ReasonSameCompany},
		pairOf(jo1, jo2): {crm.ReasonSimilarName, crm.ReasonSamePhoneTail},
	}
	if len(got) != len(want) {
		t.Errorf("pairs %v, want %v", got, want)
	}
	for k, reasons := range want {
		if !slices.Equal(got[k], reasons) {
			t.Errorf("pair %v: reasons %v, want %v", k, got[k], reasons)
		}
	}
	_ = li3

	rate := func() float64 {
		t.Helper()
		r := e.Do(testenv.Request{Method: "GET", Path: "/reports/data-quality", Token: admin})
		if r.Status != http.StatusOK {
			t.Fatalf("report: %d %s", r.Status, r.Body)
		}
		return r.Map(t)["likelyDuplicateRate"].(float64)
	}
	if got := rate(); got != 4.0/6 {
		t.Errorf("likelyDuplicateRate %v, want 4/6", got)
	}

	// The service desk may read the list; sales may not.
	if r := e.Do(testenv.Request{Method: "GET", Path: "/customers/duplicates", Token: e.Token("sam", "service")}); r.Status != http.StatusOK {
		t.Errorf("service: %d", r.Status)
	}
	if r := e.Do(testenv.Request{Method: "GET", Path: "/customers/duplicates", Token: e.Token("alice", "sales")}); r.Status != http.StatusForbidden {
		t.Errorf("sales: %d", r.Status)
	}

	// A company corrected away ends the pair; erasure ends the other.
	if r := e.Do(testenv.Request{Method: "PATCH", Path: "/customers/" + li2, Token: admin, Body: map[string]any{"company": "Elsewhere Ltd"}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + jo2, Token: admin}); r.Status != http.StatusNoContent {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	s.deliver(1)
	if l := list(); len(l.Items) != 0 {
		t.Errorf("pairs left: %+v", l.Items)
	}
	if got := rate(); got != 0 {
		t.Errorf("likelyDuplicateRate %v after the pairs ended, want 0", got)
	}

	// Back again; the rebuild re-derives what the stream keeps.
	if r := e.Do(testenv.Request{Method: "PATCH", Path: "/customers/" + li2, Token: admin, Body: map[string]any{"company": "Acme Trading"}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	s.deliver(1)
	before := list()
	if len(before.Items) != 1 {
		t.Fatalf("pairs %+v, want one", before.Items)
	}
	if _, err := e.Services.Table.Customers().RebuildDuplicates(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if after := list(); !slices.EqualFunc(before.Items, after.Items, func(a, b crm.LikelyDuplicate) bool {
		return a.A == b.A && a.B == b.B && a.Score == b.Score && slices.Equal(a.Reasons, b.Reasons)
	}) {
		t.Errorf("rebuild: %+v, stream: %+v", after.Items, before.Items)
	}
}
