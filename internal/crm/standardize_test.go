package crm

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// fakePhone accepts numbers of digits only, to keep these tests about the
// rules rather than about libphonenumber (tested in package phone).
func fakePhone(raw, region string) (string, error) {
	digits := ""
	for _, r := range raw {
		if r >= '0' && r <= '9' {
			digits += string(r)
		} else if r != ' ' && r != '-' && r != '+' {
			return "", errors.New("invalid")
		}
	}
	if len(digits) < 6 {
		return "", errors.New("invalid")
	}
	if raw[0] != '+' {
		digits = "86" + digits
	}
	return "+" + digits, nil
}

func TestStandardizeNames(t *testing.T) {
	p := DefaultPolicy(fakePhone)
	for _, tt := range []struct{ in, want string }{
		{"  li   wei ", "Li Wei"},
		{"LI WEI", "Li Wei"},
		{"McDonald", "McDonald"},
		{"van der Berg", "van der Berg"},
		{"Anne-marie O'neil", "Anne-marie O'neil"},
		{"jean-luc o'neil", "Jean-Luc O'Neil"},
		{"王 小明", "王 小明"},
		{"\tZhang\nSan ", "Zhang San"},
	} {
		got, err := p.Standardize(CustomerInput{Name: tt.in, Email: "a@b.co"})
		if err != nil || got.Name != tt.want {
			t.Errorf("%q: got %q (%v), want %q", tt.in, got.Name, err, tt.want)
		}
	}
}

func TestStandardizeEmails(t *testing.T) {
	p := DefaultPolicy(fakePhone)
	for in, want := range map[string]string{" A.B@Example.COM ": "a.b@example.com", "x+tag@sub.example.org": "x+tag@sub.example.org"} {
		got, err := p.Standardize(CustomerInput{Name: "A", Email: in})
		if err != nil || got.Email != want {
			t.Errorf("%q: got %q (%v)", in, got.Email, err)
		}
	}
	for _, bad := range []string{"no-at-sign", "a@b", "a@.com", "A <a@b.com>", "a b@c.com", "a@b.com.", "@b.com"} {
		if _, err := p.Standardize(CustomerInput{Name: "A", Email: bad}); !hasField(err, "email") {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestStandardizeEveryFieldNamed(t *testing.T) {
	p := DefaultPolicy(fakePhone)
	_, err := p.Standardize(CustomerInput{
		Name: "", Phone: "x", Email: "y", NationalID: "!", Tags: []string{""},
		Address: &Address{City: "C", Country: "CHN"}, Billing: &Billing{BankAccount: "$", TaxID: "%"},
		OwnerID: string(make([]byte, 200)),
	})
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID {
		t.Fatalf("got %v", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	slices.Sort(got)
	want := []string{"address.country", "address.line1", "billing.bankAccount", "billing.taxId", "email", "name", "nationalId", "ownerId", "phone", "tags"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for _, f := range e.Fields {
		if f.Message == "" || f.Code == "" {
			t.Errorf("field %s has no code or message", f.Field)
		}
	}
}

func TestStandardizeIdentifiersAndTags(t *testing.T) {
	p := DefaultPolicy(fakePhone)
	got, err := p.Standardize(CustomerInput{
		Name: "A", Phone: "138 0013 8000", NationalID: "1101-0119 9003074258", Tags: []string{"VIP", "vip ", "Gold"},
		Billing: &Billing{BankAccount: "cn12 bank 0000 1234"}, Address: &Address{Line1: " 1  Main St ", Country: "cn", PostalCode: "ab1 2cd"},
	})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case got.Phone != "+8613800138000":
		t.Errorf("phone %q", got.Phone)
	case got.NationalID != "110101199003074258":
		t.Errorf("nationalId %q", got.NationalID)
	case !slices.Equal(got.Tags, []string{"gold", "vip"}):
		t.Errorf("tags %v", got.Tags)
	case got.Billing.BankAccount != "CN12BANK00001234":
		t.Errorf("bank %q", got.Billing.BankAccount)
	case got.Address.Line1 != "1 Main St" || got.Address.Country != "CN" || got.Address.PostalCode != "AB1 2CD":
		t.Errorf("address %+v", got.Address)
	case got.Consent == nil:
		t.Errorf("consent not defaulted")
	}
	empty, err := p.Standardize(CustomerInput{Name: "A", Email: "a@b.co", Address: &Address{}, Billing: &Billing{}})
	if err != nil || empty.Address != nil || empty.Billing != nil {
		t.Errorf("empty nested objects kept: %+v %v", empty, err)
	}
}

func TestCompletenessAndReview(t *testing.T) {
	p := DefaultPolicy(fakePhone)
	c := Customer{Name: "A", Email: "a@b.co"}
	rate, missing := p.Completeness(c)
	if rate != 0.5 || !slices.Equal(missing, []string{"phone", "address"}) {
		t.Errorf("rate %v missing %v", rate, missing)
	}
	p.Required = []string{FieldName, FieldEmail}
	if rate, missing := p.Completeness(c); rate != 1 || len(missing) != 0 {
		t.Errorf("rate %v missing %v", rate, missing)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.UpdatedAt, c.VerifiedAt = t0, t0.Add(48*time.Hour)
	if due := p.ReviewDue(c); !due.Equal(t0.Add(48*time.Hour + p.ReviewPeriod)) {
		t.Errorf("due %s", due)
	}
}

func TestFilterMatch(t *testing.T) {
	now := time.Now()
	c := Customer{OwnerID: "alice", Segment: "smb", Tags: []string{"vip"}, Phone: "+1", Email: "a@b.co", ReviewDueAt: now.Add(-time.Hour)}
	for _, tt := range []struct {
		f    CustomerFilter
		want bool
	}{
		{CustomerFilter{}, true},
		{CustomerFilter{OwnerID: "alice", Segment: "smb", Tag: "vip", Stale: true, AsOf: now}, true},
		{CustomerFilter{OwnerID: "bob"}, false},
		{CustomerFilter{Tag: "gold"}, false},
		{CustomerFilter{Stale: true, AsOf: now.Add(-2 * time.Hour)}, false},
		{CustomerFilter{Email: "x@y.z"}, false},
	} {
		if got := tt.f.Match(c); got != tt.want {
			t.Errorf("%+v: got %v", tt.f, got)
		}
	}
}

func hasField(err error, field string) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
