package events_test

import (
	"slices"
	"testing"

	"github.com/clientele-crm/clientele/internal/events"
)

// TestDeriveMerge: the merged-away profile turning into a redirect is a
// customer.merged event, and back a customer.unmerged one, each naming
// ids only, and each the same event however often it is seen.
func TestDeriveMerge(t *testing.T) {
	redirect := events.Image{"type": s("merged"), "id": s("c_1"), "mergedInto": s("c_2"), "mergeId": s("m_1"),
		"mergedBy": s("u_admin"), "mergedAt": s("2026-01-03T00:00:00Z"), "version": n(3), "ownerId": s("bob")}
	merged := events.Derive(events.Change{Old: customer(2, 2, "customer.update"), New: redirect})
	if got := types_(merged); !slices.Equal(got, []string{events.CustomerMerged}) {
		t.Fatalf("merge gave %v", got)
	}
	d := merged[0].Data
	if d.EntityID != "c_1" || d.CustomerID != "c_2" || d.MergeID != "m_1" || d.ActorID != "u_admin" || merged[0].At.IsZero() {
		t.Errorf("merged data %+v", d)
	}
	back := customer(4, 2, "customer.update")
	back["unmergedBy"], back["unmergedAt"] = s("u_other"), s("2026-01-04T00:00:00Z")
	unmerged := events.Derive(events.Change{Old: redirect, New: back})
	if got := types_(unmerged); !slices.Equal(got, []string{events.CustomerUnmerged}) {
		t.Fatalf("undo gave %v", got)
	}
	if d := unmerged[0].Data; d.EntityID != "c_1" || d.CustomerID != "c_2" || d.MergeID != "m_1" || d.ActorID != "u_other" {
		t.Errorf("unmerged data %+v", d)
	}
	if again := events.Derive(events.Change{Old: customer(2, 2, "customer.update"), New: redirect}); again[0].ID != merged[0].ID || again[0].ID == unmerged[0].ID {
		t.Error("event ids are not stable per change")
	}
	for _, ev := range append(merged, unmerged...) {
		if ev.Data.ActorID == "" || slices.Contains(ev.Data.ChangedFields, "name") {
			t.Errorf("event %+v", ev.Data)
		}
	}
}
