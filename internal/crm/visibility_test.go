package crm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The policy of API.md, written out independently of fieldAccess: for each
// field, what each role reads ("full", "masked", "hidden") and whether it may
// write. Roles in column order: admin, sales, service, finance, auditor.
var wantPolicy = map[string]struct {
	read  [5]string
	write [5]bool
}{
	FieldName:       {[5]string{"full", "full", "full", "full", "full"}, [5]bool{true, true, true, false, false}},
	FieldPhone:      {[5]string{"full", "full", "full", "full", "masked"}, [5]bool{true, true, true, false, false}},
	FieldEmail:      {[5]string{"full", "full", "full", "full", "masked"}, [5]bool{true, true, true, false, false}},
	FieldAddress:    {[5]string{"full", "full", "full", "full", "masked"}, [5]bool{true, true, true, false, false}},
	FieldCompany:    {[5]string{"full", "full", "full", "full", "full"}, [5]bool{true, true, true, false, false}},
	FieldSegment:    {[5]string{"full", "full", "full", "full", "full"}, [5]bool{true, true, true, false, false}},
	FieldTags:       {[5]string{"full", "full", "full", "full", "full"}, [5]bool{true, true, true, false, false}},
	FieldNationalID: {[5]string{"full", "masked", "masked", "full", "masked"}, [5]bool{true, true, true, false, false}},
	FieldBilling:    {[5]string{"full", "hidden", "hidden", "full", "hidden"}, [5]bool{true, false, false, true, false}},
	FieldOwnerID:    {[5]string{"full", "full", "full", "full", "full"}, [5]bool{true, false, false, false, false}},
	FieldConsent:    {[5]string{"full", "full", "full", "full", "full"}, [5]bool{true, true, true, false, false}},
	FieldLanguage:   {[5]string{"full", "full", "full", "full", "full"}, [5]bool{true, true, true, false, false}},
}

var columnRoles = []Role{RoleAdmin, RoleSales, RoleService, RoleFinance, RoleAuditor}

func fullCustomer() Customer {
	return Customer{
		Name: "Li Wei", Phone: "+8613800138000", Email: "li.wei@example.com",
		Address: &Address{Line1: "88 Jianguo Road", City: "Beijing", PostalCode: "100022", Country: "CN"},
		Company: "Acme", Segment: "smb", Tags: []string{"vip"}, NationalID: "110101199003074258",
		Billing: &Billing{BankAccount: "CN12BANK0000123456789", TaxID: "91110000"}, OwnerID: "alice",
		Consent: Consent{Reminders: true}, Language: "zh-CN",
	}
}

// fieldValue renders one field of c for comparison.
func fieldValue(c Customer, field string) string {
	switch field {
	case FieldName:
		return c.Name
	case FieldPhone:
		return c.Phone
	case FieldEmail:
		return c.Email
	case FieldAddress:
		if c.Address == nil {
			return ""
		}
		return fmt.Sprint(*c.Address)
	case FieldCompany:
		return c.Company
	case FieldSegment:
		return c.Segment
	case FieldTags:
		return fmt.Sprint(c.Tags)
	case FieldNationalID:
		return c.NationalID
	case FieldBilling:
		if c.Billing == nil {
			return ""
		}
		return fmt.Sprint(*c.Billing)
	case FieldOwnerID:
		return c.OwnerID
	case FieldConsent:
		return fmt.Sprint(c.Consent)
	case FieldLanguage:
		return c.Language
	}
	panic("unknown field " + field)
}

// changed returns in with field set to another valid value.
func changed(in CustomerInput, field string) CustomerInput {
	switch field {
	case FieldName:
		in.Name = "Wang Fang"
	case FieldPhone:
		in.Phone = "+8613900139000"
	case FieldEmail:
		in.Email = "wf@example.com"
	case FieldAddress:
		in.Address = &Address{Line1: "1 Main St", Country: "CN"}
	case FieldCompany:
		in.Company = "Other"
	case FieldSegment:
		in.Segment = "enterprise"
	case FieldTags:
		in.Tags = []string{"gold"}
	case FieldNationalID:
		in.NationalID = "999999999999"
	case FieldBilling:
		in.Billing = &Billing{BankAccount: "DE89370400440532013000"}
	case FieldOwnerID:
		in.OwnerID = "bob"
	case FieldConsent:
		in.Consent = &Consent{Marketing: true}
	case FieldLanguage:
		in.Language = "en"
	}
	return in
}

func TestFieldPolicyEveryCell(t *testing.T) {
	if len(wantPolicy) != len(fieldAccess) {
		t.Fatalf("the policy covers %d fields, the test %d", len(fieldAccess), len(wantPolicy))
	}
	full := fullCustomer()
	for field, want := range wantPolicy {
		for col, role := range columnRoles {
			t.Run(fmt.Sprintf("%s/%s/read", field, role), func(t *testing.T) {
				got := fieldValue(Redact([]Role{role}, full), field)
				orig := fieldValue(full, field)
				switch want.read[col] {
				case "full":
					if got != orig {
						t.Errorf("got %q, want the full value", got)
					}
				case "masked":
					if got == orig || !strings.Contains(got, mask) || got == "" {
						t.Errorf("got %q, want it masked", got)
					}
				case "hidden":
					if got != "" {
						t.Errorf("got %q, want it hidden", got)
					}
				}
			})
			t.Run(fmt.Sprintf("%s/%s/write", field, role), func(t *testing.T) {
				prev := full.Input()
				err := checkAllowed(Actor{ID: "x", Roles: []Role{role}}, prev, changed(prev, field))
				var e *Error
				switch {
				case want.write[col] && err != nil:
					t.Errorf("refused: %v", err)
				case !want.write[col] && (!errors.As(err, &e) || e.Code != EFORBIDDEN || len(e.Fields) != 1 || e.Fields[0].Field != field):
					t.Errorf("got %v, want EFORBIDDEN naming %s", err, field)
				}
			})
		}
	}
}

func TestMaskedValuesNeverWritten(t *testing.T) {
	masked := Redact([]Role{RoleAuditor}, fullCustomer()).Input()
	err := checkMasked(masked)
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID || len(e.Fields) != 4 {
		t.Fatalf("got %v, want phone, email, address and nationalId refused", err)
	}
	for _, f := range e.Fields {
		if f.Code != "masked_value" {
			t.Errorf("%s: code %s", f.Field, f.Code)
		}
	}
}

func TestMostPermissiveRoleWins(t *testing.T) {
	c := Redact([]Role{RoleSales, RoleFinance}, fullCustomer())
	if c.Billing == nil || c.NationalID != fullCustomer().NationalID {
		t.Fatalf("sales+finance should read billing and the full national ID: %+v", c)
	}
}

func TestListsNeverShowBillingOrFullNationalID(t *testing.T) {
	full := fullCustomer()
	for _, role := range columnRoles {
		c := RedactForList([]Role{role}, full)
		if c.Billing != nil || c.NationalID == full.NationalID || !strings.HasSuffix(c.NationalID, "4258") {
			t.Errorf("%s: billing %v, national ID %q", role, c.Billing, c.NationalID)
		}
		if got, want := c.Phone, Redact([]Role{role}, full).Phone; got != want {
			t.Errorf("%s: phone %q in a list, %q on its own", role, got, want)
		}
	}
}
