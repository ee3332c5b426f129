package crm_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestCustomerVerify(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	w.clock.Advance(48 * time.Hour)
	t.Run("RestartsReviewClock", func(t *testing.T) {
		got, err := w.customers.Verify(ctx, rep1, c.ID, ptr(int64(1)))
		if err != nil {
			t.Fatal(err)
		}
		now := start.Add(48 * time.Hour)
		if !got.VerifiedAt.Equal(now) || !got.ReviewDueAt.Equal(now.Add(180*24*time.Hour)) || got.Version != 2 || !got.UpdatedAt.Equal(start) {
			t.Errorf("verified %v, review due %v, version %d, updated %v", got.VerifiedAt, got.ReviewDueAt, got.Version, got.UpdatedAt)
		}
		if a := w.lastAudit(t); a.Action != "customer.verify" || !slices.Equal(a.ChangedFields, []string{"verifiedAt"}) {
			t.Errorf("audit %s %v", a.Action, a.ChangedFields)
		}
	})
	t.Run("ErrStaleIfMatch", func(t *testing.T) {
		_, err := w.customers.Verify(ctx, rep1, c.ID, ptr(int64(1)))
		wantErr(t, err, crm.EPRECONDITION)
	})
	t.Run("ErrOtherRepsCustomer", func(t *testing.T) {
		_, err := w.customers.Verify(ctx, rep2, c.ID, nil)
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("RetriedWithoutIfMatchAfterLostRace", func(t *testing.T) {
		attempts := w.raceUpdates(t, c.ID, 1)
		got, err := w.customers.Verify(ctx, rep1, c.ID, nil)
		if err != nil || *attempts != 2 || got.Segment != "raced" {
			t.Errorf("verify after a lost race: %d attempts, segment %q, %v", *attempts, got.Segment, err)
		}
	})
}

func TestCustomerList(t *testing.T) {
	w := newWorld(t)
	a := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Segment: "VIP", Tags: []string{"north"}})
	w.clock.Advance(time.Minute)
	b := w.customer(t, rep1, crm.CustomerInput{Name: "B", Email: "b@x.cn"})
	w.clock.Advance(time.Minute)
	c := w.customer(t, rep2, crm.CustomerInput{Name: "C", Phone: phoneB, Segment: "vip"})
	w.clock.Advance(200 * 24 * time.Hour)
	d := w.customer(t, rep2, crm.CustomerInput{Name: "D", Phone: phoneC})
	for _, tt := range []struct {
		name  string
		actor crm.Actor
		f     crm.CustomerFilter
		want  []string
	}{
		{"AdminSeesAllNewestFirst", admin, crm.CustomerFilter{}, []string{d.ID, c.ID, b.ID, a.ID}},
		{"SalesSeesOwnOnly", rep1, crm.CustomerFilter{}, []string{b.ID, a.ID}},
		{"OtherRepListIsEmpty", rep1, crm.CustomerFilter{OwnerID: "rep2"}, []string{}},
		{"ServiceFiltersByOwner", agent, crm.CustomerFilter{OwnerID: "rep2"}, []string{d.ID, c.ID}},
		{"BySegment", admin, crm.CustomerFilter{Segment: "vip"}, []string{c.ID, a.ID}},
		{"ByTag", admin, crm.CustomerFilter{Tag: "north"}, []string{a.ID}},
		{"ByPhoneNormalized", admin, crm.CustomerFilter{Phone: "+86 138-0013-8000"}, []string{a.ID}},
		{"ByEmailNormalized", admin, crm.CustomerFilter{Email: " B@X.CN "}, []string{b.ID}},
		{"StaleMostOverdueFirst", admin, crm.CustomerFilter{Stale: true}, []string{a.ID, b.ID, c.ID}},
		{"SalesStaleOwnOnly", rep2, crm.CustomerFilter{Stale: true}, []string{c.ID}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs, _, err := w.customers.List(ctx, tt.actor, tt.f, crm.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, c := range cs {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("ErrBadFilters", func(t *testing.T) {
		_, _, err := w.customers.List(ctx, admin, crm.CustomerFilter{Phone: "12", Email: "nope"}, crm.Page{})
		wantFields(t, err, crm.EINVALID, "phone", "email")
	})
	t.Run("Paged", func(t *testing.T) {
		first, next, err := w.customers.List(ctx, admin, crm.CustomerFilter{}, crm.Page{Limit: 3})
		if err != nil || len(first) != 3 || next == "" {
			t.Fatalf("first page: %d, cursor %q, %v", len(first), next, err)
		}
		rest, last, err := w.customers.List(ctx, admin, crm.CustomerFilter{}, crm.Page{Limit: 3, Cursor: next})
		if err != nil || len(rest) != 1 || last != "" || rest[0].ID != a.ID {
			t.Errorf("second page: %v, cursor %q, %v", rest, last, err)
		}
	})
}

func TestCustomerInteractions(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	at := start.Add(-time.Hour)
	valid := crm.InteractionInput{Kind: crm.KindCall, At: &at, Summary: "  Called about the renewal.  ", FollowUpAt: ptr(start.Add(24 * time.Hour))}
	t.Run("Logged", func(t *testing.T) {
		it, err := w.customers.AddInteraction(ctx, rep1, c.ID, valid)
		if err != nil {
			t.Fatal(err)
		}
		if it.Summary != "Called about the renewal." || it.ActorID != "rep1" || it.CustomerID != c.ID || it.FollowUpAt == nil || !it.CreatedAt.Equal(start) {
			t.Errorf("interaction %+v", it)
		}
		if a := w.lastAudit(t); a.Action != "customer.interaction" || a.EntityID != c.ID {
			t.Errorf("audit %+v", a)
		}
	})
	for _, tt := range []struct {
		name   string
		actor  crm.Actor
		id     string
		in     crm.InteractionInput
		code   string
		fields []string
	}{
		{"ErrInvalid", rep1, c.ID, crm.InteractionInput{Kind: "fax", Summary: " "}, crm.EINVALID, []string{"kind", "at", "summary"}},
		{"ErrFollowUpBeforeAt", rep1, c.ID, crm.InteractionInput{Kind: crm.KindNote, At: &at, Summary: "x", FollowUpAt: ptr(at.Add(-time.Second))}, crm.EINVALID, []string{"followUpAt"}},
		{"ErrSummaryTooLong", rep1, c.ID, crm.InteractionInput{Kind: crm.KindNote, At: &at, Summary: string(make([]rune, 4001))}, crm.EINVALID, []string{"summary"}},
		{"ErrOtherRepsCustomer", rep2, c.ID, valid, crm.ENOTFOUND, nil},
		{"ErrUnknownCustomer", admin, "c_nope", valid, crm.ENOTFOUND, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.customers.AddInteraction(ctx, tt.actor, tt.id, tt.in)
			wantFields(t, err, tt.code, tt.fields...)
		})
	}
	t.Run("ListedNewestFirst", func(t *testing.T) {
		later := start
		if _, err := w.customers.AddInteraction(ctx, rep1, c.ID, crm.InteractionInput{Kind: crm.KindEmail, At: &later, Summary: "Sent the quote."}); err != nil {
			t.Fatal(err)
		}
		its, _, err := w.customers.Interactions(ctx, rep1, c.ID, crm.Page{})
		if err != nil || len(its) != 2 || its[0].Kind != crm.KindEmail || its[1].Kind != crm.KindCall {
			t.Errorf("interactions %+v, %v", its, err)
		}
		_, _, err = w.customers.Interactions(ctx, rep2, c.ID, crm.Page{})
		wantErr(t, err, crm.ENOTFOUND)
	})
}

func TestCustomerErase(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Email: "a@x.cn", Consent: &crm.Consent{Reminders: true}})
	at := start
	if _, err := w.customers.AddInteraction(ctx, rep1, c.ID, crm.InteractionInput{Kind: crm.KindCall, At: &at, Summary: "Private words"}); err != nil {
		t.Fatal(err)
	}
	k := w.complaint(t, rep1, c.ID, crm.SeverityLow)
	link, err := w.portal.CreateLink(ctx, rep1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.customers.Erase(ctx, admin, c.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("ReadsAreGone", func(t *testing.T) {
		_, err := w.customers.Get(ctx, admin, c.ID)
		wantErr(t, err, crm.EGONE)
		if its, _, _ := w.store.Customers.ListInteractions(ctx, c.ID, crm.Page{}); len(its) != 0 {
			t.Errorf("%d interactions survive", len(its))
		}
	})
	t.Run("ComplaintFactsStayTextGoes", func(t *testing.T) {
		got, err := w.store.Complaints.GetComplaint(ctx, k.ID)
		if err != nil || got.Subject != "" || got.Description != "" || got.Severity != crm.SeverityLow {
			t.Errorf("complaint after erasure %+v, %v", got, err)
		}
	})
	t.Run("ValuesReleased", func(t *testing.T) {
		if _, err := w.customers.Create(ctx, rep1, crm.CustomerInput{Name: "New", Phone: phoneA, Email: "a@x.cn"}, false); err != nil {
			t.Errorf("erased customer's values still claimed: %v", err)
		}
	})
	t.Run("ErrRevokedLink", func(t *testing.T) {
		_, err := w.portal.View(ctx, token(link), "10.0.0.1")
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("TrailRemains", func(t *testing.T) {
		i := slices.IndexFunc(w.store.Audit.Entries(), func(e crm.AuditEntry) bool { return e.Action == "customer.erase" })
		if i < 0 {
			t.Fatal("no erasure in the audit trail")
		}
		if a := w.store.Audit.Entries()[i]; a.EntityID != c.ID || a.Actor != "admin1" || len(a.ChangedFields) != 12 {
			t.Errorf("erasure audit %+v", a)
		}
	})
	t.Run("ErasingAgainCompletes", func(t *testing.T) {
		if err := w.customers.Erase(ctx, admin, c.ID); err != nil {
			t.Errorf("second erasure: %v", err)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		wantErr(t, w.customers.Erase(ctx, admin, "c_nope"), crm.ENOTFOUND)
	})
	t.Run("ErrComplaintAboutErased", func(t *testing.T) {
		_, err := w.complaints.File(ctx, admin, crm.ComplaintInput{CustomerID: c.ID, Channel: "web", Category: "billing", Severity: crm.SeverityLow, Subject: "s", Description: "d"})
		wantErr(t, err, crm.EGONE)
	})
}

func TestCustomerExport(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, NationalID: "110101199003077777"})
	for i := range 3 {
		at := start.Add(time.Duration(i) * time.Hour)
		if _, err := w.customers.AddInteraction(ctx, rep1, c.ID, crm.InteractionInput{Kind: crm.KindNote, At: &at, Summary: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	k := w.complaint(t, rep1, c.ID, crm.SeverityHigh)
	other := w.customer(t, rep2, crm.CustomerInput{Name: "B", Phone: phoneB})
	w.complaint(t, rep2, other.ID, crm.SeverityHigh)
	t.Run("Everything", func(t *testing.T) {
		x, err := w.customers.Export(ctx, admin, c.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if x.Customer.ID != c.ID || len(x.Interactions) != 3 || len(x.Complaints) != 1 || x.Complaints[0].ID != k.ID || len(x.Complaints[0].Timeline) != 2 {
			t.Errorf("export: customer %s, %d interactions, complaints %+v", x.Customer.ID, len(x.Interactions), x.Complaints)
		}
		if a := w.lastAudit(t); a.Action != "customer.export" || !slices.Equal(a.ChangedFields, []string{"nationalId"}) {
			t.Errorf("audit %s %v", a.Action, a.ChangedFields)
		}
	})
	t.Run("EveryPage", func(t *testing.T) {
		busy := w.customer(t, rep1, crm.CustomerInput{Name: "Busy", Email: "busy@x.cn"})
		for i := range 205 {
			at := start.Add(time.Duration(i) * time.Minute)
			if _, err := w.customers.AddInteraction(ctx, rep1, busy.ID, crm.InteractionInput{Kind: crm.KindNote, At: &at, Summary: "n"}); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			w.complaint(t, rep1, busy.ID, crm.SeverityLow)
		}
		x, err := w.customers.Export(ctx, admin, busy.ID, "")
		if err != nil || len(x.Interactions) != 205 || len(x.Complaints) != 3 {
			t.Errorf("export of %d interactions and %d complaints, %v; want 205 and 3", len(x.Interactions), len(x.Complaints), err)
		}
	})
	t.Run("PagedUnderLambdasLimit", func(t *testing.T) {
		big := w.customer(t, rep1, crm.CustomerInput{Name: "Big", Email: "big@x.cn"})
		// Each summary is the longest allowed, of the character that
		// grows most in a Lambda response: "<" is \u003c in the body,
		// \\u003c in the response around it.
		summary := strings.Repeat("<", 4000)
		const n = 220
		for i := range n {
			at := start.Add(time.Duration(i) * time.Minute)
			if _, err := w.customers.AddInteraction(ctx, rep1, big.ID, crm.InteractionInput{Kind: crm.KindNote, At: &at, Summary: summary}); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			w.complaint(t, rep1, big.ID, crm.SeverityLow)
		}
		seen := map[string]bool{}
		complaints, pages := 0, 0
		for cursor := ""; ; pages++ {
			x, err := w.customers.Export(ctx, admin, big.ID, cursor)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(x)
			inLambda, _ := json.Marshal(string(body))
			if len(inLambda) > 6_000_000 {
				t.Fatalf("page %d takes %d bytes in a Lambda response", pages, len(inLambda))
			}
			for _, it := range x.Interactions {
				if seen[it.ID] {
					t.Fatalf("interaction %s on two pages", it.ID)
				}
				seen[it.ID] = true
			}
			complaints += len(x.Complaints)
			if x.NextCursor == "" {
				break
			}
			cursor = x.NextCursor
		}
		if len(seen) != n || complaints != 3 || pages < 1 {
			t.Errorf("%d pages held %d interactions and %d complaints, want %d and 3 over several pages", pages+1, len(seen), complaints, n)
		}
	})
	t.Run("ErrTamperedCursor", func(t *testing.T) {
		for _, cur := range []string{"x.abc", "nodot", "i.not-a-cursor"} {
			_, err := w.customers.Export(ctx, admin, c.ID, cur)
			wantErr(t, err, crm.EINVALID)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := w.customers.Export(ctx, admin, "c_nope", "")
		wantErr(t, err, crm.ENOTFOUND)
	})
}

func TestSensitiveRead(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, admin, crm.CustomerInput{Name: "A", Phone: phoneA, NationalID: "110101199003077777", Billing: &crm.Billing{TaxID: "9111"}, OwnerID: "rep1"})
	for _, tt := range []struct {
		name   string
		actor  crm.Actor
		fields []string
	}{
		{"FinanceReadsBilling", finance, []string{"billing", "nationalId"}},
		{"AdminReadsBoth", admin, []string{"billing", "nationalId"}},
		{"SalesReadsNothingSensitive", rep1, nil},
		{"AuditorReadsNothingSensitive", auditor, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.store.Audit.Entries())
			if err := w.customers.SensitiveRead(ctx, tt.actor, c, "customer.read"); err != nil {
				t.Fatal(err)
			}
			es := w.store.Audit.Entries()
			if tt.fields == nil {
				if len(es) != before {
					t.Errorf("a read of nothing sensitive was audited")
				}
				return
			}
			if len(es) != before+1 || !slices.Equal(es[len(es)-1].ChangedFields, tt.fields) || es[len(es)-1].Actor != tt.actor.ID {
				t.Errorf("audit %+v, want %v read by %s", es[len(es)-1], tt.fields, tt.actor.ID)
			}
		})
	}
}
