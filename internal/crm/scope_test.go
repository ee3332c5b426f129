package crm_test

import (
	"slices"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

// TestComplaintScopeFollowsReassignment: a sales rep sees the complaints
// of the customers they own now (API.md: "sales (own customers')"), in a
// list as in a single read.
func TestComplaintScopeFollowsReassignment(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	k := w.complaint(t, rep1, c.ID, crm.SeverityLow)
	if _, err := w.customers.Update(ctx, admin, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.OwnerID = "rep2"; return in, nil }); err != nil {
		t.Fatal(err)
	}
	list := func(actor crm.Actor) []string {
		ks, _, err := w.complaints.List(ctx, actor, crm.ComplaintFilter{}, crm.Page{})
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, k := range ks {
			ids = append(ids, k.ID)
		}
		return ids
	}
	t.Run("NewOwnerGetsIt", func(t *testing.T) {
		if _, err := w.complaints.Get(ctx, rep2, k.ID); err != nil {
			t.Errorf("the new owner cannot read the complaint: %v", err)
		}
	})
	t.Run("ErrFormerOwnerGet", func(t *testing.T) {
		_, err := w.complaints.Get(ctx, rep1, k.ID)
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("NewOwnerListsIt", func(t *testing.T) {
		if got := list(rep2); !slices.Equal(got, []string{k.ID}) {
			t.Errorf("the new owner lists %v, want %v", got, []string{k.ID})
		}
	})
	t.Run("FormerOwnerListsNothing", func(t *testing.T) {
		if got := list(rep1); len(got) != 0 {
			t.Errorf("the former owner still lists %v, subject and description included", got)
		}
	})
}
