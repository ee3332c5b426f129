package crm_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestCustomerCreate(t *testing.T) {
	t.Run("Standardized", func(t *testing.T) {
		w := newWorld(t)
		c := w.customer(t, rep1, crm.CustomerInput{Name: "  li   wei ", Phone: phoneA, Email: " Li.Wei@Example.CN ",
			Tags: []string{"VIP", "beijing", "vip"}, Address: &crm.Address{Line1: " 1  Main St ", Country: "cn"}})
		want := crm.Customer{Name: "Li Wei", Phone: phoneAE164, Email: "li.wei@example.cn", Tags: []string{"beijing", "vip"}, OwnerID: "rep1"}
		if c.Name != want.Name || c.Phone != want.Phone || c.Email != want.Email || !slices.Equal(c.Tags, want.Tags) || c.OwnerID != want.OwnerID {
			t.Errorf("created %+v, want standardized %+v", c, want)
		}
		if c.Address == nil || c.Address.Line1 != "1 Main St" || c.Address.Country != "CN" {
			t.Errorf("address %+v, want collapsed line and upper-case country", c.Address)
		}
		if c.Version != 1 || c.CreatedBy != "rep1" || !c.CreatedAt.Equal(start) || !c.ReviewDueAt.Equal(start.Add(180*24*time.Hour)) {
			t.Errorf("version %d, createdBy %q, createdAt %v, reviewDueAt %v", c.Version, c.CreatedBy, c.CreatedAt, c.ReviewDueAt)
		}
		stored, err := w.store.Customers.GetCustomer(ctx, c.ID)
		if err != nil || stored.Phone != phoneAE164 || stored.Version != 1 {
			t.Errorf("stored %+v, %v", stored, err)
		}
		a := w.lastAudit(t)
		if a.Action != "customer.create" || a.EntityID != c.ID || a.Actor != "rep1" || a.RequestID != "req-1" ||
			!slices.Equal(a.ChangedFields, []string{"name", "phone", "email", "address", "tags", "ownerId"}) {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("AdminCreatesForRep", func(t *testing.T) {
		w := newWorld(t)
		c := w.customer(t, admin, crm.CustomerInput{Name: "A", Phone: phoneA, OwnerID: "rep2"})
		if c.OwnerID != "rep2" || !slices.Contains(w.lastAudit(t).ChangedFields, "ownerId") {
			t.Errorf("owner %q, audit %v", c.OwnerID, w.lastAudit(t).ChangedFields)
		}
	})
	t.Run("SalesNamingThemselvesOwner", func(t *testing.T) {
		w := newWorld(t)
		if _, err := w.customers.Create(ctx, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, OwnerID: "rep1"}, false); err != nil {
			t.Errorf("a rep naming themselves owner was refused: %v", err)
		}
	})
	for _, tt := range []struct {
		name   string
		actor  crm.Actor
		in     crm.CustomerInput
		allow  bool
		code   string
		fields []string
	}{
		{"ErrNameRequired", rep1, crm.CustomerInput{Name: "  ", Phone: phoneA}, false, crm.EINVALID, []string{"name"}},
		{"ErrContactRequired", rep1, crm.CustomerInput{Name: "A"}, false, crm.EINVALID, []string{"phone", "email"}},
		{"ErrEveryInvalidFieldNamed", rep1, crm.CustomerInput{Name: "", Phone: "12", Email: "not-an-email", NationalID: "x!",
			Address: &crm.Address{City: "Beijing", Country: "China"}, Tags: []string{"<b>"}}, false, crm.EINVALID,
			[]string{"name", "phone", "email", "nationalId", "address.line1", "address.country", "tags"}},
		{"ErrSalesCreatesForOtherOwner", rep1, crm.CustomerInput{Name: "A", Phone: phoneA, OwnerID: "rep2"}, false, crm.EFORBIDDEN, []string{"ownerId"}},
		{"ErrSalesWritesBilling", rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Billing: &crm.Billing{BankAccount: "DE89370400440532013000"}}, false, crm.EFORBIDDEN, []string{"billing"}},
		{"ErrFinanceWritesName", finance, crm.CustomerInput{Name: "A", Phone: phoneA}, false, crm.EFORBIDDEN, []string{"name", "phone"}},
		{"ErrNonAdminAllowDuplicate", rep1, crm.CustomerInput{Name: "A", Phone: phoneA}, true, crm.EFORBIDDEN, nil},
		{"ErrMaskedValue", rep1, crm.CustomerInput{Name: "A", Phone: "••••••••8000", Email: "a•••@x.cn"}, false, crm.EINVALID, []string{"phone", "email"}},
		{"ErrMaskedAddress", rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Address: &crm.Address{Line1: "••••", Country: "CN"}}, false, crm.EINVALID, []string{"address"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, err := w.customers.Create(ctx, tt.actor, tt.in, tt.allow)
			wantFields(t, err, tt.code, tt.fields...)
			if cs, _, _ := w.store.Customers.ListCustomers(ctx, crm.CustomerFilter{}, crm.Page{}); len(cs) != 0 {
				t.Errorf("a refused create stored %d customers", len(cs))
			}
			if n := len(w.store.Audit.Entries()); n != 0 {
				t.Errorf("a refused create left %d audit entries", n)
			}
		})
	}
	t.Run("ErrDuplicateAfterNormalizing", func(t *testing.T) {
		w := newWorld(t)
		first := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Email: "a@x.cn"})
		_, err := w.customers.Create(ctx, rep1, crm.CustomerInput{Name: "B", Phone: "+86 138-0013-8000", Email: "A@X.CN"}, false)
		e := wantErr(t, err, crm.ECONFLICT)
		if e.DuplicateOf != first.ID || len(e.Fields) != 2 {
			t.Errorf("duplicate %+v, want of %s on phone and email", e, first.ID)
		}
	})
	t.Run("ErrDuplicateOfAnotherRepsCustomerNamesFieldsOnly", func(t *testing.T) {
		w := newWorld(t)
		w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA, Email: "a@x.cn"})
		_, err := w.customers.Create(ctx, rep2, crm.CustomerInput{Name: "B", Phone: phoneA}, false)
		e := wantErr(t, err, crm.ECONFLICT)
		if e.DuplicateOf != "" || len(e.Fields) != 1 || e.Fields[0].Field != crm.FieldPhone {
			t.Errorf("duplicate %+v, want the phone named and no id", e)
		}
		a := w.lastAudit(t)
		if a.Outcome != crm.OutcomeConflict || a.Actor != "rep2" || !slices.Equal(a.ChangedFields, []string{"phone"}) {
			t.Errorf("the refused probe was audited as %+v", a)
		}
	})
	t.Run("AdminAllowsDuplicate", func(t *testing.T) {
		w := newWorld(t)
		first := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
		second, err := w.customers.Create(ctx, admin, crm.CustomerInput{Name: "A", Phone: phoneA}, true)
		if err != nil {
			t.Fatal(err)
		}
		if second.ID == first.ID || w.store.Customers.ClaimHolder(crm.FieldPhone, phoneAE164) != first.ID {
			t.Errorf("allowed duplicate %s took the claim of %s", second.ID, first.ID)
		}
	})
	t.Run("WritesCounted", func(t *testing.T) {
		w := newWorld(t)
		w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
		_, _ = w.customers.Create(ctx, rep1, crm.CustomerInput{Name: ""}, false)                 // invalid: counted
		_, _ = w.customers.Create(ctx, rep1, crm.CustomerInput{Name: "B", Phone: phoneA}, false) // duplicate: not counted
		_, _ = w.customers.Create(ctx, rep1, crm.CustomerInput{Name: "C", Phone: phoneB}, true)  // forbidden: not counted
		aggs, _ := w.store.Aggregates.Aggregates(ctx, []string{crm.AggWrites})
		day := start.Format("20060102")
		// The service counts the refused write; the store (the stream, on
		// DynamoDB) the accepted one.
		if got := aggs[crm.AggWrites]; got["accepted#"+day] != 1 || got["rejected#"+day] != 1 {
			t.Errorf("write counts %v, want one accepted and one rejected", got)
		}
	})
}

// TestCustomerImportRows pins what an import relies on: each row is a
// create of its own, and a retried import reports the rows it already
// stored as duplicates of themselves.
func TestCustomerImportRows(t *testing.T) {
	w := newWorld(t)
	rows := []crm.CustomerInput{
		{Name: "A", Phone: phoneA},
		{Name: "", Phone: phoneB},
		{Name: "C", Phone: "+86 138 0013 8000"},
		{Name: "D", Email: "d@x.cn"},
	}
	var ids []string
	for _, attempt := range []string{"first", "retry"} {
		var codes []string
		var dups []string
		for _, in := range rows {
			c, err := w.customers.Create(ctx, admin, in, false)
			codes = append(codes, crm.ErrorCode(err))
			var e *crm.Error
			if errors.As(err, &e) {
				dups = append(dups, e.DuplicateOf)
			} else {
				dups = append(dups, "")
				ids = append(ids, c.ID)
			}
		}
		t.Run(attempt, func(t *testing.T) {
			want := []string{"", crm.EINVALID, crm.ECONFLICT, ""}
			wantDups := []string{"", "", ids[0], ""}
			if attempt == "retry" {
				want = []string{crm.ECONFLICT, crm.EINVALID, crm.ECONFLICT, crm.ECONFLICT}
				wantDups = []string{ids[0], "", ids[0], ids[1]}
			}
			if !slices.Equal(codes, want) || !slices.Equal(dups, wantDups) {
				t.Errorf("row outcomes %v duplicates of %v, want %v of %v", codes, dups, want, wantDups)
			}
		})
	}
	if len(ids) != 2 {
		t.Errorf("%d customers created over both imports, want 2", len(ids))
	}
}

func TestCustomerGet(t *testing.T) {
	w := newWorld(t)
	c := w.customer(t, rep1, crm.CustomerInput{Name: "A", Phone: phoneA})
	for _, tt := range []struct {
		name  string
		actor crm.Actor
		id    string
		code  string
	}{
		{"OwnerSees", rep1, c.ID, ""},
		{"ServiceSeesAny", agent, c.ID, ""},
		{"AuditorSeesAny", auditor, c.ID, ""},
		{"ErrOtherRepsCustomer", rep2, c.ID, crm.ENOTFOUND},
		{"ErrUnknown", admin, "c_nope", crm.ENOTFOUND},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.customers.Get(ctx, tt.actor, tt.id)
			wantErr(t, err, tt.code)
			if tt.code == "" && got.ID != c.ID {
				t.Errorf("got %s", got.ID)
			}
		})
	}
	t.Run("ErrErasedIsGone", func(t *testing.T) {
		if err := w.customers.Erase(ctx, admin, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err := w.customers.Get(ctx, admin, c.ID)
		wantErr(t, err, crm.EGONE)
	})
}

func rename(name string) func(crm.CustomerInput) (crm.CustomerInput, error) {
	return func(in crm.CustomerInput) (crm.CustomerInput, error) { in.Name = name; return in, nil }
}

func TestCustomerUpdate(t *testing.T) {
	setup := func(t *testing.T) (*world, crm.Customer) {
		w := newWorld(t)
		return w, w.customer(t, rep1, crm.CustomerInput{Name: "Li Wei", Phone: phoneA, Email: "li@x.cn"})
	}
	t.Run("Applied", func(t *testing.T) {
		w, c := setup(t)
		w.clock.Advance(time.Hour)
		got, err := w.customers.Update(ctx, rep1, c.ID, ptr(int64(1)), func(in crm.CustomerInput) (crm.CustomerInput, error) {
			in.Company, in.Phone = "  Acme   Ltd ", phoneB
			return in, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || got.Company != "Acme Ltd" || got.Phone != phoneBE164 || !got.UpdatedAt.Equal(start.Add(time.Hour)) ||
			!got.ReviewDueAt.Equal(start.Add(time.Hour+180*24*time.Hour)) || !got.CreatedAt.Equal(start) {
			t.Errorf("updated %+v", got)
		}
		if a := w.lastAudit(t); a.Action != "customer.update" || !slices.Equal(a.ChangedFields, []string{"phone", "company"}) {
			t.Errorf("audit %s %v, want the phone and company changes", a.Action, a.ChangedFields)
		}
	})
	t.Run("ChangedPhoneIsReleased", func(t *testing.T) {
		w, c := setup(t)
		if _, err := w.customers.Update(ctx, rep1, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.Phone = phoneB; return in, nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := w.customers.Create(ctx, rep2, crm.CustomerInput{Name: "Other", Phone: phoneA}, false); err != nil {
			t.Errorf("the released phone was refused: %v", err)
		}
	})
	t.Run("ErrUpdateIntoDuplicate", func(t *testing.T) {
		w, c := setup(t)
		other := w.customer(t, rep1, crm.CustomerInput{Name: "Other", Phone: phoneB})
		_, err := w.customers.Update(ctx, rep1, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.Phone = phoneB; return in, nil })
		if e := wantErr(t, err, crm.ECONFLICT); e.DuplicateOf != other.ID {
			t.Errorf("DuplicateOf %q, want %s", e.DuplicateOf, other.ID)
		}
		if got, _ := w.store.Customers.GetCustomer(ctx, c.ID); got.Phone != phoneAE164 || got.Version != 1 {
			t.Errorf("refused update changed the record: %+v", got)
		}
	})
	for _, tt := range []struct {
		name   string
		actor  crm.Actor
		id     string
		match  *int64
		edit   func(crm.CustomerInput) (crm.CustomerInput, error)
		code   string
		fields []string
	}{
		{"ErrStaleIfMatch", rep1, "", ptr(int64(7)), rename("X"), crm.EPRECONDITION, nil},
		{"ErrOtherRepsCustomer", rep2, "", nil, rename("X"), crm.ENOTFOUND, nil},
		{"ErrUnknown", admin, "c_nope", nil, rename("X"), crm.ENOTFOUND, nil},
		{"ErrOwnerRemoved", admin, "", nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.OwnerID = " "; return in, nil }, crm.EINVALID, []string{"ownerId"}},
		{"ErrSalesReassigns", rep1, "", nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.OwnerID = "rep2"; return in, nil }, crm.EFORBIDDEN, []string{"ownerId"}},
		{"ErrSalesWritesBilling", rep1, "", nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
			in.Billing = &crm.Billing{TaxID: "91110000"}
			return in, nil
		}, crm.EFORBIDDEN, []string{"billing"}},
		{"ErrRemovingLastContact", rep1, "", nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.Phone, in.Email = "", ""; return in, nil }, crm.EINVALID, []string{"phone", "email"}},
		{"ErrMaskedValueWrittenBack", admin, "", nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
			in.Phone = crm.Redact([]crm.Role{crm.RoleAuditor}, crm.Customer{Phone: in.Phone}).Phone
			return in, nil
		}, crm.EINVALID, []string{"phone"}},
		{"ErrEditRefused", rep1, "", nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
			return in, crm.Errorf(crm.EINVALID, "bad patch")
		}, crm.EINVALID, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, c := setup(t)
			id := tt.id
			if id == "" {
				id = c.ID
			}
			_, err := w.customers.Update(ctx, tt.actor, id, tt.match, tt.edit)
			wantFields(t, err, tt.code, tt.fields...)
			if got, _ := w.store.Customers.GetCustomer(ctx, c.ID); got.Version != 1 {
				t.Errorf("refused update stored version %d", got.Version)
			}
		})
	}
	t.Run("AdminReassigns", func(t *testing.T) {
		w, c := setup(t)
		got, err := w.customers.Update(ctx, admin, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.OwnerID = "rep2"; return in, nil })
		if err != nil || got.OwnerID != "rep2" {
			t.Fatalf("reassign: %+v, %v", got, err)
		}
		if _, err := w.customers.Get(ctx, rep1, c.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("the previous owner still sees the customer: %v", err)
		}
	})
	t.Run("FinanceWritesBillingOnly", func(t *testing.T) {
		w, c := setup(t)
		got, err := w.customers.Update(ctx, finance, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) {
			in.Billing = &crm.Billing{BankAccount: "de89 3704 0044 0532 0130 00"}
			return in, nil
		})
		if err != nil || got.Billing == nil || got.Billing.BankAccount != "DE89370400440532013000" {
			t.Fatalf("finance billing write: %+v, %v", got.Billing, err)
		}
	})
	t.Run("RetriedWithoutIfMatchAfterLostRace", func(t *testing.T) {
		w, c := setup(t)
		attempts := w.raceUpdates(t, c.ID, 1)
		got, err := w.customers.Update(ctx, rep1, c.ID, nil, func(in crm.CustomerInput) (crm.CustomerInput, error) { in.Company = "Acme"; return in, nil })
		if err != nil {
			t.Fatal(err)
		}
		if *attempts != 2 || got.Version != 3 || got.Company != "Acme" || got.Segment != "raced" {
			t.Errorf("after %d attempts: version %d company %q segment %q; want the change applied on the racer's", *attempts, got.Version, got.Company, got.Segment)
		}
	})
	t.Run("ErrLostRaceWithIfMatch", func(t *testing.T) {
		w, c := setup(t)
		attempts := w.raceUpdates(t, c.ID, 1)
		_, err := w.customers.Update(ctx, rep1, c.ID, ptr(int64(1)), rename("X"))
		wantErr(t, err, crm.EPRECONDITION)
		if *attempts != 1 {
			t.Errorf("%d attempts with If-Match, want 1", *attempts)
		}
	})
	t.Run("ErrGivesUpAfterThreeLostRaces", func(t *testing.T) {
		w, c := setup(t)
		attempts := w.raceUpdates(t, c.ID, 100)
		_, err := w.customers.Update(ctx, rep1, c.ID, nil, rename("X"))
		wantErr(t, err, crm.EPRECONDITION)
		if *attempts != 3 {
			t.Errorf("%d attempts, want 3", *attempts)
		}
	})
}

// raceUpdates makes the next n customer writes lose a race: just before
// each, another change bumps the stored version. It returns the count of
// writes attempted.
func (w *world) raceUpdates(tb testing.TB, id string, n int) *int {
	tb.Helper()
	attempts, racing := 0, false
	w.store.Before = func(op string) error {
		if op != "UpdateCustomer" || racing {
			return nil
		}
		attempts++
		if attempts > n {
			return nil
		}
		racing = true
		defer func() { racing = false }()
		cur, err := w.store.Customers.GetCustomer(ctx, id)
		if err != nil {
			return err
		}
		next := cur
		next.Segment, next.Version = "raced", cur.Version+1
		return w.store.Customers.UpdateCustomer(ctx, cur, next, crm.NewAudit(ctx, admin, "customer.update", "customer", id, "segment"))
	}
	return &attempts
}
