package crm_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
)

func TestComplaintFile(t *testing.T) {
	t.Run("AcknowledgedAssignedAndNotified", func(t *testing.T) {
		w := newWorld(t)
		c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Consent: &crm.Consent{Reminders: true}})
		k, err := w.complaints.File(ctx, agent, crm.ComplaintInput{CustomerID: c.ID, Channel: "email", Category: " Billing ",
			Severity: crm.SeverityHigh, Subject: "  Double charge ", Description: " Charged twice. "})
		if err != nil {
			t.Fatal(err)
		}
		if k.Status != crm.StatusAcknowledged || k.AssigneeID != "rep1" || k.FiledBy != "agent1" || k.Category != "billing" ||
			k.Subject != "Double charge" || k.Description != "Charged twice." || k.CustomerOwnerID != "rep1" || k.Version != 1 || !k.AcknowledgedAt.Equal(start) {
			t.Errorf("filed %+v", k)
		}
		if !k.AckDueAt.Equal(start.Add(time.Hour)) || !k.SLADueAt.Equal(start.Add(8*time.Hour)) || !k.SLAWarnAt.Equal(start.Add(6*time.Hour)) {
			t.Errorf("ack due %v, SLA due %v, warn %v; want +1h, +8h, +6h", k.AckDueAt, k.SLADueAt, k.SLAWarnAt)
		}
		tl, _ := w.store.Complaints.ComplaintTimeline(ctx, k.ID)
		if len(tl) != 2 || tl[0].Action != crm.ActionCreated || tl[1].Action != crm.ActionAcknowledged || tl[1].AssigneeID != "rep1" || tl[1].From != crm.StatusNew {
			t.Errorf("timeline %+v", tl)
		}
		sent := w.notifier.Sent()
		if len(sent) != 2 || sent[0].Kind != crm.NotifyComplaintAssigned || sent[0].RecipientID != "rep1" ||
			sent[1].Kind != crm.NotifyComplaintAcknowledged || sent[1].RecipientType != crm.RecipientCustomer || sent[1].RecipientID != c.ID {
			t.Errorf("sent %+v", sent)
		}
		for _, n := range sent {
			if st, _ := w.store.NotificationStatus(n.ID); st != crmfake.NotifySent {
				t.Errorf("notification %s recorded %q, want sent", n.Kind, st)
			}
		}
		if a := w.lastAudit(t); a.Action != "complaint.create" || a.EntityID != k.ID {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("NoCustomerNoticeWithoutConsent", func(t *testing.T) {
		w := newWorld(t)
		c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
		w.complaint(t, rep1, c.ID, crm.SeverityLow)
		if sent := w.notifier.Sent(); len(sent) != 1 || sent[0].RecipientType != crm.RecipientStaff {
			t.Errorf("sent %+v, want the assignee's notice only", sent)
		}
	})
	t.Run("FailedNoticeKeptAsFailed", func(t *testing.T) {
		w := newWorld(t)
		w.notifier.Fail = func(crm.Notification) bool { return true }
		c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
		k := w.complaint(t, rep1, c.ID, crm.SeverityLow)
		if _, err := w.store.Complaints.GetComplaint(ctx, k.ID); err != nil {
			t.Fatalf("complaint lost with its notice: %v", err)
		}
		failed := w.store.Notifications(crmfake.NotifyFailed)
		if len(failed) != 1 || failed[0].SubjectID != k.ID {
			t.Errorf("failed notices %+v", failed)
		}
	})
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	valid := crm.ComplaintInput{CustomerID: c.ID, Channel: "web", Category: "product", Severity: crm.SeverityMedium, Subject: "s", Description: "d"}
	for _, tt := range []struct {
		name   string
		actor  crm.Actor
		in     crm.ComplaintInput
		code   string
		fields []string
	}{
		{"ErrInvalid", agent, crm.ComplaintInput{Channel: "fax", Category: "weather", Severity: "urgent", Subject: " "}, crm.EINVALID,
			[]string{"customerId", "channel", "category", "severity", "subject", "description"}},
		{"ErrSubjectTooLong", agent, func() crm.ComplaintInput { in := valid; in.Subject = string(make([]rune, 201)); return in }(), crm.EINVALID, []string{"subject"}},
		{"ErrUnknownCustomer", agent, func() crm.ComplaintInput { in := valid; in.CustomerID = "c_nope"; return in }(), crm.ENOTFOUND, []string{"customerId"}},
		{"ErrOtherRepsCustomer", rep2, valid, crm.ENOTFOUND, []string{"customerId"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.complaints.File(ctx, tt.actor, tt.in)
			wantFields(t, err, tt.code, tt.fields...)
		})
	}
	t.Run("ConfiguredCategory", func(t *testing.T) {
		w.complaints.Categories = []string{"returns"}
		defer func() { w.complaints.Categories = crm.DefaultCategories }()
		in := valid
		_, err := w.complaints.File(ctx, agent, in)
		wantFields(t, err, crm.EINVALID, "category")
		in.Category = "RETURNS"
		if _, err := w.complaints.File(ctx, agent, in); err != nil {
			t.Errorf("configured category refused: %v", err)
		}
	})
}

func TestComplaintRoundRobin(t *testing.T) {
	t.Run("InTurn", func(t *testing.T) {
		w := newWorld(t)
		w.complaints.Assignment = crm.Assignment{Mode: crm.AssignRoundRobin, Agents: []string{"agent1", "agent2", "agent3"}}
		c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
		var got []string
		for range 4 {
			got = append(got, w.complaint(t, rep1, c.ID, crm.SeverityLow).AssigneeID)
		}
		if want := []string{"agent1", "agent2", "agent3", "agent1"}; !slices.Equal(got, want) {
			t.Errorf("assigned %v, want %v", got, want)
		}
	})
	t.Run("ConcurrentIntakesShareEvenly", func(t *testing.T) {
		w := newWorld(t)
		w.complaints.Assignment = crm.Assignment{Mode: crm.AssignRoundRobin, Agents: []string{"agent1", "agent2"}}
		c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
		var mu sync.Mutex
		counts := map[string]int{}
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := w.complaints.File(ctx, rep1, crm.ComplaintInput{CustomerID: c.ID, Channel: "web", Category: "other", Severity: crm.SeverityLow, Subject: "s", Description: "d"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				counts[k.AssigneeID]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if counts["agent1"] != 10 || counts["agent2"] != 10 {
			t.Errorf("assignments %v, want 10 each", counts)
		}
	})
	t.Run("OwnerWithoutAgents", func(t *testing.T) {
		w := newWorld(t)
		w.complaints.Assignment = crm.Assignment{Mode: crm.AssignRoundRobin}
		c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
		if k := w.complaint(t, rep1, c.ID, crm.SeverityLow); k.AssigneeID != "rep1" {
			t.Errorf("assigned %q, want the owner when no agents are configured", k.AssigneeID)
		}
	})
}

// seedComplaint stores a complaint in the given status, as the state
// machine would have left it.
func seedComplaint(tb testing.TB, w *world, customerID, status string) crm.Complaint {
	tb.Helper()
	now := w.clock.Now()
	ackDue, slaDue := w.complaints.SLA.Due(crm.SeverityLow, now)
	k := crm.Complaint{ID: w.ids.New("k"), CustomerID: customerID, CustomerOwnerID: "rep1", Channel: "web", Category: "other",
		Severity: crm.SeverityLow, Subject: "s", Description: "d", Status: status, AssigneeID: "rep1", CreatedAt: now, UpdatedAt: now,
		AckDueAt: ackDue, SLADueAt: slaDue, Version: 4, TimelineLen: 1}
	switch status {
	case crm.StatusResolved:
		k.ResolvedAt, k.Resolution = now, &crm.Resolution{Summary: "s", RootCause: "r", Remedy: "m"}
	case crm.StatusClosed:
		k.ResolvedAt, k.ClosedAt, k.Resolution = now, now, &crm.Resolution{Summary: "s", RootCause: "r", Remedy: "m"}
	}
	if err := w.store.Complaints.CreateComplaint(ctx, k, []crm.TimelineEntry{{Seq: 1, At: now, Action: crm.ActionCreated}}, nil, crm.NewAudit(ctx, admin, "seed", "complaint", k.ID)); err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestComplaintStateMachine(t *testing.T) {
	resolution := &crm.Resolution{Summary: " Refunded ", RootCause: " Billing  bug ", Remedy: "Refund"}
	inputs := map[string]crm.TransitionInput{
		crm.ActionInProgress: {To: crm.ActionInProgress},
		crm.ActionResolve:    {To: crm.ActionResolve, Resolution: resolution},
		crm.ActionClose:      {To: crm.ActionClose},
		crm.ActionReopen:     {To: crm.ActionReopen, Note: "Customer wrote again"},
		crm.ActionEscalate:   {To: crm.ActionEscalate, Note: "Angry", Severity: crm.SeverityHigh},
	}
	// legal is the state machine of API.md: from each status, the actions
	// allowed and where each leads.
	legal := map[string]map[string]string{
		crm.StatusNew:          {},
		crm.StatusAcknowledged: {crm.ActionInProgress: crm.StatusInProgress, crm.ActionEscalate: crm.StatusAcknowledged},
		crm.StatusInProgress:   {crm.ActionResolve: crm.StatusResolved, crm.ActionEscalate: crm.StatusInProgress},
		crm.StatusResolved:     {crm.ActionClose: crm.StatusClosed, crm.ActionReopen: crm.StatusInProgress},
		crm.StatusClosed:       {crm.ActionReopen: crm.StatusInProgress},
	}
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	for _, from := range []string{crm.StatusNew, crm.StatusAcknowledged, crm.StatusInProgress, crm.StatusResolved, crm.StatusClosed} {
		for _, action := range []string{crm.ActionInProgress, crm.ActionResolve, crm.ActionClose, crm.ActionReopen, crm.ActionEscalate} {
			to, ok := legal[from][action]
			name := fmt.Sprintf("%s/%s/To_%s", from, action, to)
			if !ok {
				name = fmt.Sprintf("%s/%s/ErrIllegal", from, action)
			}
			t.Run(name, func(t *testing.T) {
				prev := seedComplaint(t, w, c.ID, from)
				w.clock.Advance(time.Minute)
				got, err := w.complaints.Transition(ctx, agent, prev.ID, ptr(prev.Version), inputs[action])
				if !ok {
					e := wantErr(t, err, crm.ECONFLICT)
					allowed := []string{}
					for a := range legal[from] {
						allowed = append(allowed, a)
					}
					slices.Sort(allowed)
					if !slices.Equal(e.Allowed, allowed) && !(len(e.Allowed) == 0 && len(allowed) == 0) {
						t.Errorf("allowed %v, want %v", e.Allowed, allowed)
					}
					if cur, _ := w.store.Complaints.GetComplaint(ctx, prev.ID); cur.Version != prev.Version {
						t.Errorf("an illegal transition was stored")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != to || got.Version != prev.Version+1 || !got.UpdatedAt.Equal(w.clock.Now()) {
					t.Errorf("status %s version %d updated %v", got.Status, got.Version, got.UpdatedAt)
				}
				tl, _ := w.store.Complaints.ComplaintTimeline(ctx, prev.ID)
				last := tl[len(tl)-1]
				if len(tl) != 2 || last.Seq != 2 || last.Action != action || last.From != from || last.To != to || last.ActorID != "agent1" {
					t.Errorf("timeline %+v", tl)
				}
				if a := w.lastAudit(t); a.Action != "complaint."+action || a.EntityID != prev.ID {
					t.Errorf("audit %s on %s", a.Action, a.EntityID)
				}
				switch action {
				case crm.ActionResolve:
					if got.Resolution == nil || *got.Resolution != (crm.Resolution{Summary: "Refunded", RootCause: "Billing  bug", Remedy: "Refund"}) || !got.ResolvedAt.Equal(w.clock.Now()) {
						t.Errorf("resolution %+v at %v", got.Resolution, got.ResolvedAt)
					}
				case crm.ActionClose:
					if !got.ClosedAt.Equal(w.clock.Now()) || got.Resolution == nil {
						t.Errorf("closed at %v, resolution %v", got.ClosedAt, got.Resolution)
					}
				case crm.ActionReopen:
					if got.Resolution != nil || !got.ResolvedAt.IsZero() || !got.ClosedAt.IsZero() {
						t.Errorf("reopened but resolution %v resolved %v closed %v remain", got.Resolution, got.ResolvedAt, got.ClosedAt)
					}
				case crm.ActionEscalate:
					_, due := w.complaints.SLA.Due(crm.SeverityHigh, prev.CreatedAt)
					if got.Severity != crm.SeverityHigh || got.EscalationLevel != 1 || !got.SLADueAt.Equal(due) || last.Severity != crm.SeverityHigh {
						t.Errorf("escalated severity %s level %d due %v (want %v)", got.Severity, got.EscalationLevel, got.SLADueAt, due)
					}
				}
			})
		}
	}
}

func TestComplaintTransitionRules(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	for _, tt := range []struct {
		name   string
		status string
		actor  crm.Actor
		in     crm.TransitionInput
		code   string
		fields []string
	}{
		{"ErrUnknownAction", crm.StatusAcknowledged, agent, crm.TransitionInput{To: "deleted"}, crm.EINVALID, []string{"to"}},
		{"ErrResolutionRequired", crm.StatusInProgress, agent, crm.TransitionInput{To: crm.ActionResolve}, crm.EINVALID, []string{"resolution"}},
		{"ErrResolutionIncomplete", crm.StatusInProgress, agent, crm.TransitionInput{To: crm.ActionResolve, Resolution: &crm.Resolution{Summary: "s", Remedy: " "}},
			crm.EINVALID, []string{"resolution.rootCause", "resolution.remedy"}},
		{"ErrResolutionOnlyToResolve", crm.StatusResolved, agent, crm.TransitionInput{To: crm.ActionClose, Resolution: &crm.Resolution{Summary: "s"}}, crm.EINVALID, []string{"resolution"}},
		{"ErrEscalationNeedsNote", crm.StatusAcknowledged, agent, crm.TransitionInput{To: crm.ActionEscalate, Severity: crm.SeverityHigh}, crm.EINVALID, []string{"note"}},
		{"ErrEscalationChangesNothing", crm.StatusAcknowledged, agent, crm.TransitionInput{To: crm.ActionEscalate, Note: "n"}, crm.EINVALID, []string{"severity"}},
		{"ErrEscalationUnknownSeverity", crm.StatusAcknowledged, agent, crm.TransitionInput{To: crm.ActionEscalate, Note: "n", Severity: "urgent"}, crm.EINVALID, []string{"severity"}},
		{"ErrEscalationMustRaiseSeverity", crm.StatusAcknowledged, agent, crm.TransitionInput{To: crm.ActionEscalate, Note: "n", Severity: crm.SeverityLow}, crm.EINVALID, []string{"severity"}},
		{"ErrSeverityOnlyOnEscalation", crm.StatusAcknowledged, agent, crm.TransitionInput{To: crm.ActionInProgress, Severity: crm.SeverityHigh, AssigneeID: "x"}, crm.EINVALID, []string{"severity", "assigneeId"}},
		{"ErrOtherRepsComplaint", crm.StatusAcknowledged, rep2, crm.TransitionInput{To: crm.ActionInProgress}, crm.ENOTFOUND, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := seedComplaint(t, w, c.ID, tt.status)
			_, err := w.complaints.Transition(ctx, tt.actor, k.ID, nil, tt.in)
			wantFields(t, err, tt.code, tt.fields...)
		})
	}
	t.Run("ErrStaleIfMatch", func(t *testing.T) {
		k := seedComplaint(t, w, c.ID, crm.StatusAcknowledged)
		_, err := w.complaints.Transition(ctx, agent, k.ID, ptr(k.Version-1), crm.TransitionInput{To: crm.ActionInProgress})
		wantErr(t, err, crm.EPRECONDITION)
	})
	t.Run("ErrLostRace", func(t *testing.T) {
		k := seedComplaint(t, w, c.ID, crm.StatusAcknowledged)
		racing := false
		w.store.Before = func(op string) error {
			if op != "UpdateComplaint" || racing {
				return nil
			}
			racing = true
			_, err := w.complaints.AddNote(ctx, agent, k.ID, crm.NoteInput{Note: "meanwhile"})
			return err
		}
		defer func() { w.store.Before = nil }()
		_, err := w.complaints.Transition(ctx, agent, k.ID, nil, crm.TransitionInput{To: crm.ActionInProgress})
		wantErr(t, err, crm.EPRECONDITION)
	})
	t.Run("OwnerRepTransitions", func(t *testing.T) {
		k := seedComplaint(t, w, c.ID, crm.StatusAcknowledged)
		if _, err := w.complaints.Transition(ctx, rep1, k.ID, nil, crm.TransitionInput{To: crm.ActionInProgress}); err != nil {
			t.Errorf("the customer's owner was refused: %v", err)
		}
	})
	t.Run("EscalationReassignsAndNotifies", func(t *testing.T) {
		w.notifier.Reset()
		k := seedComplaint(t, w, c.ID, crm.StatusInProgress)
		got, err := w.complaints.Transition(ctx, admin, k.ID, nil, crm.TransitionInput{To: crm.ActionEscalate, Note: "Needs a lead", AssigneeID: "lead1"})
		if err != nil {
			t.Fatal(err)
		}
		if got.AssigneeID != "lead1" || got.Severity != crm.SeverityLow || got.EscalationLevel != 1 || got.Status != crm.StatusInProgress {
			t.Errorf("escalated %+v", got)
		}
		sent := w.notifier.Sent()
		if len(sent) != 1 || sent[0].Kind != crm.NotifyComplaintEscalated || sent[0].RecipientID != "lead1" {
			t.Errorf("sent %+v", sent)
		}
	})
}

func TestComplaintNotes(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	k := w.complaint(t, rep1, c.ID, crm.SeverityLow)
	t.Run("Appended", func(t *testing.T) {
		got, err := w.complaints.AddNote(ctx, agent, k.ID, crm.NoteInput{Note: "  Called back  "})
		if err != nil {
			t.Fatal(err)
		}
		tl, _ := w.store.Complaints.ComplaintTimeline(ctx, k.ID)
		if got.Version != 2 || got.Status != crm.StatusAcknowledged || len(tl) != 3 || tl[2].Note != "Called back" || tl[2].Seq != 3 || tl[2].Action != crm.ActionNote {
			t.Errorf("version %d status %s timeline %+v", got.Version, got.Status, tl)
		}
	})
	t.Run("RetriedAfterLostRace", func(t *testing.T) {
		racing, attempts := false, 0
		w.store.Before = func(op string) error {
			if op != "UpdateComplaint" || racing {
				return nil
			}
			attempts++
			if attempts > 1 {
				return nil
			}
			racing = true
			defer func() { racing = false }()
			_, err := w.complaints.Transition(ctx, agent, k.ID, nil, crm.TransitionInput{To: crm.ActionInProgress})
			return err
		}
		defer func() { w.store.Before = nil }()
		got, err := w.complaints.AddNote(ctx, agent, k.ID, crm.NoteInput{Note: "second"})
		if err != nil || attempts != 2 || got.Status != crm.StatusInProgress {
			t.Errorf("note after a lost race: %d attempts, status %s, %v", attempts, got.Status, err)
		}
	})
	t.Run("ErrNoteRequired", func(t *testing.T) {
		_, err := w.complaints.AddNote(ctx, agent, k.ID, crm.NoteInput{Note: "  "})
		wantFields(t, err, crm.EINVALID, "note")
	})
	t.Run("ErrOtherRepsComplaint", func(t *testing.T) {
		_, err := w.complaints.AddNote(ctx, rep2, k.ID, crm.NoteInput{Note: "x"})
		wantErr(t, err, crm.ENOTFOUND)
	})
}

func TestComplaintReads(t *testing.T) {
	w := newWorld(t)
	a := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	b := w.customer(t, rep2, crm.CustomerInput{Name: "B", Phone: phoneB})
	ka := w.complaint(t, rep1, a.ID, crm.SeverityCritical)
	w.clock.Advance(time.Minute)
	kb := w.complaint(t, rep2, b.ID, crm.SeverityLow)
	w.clock.Advance(3 * time.Hour) // past the critical SLA of 2h, inside the low one
	t.Run("GetWithTimeline", func(t *testing.T) {
		got, err := w.complaints.Get(ctx, rep1, ka.ID)
		if err != nil || len(got.Timeline) != 2 {
			t.Errorf("get: %d timeline entries, %v", len(got.Timeline), err)
		}
	})
	t.Run("ErrOtherRepsComplaint", func(t *testing.T) {
		_, err := w.complaints.Get(ctx, rep2, ka.ID)
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := w.complaints.Get(ctx, admin, "k_nope")
		wantErr(t, err, crm.ENOTFOUND)
	})
	for _, tt := range []struct {
		name  string
		actor crm.Actor
		f     crm.ComplaintFilter
		want  []string
	}{
		{"AgentSeesAllNewestFirst", agent, crm.ComplaintFilter{}, []string{kb.ID, ka.ID}},
		{"SalesSeesOwnCustomers", rep1, crm.ComplaintFilter{}, []string{ka.ID}},
		{"SalesCannotWidenScope", rep2, crm.ComplaintFilter{OwnerID: "rep1"}, []string{kb.ID}},
		{"Breached", agent, crm.ComplaintFilter{Breached: true}, []string{ka.ID}},
		{"BySeverity", agent, crm.ComplaintFilter{Severity: crm.SeverityLow}, []string{kb.ID}},
		{"ByCustomer", agent, crm.ComplaintFilter{CustomerID: a.ID}, []string{ka.ID}},
		{"ByStatus", agent, crm.ComplaintFilter{Status: crm.StatusInProgress}, []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ks, _, err := w.complaints.List(ctx, tt.actor, tt.f, crm.Page{})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, k := range ks {
				got = append(got, k.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("ErrBadFilters", func(t *testing.T) {
		_, _, err := w.complaints.List(ctx, agent, crm.ComplaintFilter{Status: "open", Severity: "urgent"}, crm.Page{})
		wantFields(t, err, crm.EINVALID, "status", "severity")
	})
	t.Run("ResolvedLeavesBreachList", func(t *testing.T) {
		for _, in := range []crm.TransitionInput{{To: crm.ActionInProgress}, {To: crm.ActionResolve, Resolution: &crm.Resolution{Summary: "s", RootCause: "r", Remedy: "m"}}} {
			if _, err := w.complaints.Transition(ctx, agent, ka.ID, nil, in); err != nil {
				t.Fatal(err)
			}
		}
		ks, _, _ := w.complaints.List(ctx, agent, crm.ComplaintFilter{Breached: true}, crm.Page{})
		if len(ks) != 0 {
			t.Errorf("a resolved complaint stays on the breach list")
		}
	})
}

func TestComplaintBreached(t *testing.T) {
	due := start.Add(time.Hour)
	for _, tt := range []struct {
		name string
		c    crm.Complaint
		want bool
	}{
		{"OpenBeforeDue", crm.Complaint{Status: crm.StatusInProgress, SLADueAt: due.Add(time.Minute)}, false},
		{"OpenPastDue", crm.Complaint{Status: crm.StatusAcknowledged, SLADueAt: due.Add(-time.Minute)}, true},
		{"ResolvedInTime", crm.Complaint{Status: crm.StatusClosed, SLADueAt: due.Add(-time.Minute), ResolvedAt: due.Add(-2 * time.Minute)}, false},
		{"ResolvedLate", crm.Complaint{Status: crm.StatusResolved, SLADueAt: due.Add(-time.Hour), ResolvedAt: due.Add(-time.Minute)}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Breached(due); got != tt.want {
				t.Errorf("Breached = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestTimelineBounded(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "Li Wei", Phone: phoneA})
	k := w.complaint(t, rep1, c.ID, crm.SeverityLow)
	// The longest text of the character a Lambda response grows most.
	text := strings.Repeat("<", 4000)
	for i := k.TimelineLen; i < crm.MaxTimelineNotes; i++ {
		if _, err := w.complaints.AddNote(ctx, agent, k.ID, crm.NoteInput{Note: text}); err != nil {
			t.Fatalf("note %d: %v", i, err)
		}
	}
	_, err := w.complaints.AddNote(ctx, agent, k.ID, crm.NoteInput{Note: "one more"})
	wantFields(t, err, crm.ECONFLICT, "timeline")
	move := func(to string) error {
		in := crm.TransitionInput{To: to, Note: text}
		switch to {
		case crm.ActionResolve:
			in.Resolution = &crm.Resolution{Summary: text, RootCause: text, Remedy: text}
		case crm.ActionEscalate:
			in.AssigneeID = "agent1"
		}
		_, err := w.complaints.Transition(ctx, agent, k.ID, nil, in)
		return err
	}
	for n := crm.MaxTimelineNotes; n < crm.MaxTimeline; n++ {
		if err := move(crm.ActionEscalate); err != nil {
			t.Fatalf("escalation at %d entries: %v", n, err)
		}
	}
	wantFields(t, move(crm.ActionEscalate), crm.ECONFLICT, "timeline")
	// Forward is always possible; looping back is not.
	for _, to := range []string{crm.ActionInProgress, crm.ActionResolve, crm.ActionClose} {
		if err := move(to); err != nil {
			t.Fatalf("%s on a full timeline: %v", to, err)
		}
	}
	wantFields(t, move(crm.ActionReopen), crm.ECONFLICT, "timeline")
	got, err := w.complaints.Get(ctx, admin, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(got)
	inLambda, _ := json.Marshal(string(body))
	if len(got.Timeline) != crm.MaxTimeline+3 || len(inLambda) > 6_000_000 {
		t.Fatalf("a full complaint: %d entries, %d bytes in a Lambda response", len(got.Timeline), len(inLambda))
	}
	if len(inLambda) > crm.ExportBudget {
		t.Errorf("a full complaint (%d bytes) would not fit an export page alone", len(inLambda))
	}
}
