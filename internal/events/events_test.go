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
