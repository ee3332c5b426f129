package crmfake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

func newStore() (*crmfake.Stores, *crmfake.Clock) {
	clock := crmfake.NewClock(t0)
	return crmfake.New(crm.DefaultPolicy(func(raw, _ string) (string, error) { return raw, nil }), clock.Now), clock
}

func cust(id, phone, email string) crm.Customer {
	return crm.Customer{ID: id, Name: "Customer " + id, Phone: phone, Email: email, OwnerID: "rep1",
		CreatedAt: t0, UpdatedAt: t0, ReviewDueAt: t0.AddDate(0, 6, 0), Version: 1}
}

func audit(action, id string) crm.Audit {
	return crm.NewAudit(ctx, crm.Actor{ID: "admin1", Roles: []crm.Role{crm.RoleAdmin}}, action, "customer", id)
}

func wantCode(tb testing.TB, err error, code string) *crm.Error {
	tb.Helper()
	if got := crm.ErrorCode(err); got != code {
		tb.Fatalf("error code %q (%v), want %q", got, err, code)
	}
	var e *crm.Error
	errors.As(err, &e)
	return e
}

func TestClaims(t *testing.T) {
	t.Run("DuplicateNamesHolderAndFields", func(t *testing.T) {
		s, _ := newStore()
		if err := s.Customers.CreateCustomer(ctx, cust("c_a", "+861", "a@x.cn"), false, audit("customer.create", "c_a")); err != nil {
			t.Fatal(err)
		}
		e := wantCode(t, s.Customers.CreateCustomer(ctx, cust("c_b", "+861", "a@x.cn"), false, audit("customer.create", "c_b")), crm.ECONFLICT)
		if e.DuplicateOf != "c_a" || len(e.Fields) != 2 || e.Fields[0].Field != crm.FieldPhone || e.Fields[1].Field != crm.FieldEmail {
			t.Errorf("duplicate error %+v, want c_a on phone and email", e)
		}
		if _, err := s.Customers.GetCustomer(ctx, "c_b"); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("refused create stored the customer: %v", err)
		}
		if n := len(s.Audit.Entries()); n != 1 {
			t.Errorf("%d audit entries, want 1: a refused write records none", n)
		}
	})
	t.Run("ReleasedOnUpdate", func(t *testing.T) {
		s, _ := newStore()
		a := cust("c_a", "+861", "")
		if err := s.Customers.CreateCustomer(ctx, a, false, audit("customer.create", "c_a")); err != nil {
			t.Fatal(err)
		}
		next := a
		next.Phone, next.Version = "+862", 2
		if err := s.Customers.UpdateCustomer(ctx, a, next, audit("customer.update", "c_a")); err != nil {
			t.Fatal(err)
		}
		if h := s.Customers.ClaimHolder(crm.FieldPhone, "+861"); h != "" {
			t.Errorf("old phone still claimed by %q", h)
		}
		if err := s.Customers.CreateCustomer(ctx, cust("c_b", "+861", ""), false, audit("customer.create", "c_b")); err != nil {
			t.Errorf("released phone refused: %v", err)
		}
		e := wantCode(t, s.Customers.CreateCustomer(ctx, cust("c_c", "+862", ""), false, audit("customer.create", "c_c")), crm.ECONFLICT)
		if e.DuplicateOf != "c_a" {
			t.Errorf("DuplicateOf %q, want c_a", e.DuplicateOf)
		}
	})
	t.Run("UpdateIntoHeldValueRefused", func(t *testing.T) {
		s, _ := newStore()
		a, b := cust("c_a", "+861", ""), cust("c_b", "+862", "")
		for _, c := range []crm.Customer{a, b} {
			if err := s.Customers.CreateCustomer(ctx, c, false, audit("customer.create", c.ID)); err != nil {
				t.Fatal(err)
			}
		}
		next := b
		next.Phone, next.Version = "+861", 2
		e := wantCode(t, s.Customers.UpdateCustomer(ctx, b, next, audit("customer.update", "c_b")), crm.ECONFLICT)
		if e.DuplicateOf != "c_a" {
			t.Errorf("DuplicateOf %q, want c_a", e.DuplicateOf)
		}
		if got, _ := s.Customers.GetCustomer(ctx, "c_b"); got.Phone != "+862" || got.Version != 1 {
			t.Errorf("refused update changed the customer: %+v", got)
		}
		if h := s.Customers.ClaimHolder(crm.FieldPhone, "+862"); h != "c_b" {
			t.Errorf("refused update released the claim: holder %q", h)
		}
	})
	t.Run("AllowedDuplicateHoldsNoClaim", func(t *testing.T) {
		s, _ := newStore()
		if err := s.Customers.CreateCustomer(ctx, cust("c_a", "+861", ""), false, audit("customer.create", "c_a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Customers.CreateCustomer(ctx, cust("c_b", "+861", "b@x.cn"), true, audit("customer.create", "c_b")); err != nil {
			t.Fatal(err)
		}
		if got := s.Customers.Claims("c_b"); !slices.Equal(got, []string{crm.FieldEmail}) {
			t.Errorf("allowed duplicate holds %v, want only its free email", got)
		}
		if h := s.Customers.ClaimHolder(crm.FieldPhone, "+861"); h != "c_a" {
			t.Errorf("phone holder %q, want c_a", h)
		}
		b, _ := s.Customers.GetCustomer(ctx, "c_b")
		next := b
		next.Phone, next.Version = "+863", 2
		if err := s.Customers.UpdateCustomer(ctx, b, next, audit("customer.update", "c_b")); err != nil {
			t.Fatal(err)
		}
		if h := s.Customers.ClaimHolder(crm.FieldPhone, "+861"); h != "c_a" {
			t.Errorf("the duplicate's update released c_a's claim: holder %q", h)
		}
	})
	t.Run("ErasureReleases", func(t *testing.T) {
		s, _ := newStore()
		if err := s.Customers.CreateCustomer(ctx, cust("c_a", "+861", "a@x.cn"), false, audit("customer.create", "c_a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Customers.EraseCustomer(ctx, "c_a", audit("customer.erase", "c_a")); err != nil {
			t.Fatal(err)
		}
		if err := s.Customers.EraseCustomer(ctx, "c_a", audit("customer.erase", "c_a")); err != nil {
			t.Errorf("second erasure: %v", err)
		}
		wantCode(t, s.Customers.EraseCustomer(ctx, "c_never", audit("customer.erase", "c_never")), crm.ENOTFOUND)
		_, err := s.Customers.GetCustomer(ctx, "c_a")
		wantCode(t, err, crm.EGONE)
		if err := s.Customers.CreateCustomer(ctx, cust("c_b", "+861", "a@x.cn"), false, audit("customer.create", "c_b")); err != nil {
			t.Errorf("erased customer's values still claimed: %v", err)
		}
	})
	t.Run("ConcurrentCreatesOneWins", func(t *testing.T) {
		s, _ := newStore()
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("c_%02d", i)
				errs[i] = s.Customers.CreateCustomer(ctx, cust(id, "+861", ""), false, audit("customer.create", id))
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch crm.ErrorCode(err) {
			case "":
				won++
			case crm.ECONFLICT:
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d creates won, want 1", won)
		}
	})
}

func TestVersionConditions(t *testing.T) {
	s, _ := newStore()
	a := cust("c_a", "+861", "")
	if err := s.Customers.CreateCustomer(ctx, a, false, audit("customer.create", "c_a")); err != nil {
		t.Fatal(err)
	}
	next := a
	next.Name, next.Version = "First", 2
	if err := s.Customers.UpdateCustomer(ctx, a, next, audit("customer.update", "c_a")); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrStaleVersion", func(t *testing.T) {
		stale := a
		stale.Name, stale.Version = "Second", 2
		wantCode(t, s.Customers.UpdateCustomer(ctx, a, stale, audit("customer.update", "c_a")), crm.EPRECONDITION)
		if got, _ := s.Customers.GetCustomer(ctx, "c_a"); got.Name != "First" {
			t.Errorf("stale update applied: name %q", got.Name)
		}
	})
	t.Run("DuplicateWinsOverStaleVersion", func(t *testing.T) {
		if err := s.Customers.CreateCustomer(ctx, cust("c_b", "+869", ""), false, audit("customer.create", "c_b")); err != nil {
			t.Fatal(err)
		}
		stale := a
		stale.Phone, stale.Version = "+869", 2
		wantCode(t, s.Customers.UpdateCustomer(ctx, a, stale, audit("customer.update", "c_a")), crm.ECONFLICT)
	})
	t.Run("ErrUpdateErased", func(t *testing.T) {
		cur, _ := s.Customers.GetCustomer(ctx, "c_b")
		if err := s.Customers.EraseCustomer(ctx, "c_b", audit("customer.erase", "c_b")); err != nil {
			t.Fatal(err)
		}
		n := cur
		n.Version++
		wantCode(t, s.Customers.UpdateCustomer(ctx, cur, n, audit("customer.update", "c_b")), crm.EGONE)
	})
	t.Run("ErrComplaintStaleVersion", func(t *testing.T) {
		k := crm.Complaint{ID: "k_1", CustomerID: "c_a", Status: crm.StatusAcknowledged, Version: 1, CreatedAt: t0, SLADueAt: t0.Add(time.Hour)}
		if err := s.Complaints.CreateComplaint(ctx, k, nil, nil, audit("complaint.create", "k_1")); err != nil {
			t.Fatal(err)
		}
		n := k
		n.Status, n.Version = crm.StatusInProgress, 2
		if err := s.Complaints.UpdateComplaint(ctx, k, n, crm.TimelineEntry{Seq: 1}, nil, audit("complaint.in_progress", "k_1")); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.Complaints.UpdateComplaint(ctx, k, n, crm.TimelineEntry{Seq: 2}, nil, audit("complaint.in_progress", "k_1")), crm.EPRECONDITION)
		if tl, _ := s.Complaints.ComplaintTimeline(ctx, "k_1"); len(tl) != 1 {
			t.Errorf("timeline has %d entries, want 1: the lost update appended", len(tl))
		}
	})
	t.Run("ErrComplaintAboutErased", func(t *testing.T) {
		k := crm.Complaint{ID: "k_2", CustomerID: "c_b", Version: 1}
		wantCode(t, s.Complaints.CreateComplaint(ctx, k, nil, nil, audit("complaint.create", "k_2")), crm.ENOTFOUND)
	})
}

func TestPaging(t *testing.T) {
	s, _ := newStore()
	var ids []string
	for i := range 7 {
		c := cust(fmt.Sprintf("c_%d", i), "", "")
		c.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		if i%2 == 0 {
			c.Segment = "vip"
		}
		if err := s.Customers.CreateCustomer(ctx, c, false, audit("customer.create", c.ID)); err != nil {
			t.Fatal(err)
		}
		ids = append([]string{c.ID}, ids...)
	}
	t.Run("NewestFirstWithoutOverlap", func(t *testing.T) {
		var got []string
		p := crm.Page{Limit: 3}
		for pages := 0; ; pages++ {
			cs, next, err := s.Customers.ListCustomers(ctx, crm.CustomerFilter{}, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				got = append(got, c.ID)
			}
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			p.Cursor = next
		}
		if !slices.Equal(got, ids) {
			t.Errorf("paged %v, want %v", got, ids)
		}
	})
	t.Run("FilterApplies", func(t *testing.T) {
		cs, next, err := s.Customers.ListCustomers(ctx, crm.CustomerFilter{Segment: "vip"}, crm.Page{Limit: 10})
		if err != nil || next != "" || len(cs) != 4 {
			t.Fatalf("vip list: %d customers, cursor %q, %v; want 4 and no cursor", len(cs), next, err)
		}
	})
	t.Run("ErrCursorOfOtherFilter", func(t *testing.T) {
		_, next, err := s.Customers.ListCustomers(ctx, crm.CustomerFilter{}, crm.Page{Limit: 2})
		if err != nil || next == "" {
			t.Fatalf("first page: cursor %q, %v", next, err)
		}
		_, _, err = s.Customers.ListCustomers(ctx, crm.CustomerFilter{Segment: "vip"}, crm.Page{Limit: 2, Cursor: next})
		wantCode(t, err, crm.EINVALID)
		_, _, err = s.Customers.ListCustomers(ctx, crm.CustomerFilter{}, crm.Page{Limit: 2, Cursor: "not-a-cursor"})
		wantCode(t, err, crm.EINVALID)
	})
}

func TestDueMarksAndReminders(t *testing.T) {
	s, clock := newStore()
	c := cust("c_a", "", "")
	c.ReviewDueAt = t0.Add(time.Hour)
	if err := s.Customers.CreateCustomer(ctx, c, false, audit("customer.create", "c_a")); err != nil {
		t.Fatal(err)
	}
	due := func(at time.Time) []crm.Due {
		var out []crm.Due
		if err := s.Reminders.DueItems(ctx, at, func(p []crm.Due) error { out = append(out, p...); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if d := due(t0); len(d) != 0 {
		t.Fatalf("due before the review: %+v", d)
	}
	d := due(t0.Add(time.Hour))
	if len(d) != 1 || d[0].Kind != crm.DueReview || d[0].SubjectID != "c_a" || d[0].OwnerID != "rep1" {
		t.Fatalf("due at the review: %+v", d)
	}
	r := crm.Reminder{ID: crm.ReminderID(crm.ReminderStaleCustomer, "c_a", c.ReviewDueAt), Kind: crm.ReminderStaleCustomer, AssigneeID: "rep1", Status: crm.ReminderOpen}
	note := crm.Notification{ID: "n_1", Kind: crm.NotifyReminder, At: t0}
	rec := crm.ReminderRecord{Due: d[0], Reminder: &r, Notes: []crm.Notification{note}}
	t.Run("RecordedOnce", func(t *testing.T) {
		if ok, err := s.Reminders.RecordReminder(ctx, rec); !ok || err != nil {
			t.Fatalf("first record: %t, %v", ok, err)
		}
		if ok, err := s.Reminders.RecordReminder(ctx, rec); ok || err != nil {
			t.Fatalf("second record: %t, %v; want false, nil", ok, err)
		}
		if got := due(t0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("mark not cleared: %+v", got)
		}
	})
	t.Run("StaleMarkWritesNothing", func(t *testing.T) {
		c2 := cust("c_b", "", "")
		c2.ReviewDueAt = t0
		if err := s.Customers.CreateCustomer(ctx, c2, false, audit("customer.create", "c_b")); err != nil {
			t.Fatal(err)
		}
		d := due(t0)[0]
		next := c2
		next.ReviewDueAt, next.Version = t0.AddDate(1, 0, 0), 2
		if err := s.Customers.UpdateCustomer(ctx, c2, next, audit("customer.update", "c_b")); err != nil {
			t.Fatal(err)
		}
		r2 := crm.Reminder{ID: "r_b", AssigneeID: "rep1", Status: crm.ReminderOpen}
		if ok, err := s.Reminders.RecordReminder(ctx, crm.ReminderRecord{Due: d, Reminder: &r2}); ok || err != nil {
			t.Fatalf("record on a moved mark: %t, %v; want false, nil", ok, err)
		}
		if _, err := s.Reminders.GetReminder(ctx, "r_b"); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("reminder stored for a changed item: %v", err)
		}
	})
	t.Run("NotificationLease", func(t *testing.T) {
		undelivered := func() []crm.Notification {
			var out []crm.Notification
			if err := s.Reminders.UndeliveredNotifications(ctx, func(p []crm.Notification) error { out = append(out, p...); return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got := undelivered(); len(got) != 0 {
			t.Fatalf("leased notification offered for redelivery: %+v", got)
		}
		clock.Advance(3 * time.Minute)
		if got := undelivered(); len(got) != 1 || got[0].ID != "n_1" {
			t.Fatalf("after the lease: %+v, want n_1", got)
		}
		if n, ok, err := s.Reminders.ClaimNotification(ctx, note); !ok || n != 1 || err != nil {
			t.Fatalf("first claim: %d, %t, %v", n, ok, err)
		}
		if _, ok, _ := s.Reminders.ClaimNotification(ctx, note); ok {
			t.Error("a leased notification was claimed twice")
		}
		if err := s.Reminders.MarkNotification(ctx, note, true, 1, clock.Now()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(3 * time.Minute)
		if got := undelivered(); len(got) != 0 {
			t.Errorf("sent notification offered again: %+v", got)
		}
	})
	t.Run("ErrCompleteChanged", func(t *testing.T) {
		done := r
		done.Status = crm.ReminderDone
		if err := s.Reminders.CompleteReminder(ctx, r, done, audit("reminder.done", r.ID)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.Reminders.CompleteReminder(ctx, r, done, audit("reminder.done", r.ID)), crm.EPRECONDITION)
	})
}

func TestPortalStore(t *testing.T) {
	s, _ := newStore()
	c := cust("c_a", "+861", "")
	if err := s.Customers.CreateCustomer(ctx, c, false, audit("customer.create", "c_a")); err != nil {
		t.Fatal(err)
	}
	l := crm.PortalLink{ID: "p_1", CustomerID: "c_a", ExpiresAt: t0.Add(time.Hour)}
	if err := s.Portal.CreatePortalLink(ctx, l, audit("customer.portal_link", "c_a")); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrExpired", func(t *testing.T) {
		_, err := s.Portal.PortalLink(ctx, "p_1", t0.Add(time.Hour))
		wantCode(t, err, crm.ENOTFOUND)
	})
	t.Run("SingleUse", func(t *testing.T) {
		next := c
		next.Phone, next.Version = "+862", 2
		if err := s.Portal.UpdateCustomerByLink(ctx, "p_1", c, next, t0, audit("customer.portal_update", "c_a"), nil); err != nil {
			t.Fatal(err)
		}
		again := next
		again.Phone, again.Version = "+863", 3
		wantCode(t, s.Portal.UpdateCustomerByLink(ctx, "p_1", next, again, t0, audit("customer.portal_update", "c_a"), nil), crm.ENOTFOUND)
		if got, _ := s.Customers.GetCustomer(ctx, "c_a"); got.Phone != "+862" {
			t.Errorf("used link changed the customer: phone %q", got.Phone)
		}
	})
	t.Run("RateLimitPerWindow", func(t *testing.T) {
		for i := 1; i <= 4; i++ {
			ok, err := s.Portal.Allow(ctx, "k", 3, time.Hour, t0)
			if err != nil || ok != (i <= 3) {
				t.Fatalf("request %d: allowed %t, %v", i, ok, err)
			}
		}
		if ok, _ := s.Portal.Allow(ctx, "k", 3, time.Hour, t0.Add(time.Hour)); !ok {
			t.Error("the next window starts spent")
		}
	})
}

func TestIdempotency(t *testing.T) {
	s, _ := newStore()
	if resp, err := s.Idempotency.BeginIdempotent(ctx, "key", "h1", t0); resp != nil || err != nil {
		t.Fatalf("first begin: %v, %v", resp, err)
	}
	_, err := s.Idempotency.BeginIdempotent(ctx, "key", "h1", t0.Add(time.Second))
	wantCode(t, err, crm.ECONFLICT)
	_, err = s.Idempotency.BeginIdempotent(ctx, "key", "h2", t0.Add(time.Second))
	wantCode(t, err, crm.EIDEMPOTENCY)
	if err := s.Idempotency.CompleteIdempotent(ctx, "key", crm.SavedResponse{Status: 201, Body: []byte("x")}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Idempotency.BeginIdempotent(ctx, "key", "h1", t0.Add(2*time.Second))
	if err != nil || resp == nil || resp.Status != 201 {
		t.Fatalf("replay: %+v, %v", resp, err)
	}
	if resp, err := s.Idempotency.BeginIdempotent(ctx, "dead", "h", t0); resp != nil || err != nil {
		t.Fatal(err)
	}
	if resp, err := s.Idempotency.BeginIdempotent(ctx, "dead", "h", t0.Add(time.Minute)); resp != nil || err != nil {
		t.Errorf("a dead request's key was not taken over: %v, %v", resp, err)
	}
}

func TestAuditTrail(t *testing.T) {
	s, clock := newStore()
	for i := range 5 {
		a := audit("customer.update", fmt.Sprintf("c_%d", i%2))
		if err := s.Audit.AppendAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	t.Run("Chained", func(t *testing.T) {
		es := s.Audit.Entries()
		for i, e := range es {
			if e.Seq != int64(i+1) || e.Hash == "" || i > 0 && e.PrevHash != es[i-1].Hash {
				t.Errorf("entry %d: seq %d prev %q hash %q", i, e.Seq, e.PrevHash, e.Hash)
			}
		}
	})
	t.Run("NewestFirstByEntity", func(t *testing.T) {
		es, _, err := s.Audit.ListAudit(ctx, crm.AuditFilter{EntityID: "c_0"}, crm.Page{})
		if err != nil || len(es) != 3 || es[0].Seq != 5 || es[2].Seq != 1 {
			t.Errorf("entries %+v, %v", es, err)
		}
	})
	t.Run("PagedWithoutOverlap", func(t *testing.T) {
		var seqs []int64
		p := crm.Page{Limit: 2}
		for {
			es, next, err := s.Audit.ListAudit(ctx, crm.AuditFilter{}, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				seqs = append(seqs, e.Seq)
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if !slices.Equal(seqs, []int64{5, 4, 3, 2, 1}) {
			t.Errorf("paged %v", seqs)
		}
	})
	t.Run("ErrFromAfterTo", func(t *testing.T) {
		_, _, err := s.Audit.ListAudit(ctx, crm.AuditFilter{From: t0, To: t0.Add(-time.Second)}, crm.Page{})
		wantCode(t, err, crm.EINVALID)
	})
}

func TestAggregatesFollowState(t *testing.T) {
	s, _ := newStore()
	a := cust("c_a", "+861", "a@x.cn")
	if err := s.Customers.CreateCustomer(ctx, a, false, audit("customer.create", "c_a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Customers.CreateCustomer(ctx, cust("c_b", "+861", ""), true, audit("customer.create", "c_b")); err != nil {
		t.Fatal(err)
	}
	read := func() crm.Counts {
		aggs, err := s.Aggregates.Aggregates(ctx, []string{crm.AggCustomers})
		if err != nil {
			t.Fatal(err)
		}
		return aggs[crm.AggCustomers]
	}
	if got := read(); got["customers"] != 2 || got["duplicate"] != 1 || got["owner#rep1"] != 2 {
		t.Errorf("after two creates %v", got)
	}
	if err := s.Customers.EraseCustomer(ctx, "c_a", audit("customer.erase", "c_a")); err != nil {
		t.Fatal(err)
	}
	// The duplicate keeps its value but not a claim: it still counts as one.
	if got := read(); got["customers"] != 1 || got["duplicate"] != 1 {
		t.Errorf("after the erasure %v", got)
	}
	k := crm.Complaint{ID: "k_1", CustomerID: "c_b", Status: crm.StatusResolved, Category: "billing", CreatedAt: t0, ResolvedAt: t0.Add(time.Hour),
		SLADueAt: t0.Add(2 * time.Hour), Resolution: &crm.Resolution{RootCause: " Billing  Bug"}, Version: 1}
	if err := s.Complaints.CreateComplaint(ctx, k, nil, nil, audit("complaint.create", "k_1")); err != nil {
		t.Fatal(err)
	}
	week := crm.AggComplaintWeek(t0)
	aggs, _ := s.Aggregates.Aggregates(ctx, []string{week})
	var key string
	for attr := range aggs[week] {
		if len(attr) > 5 && attr[:5] == "root#" {
			key = attr[5:]
		}
	}
	labels, _ := s.Aggregates.RootCauseLabels(ctx, []string{key})
	if aggs[week]["complaints"] != 1 || aggs[week]["resolved"] != 1 || labels[key] != " Billing  Bug" {
		t.Errorf("complaint week %v, labels %v", aggs[week], labels)
	}
}

func TestNotifier(t *testing.T) {
	n := &crmfake.Notifier{Fail: func(x crm.Notification) bool { return x.ID == "bad" }}
	if err := n.Notify(ctx, crm.Notification{ID: "good"}); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, crm.Notification{ID: "bad"}); !errors.Is(err, crmfake.ErrDelivery) {
		t.Errorf("failing notification returned %v", err)
	}
	if sent := n.Sent(); len(sent) != 1 || sent[0].ID != "good" || n.Attempts() != 2 {
		t.Errorf("sent %v after %d attempts", sent, n.Attempts())
	}
}
