package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestMergeUndoRestoresEverything is a property test: for random pairs of
// customers with random children (interactions, complaints, reminders,
// consent records, tags) and a random prefer, merging then undoing leaves
// both customers, their claims and their children exactly as they were.
// MERGE_PROPERTY_SEED replays a failing run; a failure names the seed and
// the parts that differ, never their values.
func TestMergeUndoRestoresEverything(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MERGE_PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seed = n
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d657267))
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.FourEyes.Kinds = nil }))
	ctx := context.Background()
	svc := e.Services.API
	admin := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	owners := []string{"alice", "bob"}
	tags := []string{"vip", "north", "web", "retail"}
	fields := crm.MergeableFields
	const iterations = 25
	var merges, undos []time.Duration
	defer func() {
		if len(merges) > 0 {
			slices.Sort(merges)
			slices.Sort(undos)
			t.Logf("seed %d: %d merges, median %v (max %v); undos median %v (max %v)", seed, len(merges),
				merges[len(merges)/2], merges[len(merges)-1], undos[len(undos)/2], undos[len(undos)-1])
		}
	}()
	for i := range iterations {
		mk := func(tag string) string {
			in := crm.CustomerInput{Name: fmt.Sprintf("Cust %d %s", i, tag), OwnerID: owners[rng.IntN(2)],
				Consent: &crm.Consent{Reminders: rng.IntN(2) == 0, Marketing: rng.IntN(2) == 0}}
			if rng.IntN(3) > 0 {
				in.Phone = fmt.Sprintf("+86139%08d", rng.IntN(1e8))
			}
			if in.Phone == "" || rng.IntN(2) == 0 {
				in.Email = fmt.Sprintf("p%d.%d@corp%d.cn", i, rng.IntN(1e6), rng.IntN(9))
			}
			if rng.IntN(2) == 0 {
				in.Company = "Acme " + tag
			}
			if rng.IntN(2) == 0 {
				in.Segment = "retail"
			}
			if rng.IntN(3) == 0 {
				in.Address = &crm.Address{Line1: "1 Road " + tag, City: "Shanghai", Country: "CN"}
			}
			if rng.IntN(3) == 0 {
				in.Billing = &crm.Billing{TaxID: "T-" + tag + strconv.Itoa(rng.IntN(1000))}
			}
			if rng.IntN(4) == 0 {
				in.NationalID = fmt.Sprintf("1101011990%08d", rng.IntN(1e8))
			}
			for _, tg := range tags {
				if rng.IntN(2) == 0 {
					in.Tags = append(in.Tags, tg)
				}
			}
			c, err := svc.Customers.Create(ctx, admin, in, false)
			if err != nil {
				t.Fatalf("seed %d: create: %v", seed, crm.ErrorCode(err))
			}
			for range rng.IntN(2) {
				if _, err := svc.Customers.Update(ctx, admin, c.ID, nil, func(ci crm.CustomerInput) (crm.CustomerInput, error) {
					ci.Consent = &crm.Consent{Reminders: !ci.Consent.Reminders, Marketing: ci.Consent.Marketing}
					return ci, nil
				}); err != nil {
					t.Fatalf("seed %d: consent change: %v", seed, crm.ErrorCode(err))
				}
			}
			for k := range rng.IntN(3) {
				at := time.Date(2026, 10, 1+k, 9, rng.IntN(60), 0, 0, time.UTC)
				in := crm.InteractionInput{Kind: "call", At: &at, Summary: "note " + tag}
				if rng.IntN(2) == 0 {
					f := at.Add(72 * time.Hour)
					in.FollowUpAt = &f
				}
				if _, err := svc.Customers.AddInteraction(ctx, admin, c.ID, in); err != nil {
					t.Fatalf("seed %d: interaction: %v", seed, crm.ErrorCode(err))
				}
			}
			for range rng.IntN(3) {
				if _, err := svc.Complaints.File(ctx, admin, crm.ComplaintInput{CustomerID: c.ID, Channel: "phone", Category: "delivery",
					Severity: "low", Subject: "late " + tag, Description: "parcel " + tag}); err != nil {
					t.Fatalf("seed %d: complaint: %v", seed, crm.ErrorCode(err))
				}
			}
			for k := range rng.IntN(3) {
				due := time.Date(2026, 12, 1+k, 9, 0, 0, 0, time.UTC)
				r := crm.Reminder{ID: crm.ReminderID(crm.DueReview, c.ID, due), Kind: crm.DueReview, SubjectType: "customer", SubjectID: c.ID,
					CustomerID: c.ID, AssigneeID: c.OwnerID, DueAt: due, Status: crm.ReminderOpen, CreatedAt: due}
				if err := e.Services.Table.PutReminder(ctx, r); err != nil {
					t.Fatalf("seed %d: reminder: %v", seed, err)
				}
			}
			return c.ID
		}
		into, from := mk("a"), mk("b")
		prefer := map[string]string{}
		for _, f := range fields {
			if rng.IntN(4) == 0 {
				prefer[f] = crm.PreferFrom
			}
		}
		before := map[string]string{}
		for _, id := range []string{into, from} {
			d, err := e.Services.Table.DumpCustomer(ctx, id)
			if err != nil {
				t.Fatalf("seed %d: dump: %v", seed, err)
			}
			before[id] = d
		}
		start := time.Now()
		res, _, err := svc.Merges.Merge(ctx, admin, into, crm.MergeInput{From: from, Prefer: prefer})
		merges = append(merges, time.Since(start))
		if err != nil {
			t.Fatalf("seed %d iteration %d: merge: %v", seed, i, crm.ErrorCode(err))
		}
		if _, err := svc.Customers.Store.GetCustomer(ctx, from); crm.ErrorCode(err) != crm.EMOVED {
			t.Fatalf("seed %d iteration %d: merged-away customer reads %q, want moved", seed, i, crm.ErrorCode(err))
		}
		start = time.Now()
		if _, err := svc.Merges.Undo(ctx, admin, res.MergeID); err != nil {
			t.Fatalf("seed %d iteration %d: undo: %v", seed, i, crm.ErrorCode(err))
		}
		undos = append(undos, time.Since(start))
		for _, id := range []string{into, from} {
			after, err := e.Services.Table.DumpCustomer(ctx, id)
			if err != nil {
				t.Fatalf("seed %d: dump: %v", seed, err)
			}
			if after != before[id] {
				role := "survivor"
				if id == from {
					role = "merged-away customer"
				}
				t.Fatalf("seed %d iteration %d (prefer %v): the %s differs after merge and undo in %v", seed, i, keys(prefer), role, differing(before[id], after))
			}
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// differing names the parts of two dumps that differ, without their values.
func differing(a, b string) []string {
	var x, y map[string]any
	_ = json.Unmarshal([]byte(a), &x)
	_ = json.Unmarshal([]byte(b), &y)
	var out []string
	for k := range x {
		if k == "customer" {
			cx, _ := x[k].(map[string]any)
			cy, _ := y[k].(map[string]any)
			for f := range cx {
				if !reflect.DeepEqual(cx[f], cy[f]) {
					out = append(out, "customer."+f)
				}
			}
			for f := range cy {
				if _, ok := cx[f]; !ok {
					out = append(out, "customer."+f)
				}
			}
			continue
		}
		if !reflect.DeepEqual(x[k], y[k]) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
