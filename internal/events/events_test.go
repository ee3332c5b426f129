package events_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/events"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func customer(version, seq int64, action string, fields ...string) events.Image {
	l := make([]types.AttributeValue, len(fields))
	for i, f := range fields {
		l[i] = s(f)
	}
	return events.Image{"type": s("customer"), "id": s("c_1"), "name": s("Planted Name"), "version": n(version),
		"auditSeq": n(seq), "changedBy": s("u_admin"), "changeAction": s(action), "changedFields": &types.AttributeValueMemberL{Value: l},
		"createdBy": s("u_admin"), "updatedAt": s("2026-01-02T03:04:05Z")}
}

func types_(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestDerive(t *testing.T) {
	created := events.Derive(events.Change{New: customer(1, 1, "customer.create", "name", "phone")})
	if got := types_(created); !slices.Equal(got, []string{events.CustomerCreated}) {
		t.Fatalf("insert gave %v", got)
	}
	if d := created[0].Data; d.EntityID != "c_1" || d.ActorID != "u_admin" || !slices.Equal(d.ChangedFields, []string{"name", "phone"}) {
		t.Errorf("created data %+v", d)
	}
	upd := events.Derive(events.Change{Old: customer(1, 1, "customer.create"), New: customer(2, 2, "customer.update", "email")})
	if got := types_(upd); !slices.Equal(got, []string{events.CustomerUpdated}) {
		t.Errorf("update gave %v", got)
	}
	ver := events.Derive(events.Change{Old: customer(2, 2, "customer.update"), New: customer(3, 3, "customer.verify", "verifiedAt")})
	if got := types_(ver); !slices.Equal(got, []string{events.CustomerVerified}) {
		t.Errorf("verify gave %v", got)
	}
	// A write that no audited change made (a reminder mark cleared) is no event.
	if got := events.Derive(events.Change{Old: customer(2, 2, "customer.update"), New: customer(2, 2, "customer.update")}); len(got) != 0 {
		t.Errorf("unaudited rewrite gave %v", types_(got))
	}
	// The same change seen again has the same id; another change another.
	again := events.Derive(events.Change{Old: customer(1, 1, "customer.create"), New: customer(2, 2, "customer.update", "email")})
	if again[0].ID != upd[0].ID {
		t.Errorf("redelivery changed the id: %s vs %s", again[0].ID, upd[0].ID)
	}
	if upd[0].ID == ver[0].ID || upd[0].ID == created[0].ID {
		t.Error("distinct changes share an id")
	}
	erased := events.Derive(events.Change{Old: customer(3, 3, "customer.verify"),
		New: events.Image{"type": s("tombstone"), "id": s("c_1"), "erasedBy": s("u_admin"), "erasedAt": s("2026-01-03T00:00:00Z")}})
	if got := types_(erased); !slices.Equal(got, []string{events.CustomerErased}) || erased[0].Data.ActorID != "u_admin" {
		t.Errorf("erase gave %v", erased)
	}

	complaint := func(version int64, status string, breached bool) events.Image {
		im := events.Image{"type": s("complaint"), "id": s("k_1"), "customerId": s("c_1"), "status": s(status),
			"version": n(version), "filedBy": s("u_svc"), "updatedAt": s("2026-01-02T03:04:05Z")}
		if breached {
			im["slaBreachedAt"] = s("2026-01-05T00:00:00Z")
		}
		return im
	}
	if got := types_(events.Derive(events.Change{New: complaint(1, "acknowledged", false)})); !slices.Equal(got, []string{events.ComplaintCreated}) {
		t.Errorf("complaint insert gave %v", got)
	}
	if got := types_(events.Derive(events.Change{Old: complaint(1, "acknowledged", false), New: complaint(2, "in_progress", false)})); !slices.Equal(got, []string{events.ComplaintTransitioned}) {
		t.Errorf("transition gave %v", got)
	}
	if got := types_(events.Derive(events.Change{Old: complaint(2, "in_progress", false), New: complaint(2, "in_progress", true)})); !slices.Equal(got, []string{events.ComplaintBreached}) {
		t.Errorf("breach gave %v", got)
	}
	rem := events.Image{"type": s("reminder"), "id": s("r_1"), "createdAt": s("2026-01-02T03:04:05Z")}
	if got := types_(events.Derive(events.Change{New: rem})); !slices.Equal(got, []string{events.ReminderCreated}) {
		t.Errorf("reminder gave %v", got)
	}
}

// TestDeriveStewardshipAndVoice: a lost mark, a complaint linked from
// triage, an import finishing, an approval requested and decided, and a
// survey answered each make exactly their one event, with ids and field
// names only, and the same id when seen again.
func TestDeriveStewardshipAndVoice(t *testing.T) {
	complaint := func(customerID string, version int64) events.Image {
		im := events.Image{"type": s("complaint"), "id": s("k_1"), "status": s("acknowledged"), "version": n(version),
			"updatedAt": s("2026-01-02T03:04:05Z"), "changedBy": s("u_agent"), "changedFields": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("customerId")}}}
		if customerID != "" {
			im["customerId"] = s(customerID)
		}
		return im
	}
	job := func(status string, finished bool) events.Image {
		im := events.Image{"type": s("import"), "id": s("imp_1"), "status": s(status), "actorId": s("u_admin"), "processed": n(10)}
		if finished {
			im["finishedAt"] = s("2026-01-02T04:00:00Z")
		}
		return im
	}
	approval := func(status, decidedBy string) events.Image {
		im := events.Image{"type": s("approval"), "id": s("ap_1"), "customerId": s("c_1"), "status": s(status),
			"requestedBy": s("u_sales"), "requestedAt": s("2026-01-02T03:00:00Z"),
			"fields": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("billing")}}}
		if decidedBy != "" {
			im["decidedBy"], im["decidedAt"] = s(decidedBy), s("2026-01-02T05:00:00Z")
		}
		return im
	}
	survey := func(answered bool) events.Image {
		im := events.Image{"type": s("survey"), "id": s("sv_1"), "customerId": s("c_1"), "complaintId": s("k_1")}
		if answered {
			im["answeredAt"], im["score"] = s("2026-01-03T00:00:00Z"), n(2)
		}
		return im
	}
	cases := []struct {
		name   string
		change events.Change
		want   []string
		actor  string
	}{
		{"lost", events.Change{Old: customer(2, 2, "customer.update"), New: customer(3, 3, "customer.lost", "lost")}, []string{events.CustomerLost}, "u_admin"},
		{"linked", events.Change{Old: complaint("", 1), New: complaint("c_1", 2)}, []string{events.ComplaintLinked}, "u_agent"},
		{"relinked is no link", events.Change{Old: complaint("c_1", 2), New: complaint("c_1", 3)}, nil, ""},
		{"import progress", events.Change{Old: job("running", false), New: job("running", false)}, nil, ""},
		{"import finished", events.Change{Old: job("running", false), New: job("done", true)}, []string{events.ImportFinished}, "u_admin"},
		{"import failed", events.Change{Old: job("running", false), New: job("failed", true)}, []string{events.ImportFinished}, "u_admin"},
		{"approval requested", events.Change{New: approval("pending", "")}, []string{events.ApprovalRequested}, "u_sales"},
		{"approval approved", events.Change{Old: approval("pending", ""), New: approval("approved", "u_fin")}, []string{events.ApprovalDecided}, "u_fin"},
		{"approval expired", events.Change{Old: approval("pending", ""), New: approval("expired", "")}, []string{events.ApprovalDecided}, "system:four-eyes"},
		{"approval body purged", events.Change{Old: approval("approved", "u_fin"), New: approval("approved", "u_fin")}, nil, ""},
		{"survey sent", events.Change{New: survey(false)}, nil, ""},
		{"survey answered", events.Change{Old: survey(false), New: survey(true)}, []string{events.SurveyAnswered}, "customer:c_1"},
	}
	for _, tc := range cases {
		got := events.Derive(tc.change)
		if !slices.Equal(types_(got), tc.want) {
			t.Errorf("%s: events %v, want %v", tc.name, types_(got), tc.want)
			continue
		}
		if len(got) == 0 {
			continue
		}
		if got[0].Data.ActorID != tc.actor {
			t.Errorf("%s: actor %q, want %q", tc.name, got[0].Data.ActorID, tc.actor)
		}
		if again := events.Derive(tc.change); again[0].ID != got[0].ID {
			t.Errorf("%s: the same change got another id", tc.name)
		}
	}
}
