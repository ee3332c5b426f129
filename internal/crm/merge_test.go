package crm

import (
	"errors"
	"slices"
	"testing"
)

func mergePair() (Customer, Customer) {
	survivor := Customer{ID: "c_a", Name: "Li Wei", Phone: "+8613800000001", Company: "Acme", Tags: []string{"vip", "north"},
		OwnerID: "alice", Consent: Consent{Reminders: true}, Billing: &Billing{TaxID: "T-1"}}
	from := Customer{ID: "c_b", Name: "Wei Li", Phone: "+8613800000002", Email: "li@example.com", Segment: "retail",
		Address: &Address{City: "Shanghai"}, Tags: []string{"north", "web"}, OwnerID: "bob",
		Consent: Consent{Marketing: true}, Billing: &Billing{TaxID: "T-2"}}
	return survivor, from
}

func TestValidatePreferNamesEveryBadEntry(t *testing.T) {
	if err := ValidatePrefer(map[string]string{"phone": "from", "billing": "from", "consent": "from"}); err != nil {
		t.Fatalf("valid prefer refused: %v", err)
	}
	if err := ValidatePrefer(nil); err != nil {
		t.Fatalf("no prefer refused: %v", err)
	}
	err := ValidatePrefer(map[string]string{"phnoe": "from", "tags": "from", "email": "into", "name": "from", "id": "from"})
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID {
		t.Fatalf("got %v, want EINVALID", err)
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field+":"+f.Code)
	}
	want := []string{"prefer.email:enum", "prefer.id:unknown", "prefer.phnoe:unknown", "prefer.tags:unknown"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
}

func TestMergedInputFieldChoice(t *testing.T) {
	survivor, from := mergePair()
	got := MergedInput(survivor, from, nil)
	// The survivor's values stay, its empty ones are filled from the other.
	if got.Name != "Li Wei" || got.Phone != survivor.Phone || got.Company != "Acme" || got.OwnerID != "alice" {
		t.Errorf("survivor's values replaced: %+v", got)
	}
	if got.Email != from.Email || got.Segment != "retail" || got.Address == nil || got.Address.City != "Shanghai" {
		t.Errorf("empty fields not filled: %+v", got)
	}
	if got.Consent == nil || *got.Consent != survivor.Consent {
		t.Errorf("consent taken without prefer: %+v", got.Consent)
	}
	if *got.Billing != *survivor.Billing {
		t.Errorf("billing replaced without prefer")
	}
	if !slices.Equal(got.Tags, []string{"vip", "north", "web"}) {
		t.Errorf("tags %v, want the union, survivor's first", got.Tags)
	}
	if touched := MergeTouched(survivor, got); !slices.Equal(touched, []string{FieldEmail, FieldAddress, FieldSegment, FieldTags}) {
		t.Errorf("touched %v", touched)
	}

	got = MergedInput(survivor, from, map[string]string{"phone": "from", "consent": "from", "ownerId": "from", "company": "from"})
	if got.Phone != from.Phone || *got.Consent != from.Consent || got.OwnerID != "bob" {
		t.Errorf("preferred fields not taken: %+v", got)
	}
	// An empty value never replaces one, preferred or not.
	if got.Company != "Acme" {
		t.Errorf("empty preferred company replaced the survivor's: %q", got.Company)
	}
	if !MergeChangesBilling(survivor, from, map[string]string{"billing": "from"}) || MergeChangesBilling(survivor, from, nil) {
		t.Error("MergeChangesBilling disagrees with prefer")
	}
}

func TestEditedSinceAndUnmerged(t *testing.T) {
	survivor, from := mergePair()
	merged := MergedInput(survivor, from, map[string]string{"phone": "from"})
	next := survivor
	next.apply(merged, survivor.UpdatedAt)
	m := Merge{PrevInto: survivor, NextInto: next, Touched: MergeTouched(survivor, merged)}
	if e := EditedSince(m, next); len(e) != 0 {
		t.Fatalf("nothing edited, got %v", e)
	}
	edited := next
	edited.Phone = "+8613800000009"   // touched by the merge
	edited.Language = "zh-CN"         // not touched
	edited.Tags = []string{"changed"} // touched
	if e := EditedSince(m, edited); !slices.Equal(e, []string{FieldPhone, FieldTags}) {
		t.Fatalf("edited %v, want phone and tags", e)
	}
	// Undoing keeps edits of fields the merge did not touch.
	later := next
	later.Language = "zh-CN"
	back := Unmerged(m, later)
	if back.Phone != survivor.Phone || back.Email != "" || back.Language != "zh-CN" || !slices.Equal(back.Tags, survivor.Tags) {
		t.Fatalf("unmerged %+v", back)
	}
	if changed := changedFields(survivor.Input(), Unmerged(m, next)); len(changed) != 0 {
		t.Fatalf("undo of an unedited merge differs in %v", changed)
	}
}
