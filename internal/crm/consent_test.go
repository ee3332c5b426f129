package crm

import (
	"slices"
	"testing"
	"time"
)

func TestConsentChanges(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, c := range map[string]struct {
		prev, next Consent
		isNew      bool
		want       []string
	}{
		"NewRecordsGrantsOnly":     {Consent{}, Consent{Reminders: true}, true, []string{"reminders=true"}},
		"NewWithNothingRecordsNil": {Consent{}, Consent{}, true, nil},
		"EditRecordsWithdrawal":    {Consent{Reminders: true, Marketing: true}, Consent{Reminders: true}, false, []string{"marketing=false"}},
		"EditRecordsBoth":          {Consent{Marketing: true}, Consent{Reminders: true}, false, []string{"reminders=true", "marketing=false"}},
		"UnchangedRecordsNothing":  {Consent{Marketing: true}, Consent{Marketing: true}, false, nil},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, r := range consentChanges(c.prev, c.next, c.isNew, at, ConsentByPortal, "customer:c1") {
				if r.At != at || r.Source != ConsentByPortal || r.Actor != "customer:c1" {
					t.Errorf("record %+v", r)
				}
				s := r.Purpose + "=false"
				if r.Granted {
					s = r.Purpose + "=true"
				}
				got = append(got, s)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestConsentRetentionKeeps(t *testing.T) {
	grant, withdrawal := ConsentRecord{Granted: true}, ConsentRecord{Granted: false}
	for _, c := range []struct {
		r                ConsentRetention
		grant, withdrawn bool
	}{{RetainNoConsents, false, false}, {RetainWithdrawals, false, true}, {RetainAllConsents, true, true}, {"", false, false}} {
		if c.r.Keeps(grant) != c.grant || c.r.Keeps(withdrawal) != c.withdrawn {
			t.Errorf("%q keeps grant %t, withdrawal %t", c.r, c.r.Keeps(grant), c.r.Keeps(withdrawal))
		}
	}
}

func TestParseFourEyes(t *testing.T) {
	for in, want := range map[string][]string{"": {}, "billing": {"billing"}, " erase , billing,erase": {"erase", "billing"}, "merge": {"merge"}} {
		got, err := ParseFourEyes(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseFourEyes("billing,delete"); ErrorCode(err) != EINVALID {
		t.Errorf("an unknown kind: %v", err)
	}
}

func TestMayDecide(t *testing.T) {
	for _, c := range []struct {
		role Role
		kind string
		may  bool
	}{{RoleAdmin, ApprovalBilling, true}, {RoleFinance, ApprovalBilling, true}, {RoleFinance, ApprovalMerge, true}, {RoleFinance, ApprovalErase, false},
		{RoleAdmin, ApprovalErase, true}, {RoleSales, ApprovalBilling, false}, {RoleAuditor, ApprovalErase, false}} {
		if got := MayDecide(Actor{ID: "u", Roles: []Role{c.role}}, c.kind); got != c.may {
			t.Errorf("%s deciding %s: %t, want %t", c.role, c.kind, got, c.may)
		}
	}
}
