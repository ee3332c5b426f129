package crm_test

import (
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
)

// remindWorld holds a customer who agreed to reminders (a), one who did
// not (b), a follow-up due a day in, and a high complaint (SLA 8h, warning
// at 6h) assigned to rep1.
type remindWorld struct {
	*world
	a, b crm.Customer
	k    crm.Complaint
	it   crm.Interaction
}

func newRemindWorld(t *testing.T) *remindWorld {
	w := newWorld(t)
	r := &remindWorld{world: w}
	r.a = w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Consent: &crm.Consent{Reminders: true}})
	r.b = w.customer(t, rep2, crm.CustomerInput{Name: "B", Phone: phoneB})
	at := start
	it, err := w.customers.AddInteraction(ctx, rep1, r.a.ID, crm.InteractionInput{Kind: crm.KindCall, At: &at, Summary: "s", FollowUpAt: ptr(start.Add(24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	r.it = it
	r.k = w.complaint(t, rep1, r.a.ID, crm.SeverityHigh)
	w.notifier.Reset()
	return r
}

func (r *remindWorld) run(tb testing.TB, at time.Time) crm.RunReport {
	tb.Helper()
	r.clock.Set(at)
	rep, err := r.reminders.Run(ctx, at)
	if err != nil {
		tb.Fatalf("run at %v: %v", at, err)
	}
	return rep
}

func kinds(ns []crm.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Kind+">"+n.RecipientID)
	}
	sort.Strings(out)
	return out
}

func TestReminderRun(t *testing.T) {
	r := newRemindWorld(t)
	t.Run("NothingDueYet", func(t *testing.T) {
		if rep := r.run(t, start.Add(5*time.Hour)); rep.Due != 0 || len(rep.Created) != 0 || len(r.notifier.Sent()) != 0 {
			t.Errorf("report %+v, sent %v", rep, r.notifier.Sent())
		}
	})
	t.Run("SLAWarning", func(t *testing.T) {
		rep := r.run(t, start.Add(6*time.Hour))
		if rep.Created[crm.ReminderSLAWarning] != 1 || rep.Due != 1 || rep.Notified != 1 {
			t.Errorf("report %+v", rep)
		}
		rem, err := r.store.Reminders.GetReminder(ctx, crm.ReminderID(crm.ReminderSLAWarning, r.k.ID, r.k.SLAWarnAt))
		if err != nil || rem.AssigneeID != "rep1" || rem.SubjectID != r.k.ID || rem.Status != crm.ReminderOpen {
			t.Errorf("warning reminder %+v, %v", rem, err)
		}
		if got := kinds(r.notifier.Sent()); !slices.Equal(got, []string{"reminder_due>rep1"}) {
			t.Errorf("sent %v", got)
		}
	})
	t.Run("RerunSendsNothingTwice", func(t *testing.T) {
		r.notifier.Reset()
		rep := r.run(t, start.Add(6*time.Hour+time.Minute))
		if len(rep.Created) != 0 || rep.Notified != 0 || rep.Redelivered != 0 || len(r.notifier.Sent()) != 0 {
			t.Errorf("rerun report %+v, sent %v", rep, r.notifier.Sent())
		}
	})
	t.Run("SLABreach", func(t *testing.T) {
		r.notifier.Reset()
		rep := r.run(t, start.Add(8*time.Hour+time.Millisecond))
		if rep.Created[crm.ReminderSLABreach] != 1 || len(rep.Created) != 1 {
			t.Errorf("report %+v", rep)
		}
		k, _ := r.store.Complaints.GetComplaint(ctx, r.k.ID)
		if k.SLABreachedAt.IsZero() || k.EscalationLevel != 0 || k.AssigneeID != "rep1" {
			t.Errorf("complaint after breach %+v: want the breach flagged and no escalation by default", k)
		}
		if rep := r.run(t, start.Add(9*time.Hour)); rep.Due != 0 {
			t.Errorf("the breach is due again: %+v", rep)
		}
	})
	t.Run("FollowUp", func(t *testing.T) {
		r.notifier.Reset()
		rep := r.run(t, start.Add(24*time.Hour))
		if rep.Created[crm.ReminderFollowUp] != 1 {
			t.Errorf("report %+v", rep)
		}
		rem, err := r.store.Reminders.GetReminder(ctx, crm.ReminderID(crm.ReminderFollowUp, r.it.ID, start.Add(24*time.Hour)))
		if err != nil || rem.AssigneeID != "rep1" || rem.CustomerID != r.a.ID || rem.SubjectType != "interaction" {
			t.Errorf("follow-up reminder %+v, %v", rem, err)
		}
	})
	t.Run("StaleCustomers", func(t *testing.T) {
		r.notifier.Reset()
		rep := r.run(t, start.Add(181*24*time.Hour))
		if rep.Created[crm.ReminderStaleCustomer] != 2 {
			t.Errorf("report %+v", rep)
		}
		sent := r.notifier.Sent()
		if got := kinds(sent); !slices.Equal(got, []string{"reminder_due>rep1", "reminder_due>rep2", "review_requested>" + r.a.ID}) {
			t.Errorf("sent %v: want both owners reminded and only the consenting customer asked", got)
		}
		i := slices.IndexFunc(sent, func(n crm.Notification) bool { return n.Kind == crm.NotifyReviewRequested })
		if i < 0 {
			t.Fatal("no review request")
		}
		view, err := r.portal.View(ctx, token(crm.PortalLink{URL: sent[i].Link}), "10.0.0.1")
		if err != nil || view.Name != "A" || view.Phone != phoneAE164 {
			t.Errorf("the review link shows %+v, %v", view, err)
		}
		for _, n := range r.store.Notifications("") {
			if n.Link != "" {
				t.Errorf("notification %s stored its link", n.ID)
			}
		}
	})
}

func TestReminderBreachEscalation(t *testing.T) {
	r := newRemindWorld(t)
	r.reminders.Breach = crm.BreachPolicy{Escalate: true, EscalateTo: "lead1"}
	r.run(t, start.Add(6*time.Hour))
	r.notifier.Reset()
	rep := r.run(t, start.Add(8*time.Hour+time.Second))
	if rep.Created[crm.ReminderSLABreach] != 1 {
		t.Fatalf("report %+v", rep)
	}
	k, _ := r.store.Complaints.GetComplaint(ctx, r.k.ID)
	if k.EscalationLevel != 1 || k.AssigneeID != "lead1" || k.Version != r.k.Version+1 || k.SLABreachedAt.IsZero() {
		t.Errorf("complaint after breach %+v", k)
	}
	tl, _ := r.store.Complaints.ComplaintTimeline(ctx, r.k.ID)
	if last := tl[len(tl)-1]; last.Action != crm.ActionEscalate || last.ActorID != crm.SystemActor.ID || last.AssigneeID != "lead1" {
		t.Errorf("timeline ends %+v", last)
	}
	if got := kinds(r.notifier.Sent()); !slices.Equal(got, []string{"complaint_escalated>lead1", "reminder_due>lead1"}) {
		t.Errorf("sent %v", got)
	}
	if a := r.lastAudit(t); a.Action != "complaint.escalated" || a.Actor != crm.SystemActor.ID {
		t.Errorf("audit %+v", a)
	}
}

func TestReminderClearsResolved(t *testing.T) {
	r := newRemindWorld(t)
	for _, in := range []crm.TransitionInput{{To: crm.ActionInProgress}, {To: crm.ActionResolve, Resolution: &crm.Resolution{Summary: "s", RootCause: "r", Remedy: "m"}}} {
		if _, err := r.complaints.Transition(ctx, rep1, r.k.ID, nil, in); err != nil {
			t.Fatal(err)
		}
	}
	r.notifier.Reset()
	if rep := r.run(t, start.Add(9*time.Hour)); len(rep.Created) != 0 || len(r.notifier.Sent()) != 0 {
		t.Errorf("a resolved complaint was reminded: %+v", rep)
	}
}

func TestReminderConcurrentRuns(t *testing.T) {
	r := newRemindWorld(t)
	asOf := start.Add(181 * 24 * time.Hour)
	r.clock.Set(asOf)
	var wg sync.WaitGroup
	reps := make([]crm.RunReport, 4)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := r.reminders.Run(ctx, asOf)
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		}()
	}
	wg.Wait()
	created := 0
	for _, rep := range reps {
		for _, n := range rep.Created {
			created += n
		}
	}
	// Warning, breach, follow-up and two reviews fall due by then; the
	// complaint's warning and breach come one run apart.
	if n := len(r.store.Reminders.All()); created != n {
		t.Errorf("runs report %d created, store holds %d", created, n)
	}
	seen := map[string]bool{}
	for _, n := range r.notifier.Sent() {
		if seen[n.ID] {
			t.Errorf("notification %s sent twice", n.ID)
		}
		seen[n.ID] = true
	}
}

func TestReminderRedelivery(t *testing.T) {
	r := newRemindWorld(t)
	r.notifier.Fail = func(crm.Notification) bool { return true }
	rep := r.run(t, start.Add(6*time.Hour))
	if rep.Created[crm.ReminderSLAWarning] != 1 || rep.NotifyFails == 0 || rep.Notified != 0 {
		t.Fatalf("report %+v", rep)
	}
	id := "n_" + crm.ReminderID(crm.ReminderSLAWarning, r.k.ID, r.k.SLAWarnAt) + "_" + crm.NotifyReminder
	t.Run("FailedIsRetried", func(t *testing.T) {
		before := r.notifier.Attempts()
		r.run(t, start.Add(6*time.Hour+time.Minute))
		if st, n := r.store.NotificationStatus(id); st != crmfake.NotifyFailed || r.notifier.Attempts() == before || n < 2 {
			t.Errorf("status %s after %d attempts", st, n)
		}
	})
	t.Run("SentOnceWhenDeliveryWorks", func(t *testing.T) {
		r.notifier.Fail = nil
		rep := r.run(t, start.Add(6*time.Hour+2*time.Minute))
		if rep.Redelivered != 1 {
			t.Errorf("report %+v, want one redelivery", rep)
		}
		rep = r.run(t, start.Add(6*time.Hour+3*time.Minute))
		if rep.Redelivered != 0 || len(r.notifier.Sent()) != 1 {
			t.Errorf("report %+v, sent %d", rep, len(r.notifier.Sent()))
		}
	})
	t.Run("DeadAfterFiveAttempts", func(t *testing.T) {
		r := newRemindWorld(t)
		r.notifier.Fail = func(crm.Notification) bool { return true }
		for i := range 6 {
			r.run(t, start.Add(6*time.Hour+time.Duration(i)*time.Minute))
		}
		if st, n := r.store.NotificationStatus(id); st != crmfake.NotifyDead || n != 5 {
			t.Errorf("status %s after %d attempts, want dead after 5", st, n)
		}
	})
}

func TestReminderDone(t *testing.T) {
	r := newRemindWorld(t)
	r.run(t, start.Add(6*time.Hour))
	id := crm.ReminderID(crm.ReminderSLAWarning, r.k.ID, r.k.SLAWarnAt)
	t.Run("ErrNotAssignee", func(t *testing.T) {
		_, err := r.reminders.Done(ctx, rep2, id)
		wantErr(t, err, crm.ENOTFOUND)
		_, err = r.reminders.Done(ctx, auditor, id)
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := r.reminders.Done(ctx, admin, "r_nope")
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("ByAssignee", func(t *testing.T) {
		got, err := r.reminders.Done(ctx, rep1, id)
		if err != nil || got.Status != crm.ReminderDone || got.DoneBy != "rep1" || !got.DoneAt.Equal(r.clock.Now()) {
			t.Fatalf("done %+v, %v", got, err)
		}
		if a := r.lastAudit(t); a.Action != "reminder.done" || a.EntityID != id {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("AgainChangesNothing", func(t *testing.T) {
		entries := len(r.store.Audit.Entries())
		r.clock.Advance(time.Hour)
		got, err := r.reminders.Done(ctx, admin, id)
		if err != nil || got.DoneBy != "rep1" || len(r.store.Audit.Entries()) != entries {
			t.Errorf("second done %+v, %v", got, err)
		}
	})
	t.Run("ByAdminAfterLostRace", func(t *testing.T) {
		r.run(t, start.Add(24*time.Hour))
		fid := crm.ReminderID(crm.ReminderFollowUp, r.it.ID, start.Add(24*time.Hour))
		racing := false
		r.store.Before = func(op string) error {
			if op != "CompleteReminder" || racing {
				return nil
			}
			racing = true
			_, err := r.reminders.Done(ctx, rep1, fid)
			return err
		}
		defer func() { r.store.Before = nil }()
		got, err := r.reminders.Done(ctx, admin, fid)
		if err != nil || got.DoneBy != "rep1" {
			t.Errorf("done after a lost race %+v, %v: want the winner's record", got, err)
		}
	})
}

func TestReminderList(t *testing.T) {
	r := newRemindWorld(t)
	r.run(t, start.Add(6*time.Hour))
	r.run(t, start.Add(181*24*time.Hour))
	for _, tt := range []struct {
		name  string
		actor crm.Actor
		f     crm.ReminderFilter
		want  []string // kinds, oldest due first
		code  string
	}{
		{"OwnOpen", rep1, crm.ReminderFilter{}, []string{crm.ReminderSLAWarning, crm.ReminderSLABreach, crm.ReminderFollowUp, crm.ReminderStaleCustomer}, ""},
		{"Me", rep2, crm.ReminderFilter{AssigneeID: "me"}, []string{crm.ReminderStaleCustomer}, ""},
		{"ByKind", rep1, crm.ReminderFilter{Kind: crm.ReminderFollowUp}, []string{crm.ReminderFollowUp}, ""},
		{"DoneIsEmpty", rep1, crm.ReminderFilter{Status: crm.ReminderDone}, []string{}, ""},
		{"AdminListsAnyone", admin, crm.ReminderFilter{AssigneeID: "rep2"}, []string{crm.ReminderStaleCustomer}, ""},
		{"AuditorListsAnyone", auditor, crm.ReminderFilter{AssigneeID: "rep2", Status: "all"}, []string{crm.ReminderStaleCustomer}, ""},
		{"ErrOthersReminders", rep1, crm.ReminderFilter{AssigneeID: "rep2"}, nil, crm.EFORBIDDEN},
		{"ErrBadFilters", rep1, crm.ReminderFilter{Kind: "birthday", Status: "later"}, nil, crm.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs, _, err := r.reminders.List(ctx, tt.actor, tt.f, crm.Page{})
			wantErr(t, err, tt.code)
			if tt.code != "" {
				return
			}
			got := []string{}
			for _, x := range rs {
				got = append(got, x.Kind)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
}
