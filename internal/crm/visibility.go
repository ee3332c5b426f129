package crm

import (
	"slices"
	"strings"
)

// access is what one role may do with one customer field.
type access uint8

const (
	hidden  access = iota // not shown, not writable
	masked                // shown masked, not writable
	maskedW               // shown masked, writable (captured but not read back)
	read                  // shown, not writable
	write                 // shown and writable
)

// fieldAccess is the visibility and write policy, one row per field and one
// column per role. Where an actor holds several roles, the most permissive
// cell wins.
var fieldAccess = map[string][5]access{
	//                admin  sales    service  finance  auditor
	FieldName:       {write, write, write, read, read},
	FieldPhone:      {write, write, write, read, masked},
	FieldEmail:      {write, write, write, read, masked},
	FieldAddress:    {write, write, write, read, masked},
	FieldCompany:    {write, write, write, read, read},
	FieldSegment:    {write, write, write, read, read},
	FieldTags:       {write, write, write, read, read},
	FieldNationalID: {write, maskedW, maskedW, read, masked},
	FieldBilling:    {write, hidden, hidden, write, hidden},
	FieldOwnerID:    {write, read, read, read, read},
	FieldConsent:    {write, write, write, read, read},
	FieldLanguage:   {write, write, write, read, read},
}

// FieldTags, FieldOwnerID and FieldConsent complete the field names used by
// the access table.
const (
	FieldTags    = "tags"
	FieldOwnerID = "ownerId"
	FieldConsent = "consent"
	// FieldLanguage is the customer's language (BCP 47).
	FieldLanguage = "language"
)

// roleColumn orders the table's columns.
var roleColumn = map[Role]int{RoleAdmin: 0, RoleSales: 1, RoleService: 2, RoleFinance: 3, RoleAuditor: 4}

// accessFor returns the most permissive access any of roles has to field.
func accessFor(roles []Role, field string) access {
	best := hidden
	row := fieldAccess[field]
	for _, r := range roles {
		if col, ok := roleColumn[r]; ok && row[col] > best {
			best = row[col]
		}
	}
	return best
}

// canWrite reports whether roles may write field.
func canWrite(roles []Role, field string) bool {
	a := accessFor(roles, field)
	return a == write || a == maskedW
}

// mask is the character masked values are made of; a write holding it is
// refused, so a masked value read back can never overwrite the real one.
const mask = "•"

// Redact returns c as roles may see it: hidden fields removed, masked fields
// masked.
func Redact(roles []Role, c Customer) Customer {
	out := c
	for field := range fieldAccess {
		switch accessFor(roles, field) {
		case hidden:
			out.clear(field)
		case masked, maskedW:
			out.maskField(field)
		}
	}
	return out
}

// RedactForList returns c as roles may see it in a list: as Redact, and
// never with billing or a full national ID, whatever the role. Those are
// read one customer at a time, where each such read is audited.
func RedactForList(roles []Role, c Customer) Customer {
	out := Redact(roles, c)
	out.Billing = nil
	if c.NationalID != "" {
		out.NationalID = maskTail(c.NationalID, 4)
	}
	return out
}

// CanSeeFull reports whether roles read field in full, for callers that must
// record reads of sensitive data.
func CanSeeFull(roles []Role, field string) bool {
	a := accessFor(roles, field)
	return a == read || a == write
}

func (c *Customer) clear(field string) {
	switch field {
	case FieldBilling:
		c.Billing = nil
	case FieldNationalID:
		c.NationalID = ""
	case FieldPhone:
		c.Phone = ""
	case FieldEmail:
		c.Email = ""
	case FieldAddress:
		c.Address = nil
	}
}

func (c *Customer) maskField(field string) {
	switch field {
	case FieldNationalID:
		c.NationalID = maskTail(c.NationalID, 4)
	case FieldPhone:
		c.Phone = maskTail(c.Phone, 4)
	case FieldEmail:
		if at := strings.LastIndexByte(c.Email, '@'); at > 0 {
			c.Email = c.Email[:1] + strings.Repeat(mask, 3) + c.Email[at:]
		}
	case FieldAddress:
		if c.Address != nil {
			a := *c.Address
			a.Line1, a.Line2, a.PostalCode = maskAll(a.Line1), maskAll(a.Line2), maskAll(a.PostalCode)
			c.Address = &a
		}
	case FieldBilling:
		c.Billing = nil
	}
}

// maskTail keeps the last n characters: "••••••••4258".
func maskTail(s string, n int) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return strings.Repeat(mask, len(r))
	}
	return strings.Repeat(mask, 8) + string(r[len(r)-n:])
}

func maskAll(s string) string {
	if s == "" {
		return ""
	}
	return strings.Repeat(mask, 4)
}

// checkMasked refuses a write that carries a masked value.
func checkMasked(next CustomerInput) error {
	var masked Invalid
	for field, val := range map[string]string{FieldPhone: next.Phone, FieldEmail: next.Email, FieldNationalID: next.NationalID, FieldName: next.Name} {
		if strings.Contains(val, mask) {
			masked.Add(field, "masked_value", "holds a masked value; send the real value or leave the field out")
		}
	}
	if next.Address != nil && strings.Contains(next.Address.Line1+next.Address.Line2+next.Address.PostalCode, mask) {
		masked.Add(FieldAddress, "masked_value", "holds a masked value; send the real value or leave the field out")
	}
	return masked.Err()
}

// CheckWritable refuses a write that names a field the actor may not
// write, whatever value it gives: were an unchanged value allowed, writing
// a hidden field's true value would succeed and a wrong one fail, and the
// answer would reveal the value. Every such field is named.
func CheckWritable(actor Actor, fields []string) error {
	var denied []FieldError
	for _, field := range fields {
		if _, known := fieldAccess[field]; known && !canWrite(actor.Roles, field) {
			denied = append(denied, FieldError{Field: field, Code: "forbidden", Message: "your role may not write this field"})
		}
	}
	if len(denied) > 0 {
		slices.SortFunc(denied, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return &Error{Code: EFORBIDDEN, Message: "your role may not write some of these fields", Fields: denied}
	}
	return nil
}

// checkAllowed refuses a write that changes a field the actor may not
// write, naming every such field.
func checkAllowed(actor Actor, prev, next CustomerInput) error {
	var denied []FieldError
	for _, field := range changedFields(prev, next) {
		if !canWrite(actor.Roles, field) {
			denied = append(denied, FieldError{Field: field, Code: "forbidden", Message: "your role may not write this field"})
		}
	}
	if len(denied) > 0 {
		slices.SortFunc(denied, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return &Error{Code: EFORBIDDEN, Message: "your role may not write some of these fields", Fields: denied}
	}
	return nil
}

// changedFields names the writable fields that differ between a and b.
func changedFields(a, b CustomerInput) []string {
	var out []string
	for _, f := range inputFields {
		if !f.same(&a, &b) {
			out = append(out, f.name)
		}
	}
	return out
}

// inputField is one writable field of a CustomerInput: the one place that
// tells whether it is empty, compares it and copies it, for the rules that
// go field by field (what a write changed, what a merge takes, what its
// undo puts back).
type inputField struct {
	name  string
	empty func(in *CustomerInput) bool
	same  func(a, b *CustomerInput) bool
	copy  func(dst, src *CustomerInput)
}

// inputFields lists every writable field, in the order changes are named.
var inputFields = []inputField{
	valueField(FieldName, func(in *CustomerInput) *string { return &in.Name }),
	valueField(FieldPhone, func(in *CustomerInput) *string { return &in.Phone }),
	valueField(FieldEmail, func(in *CustomerInput) *string { return &in.Email }),
	pointerField(FieldAddress, func(in *CustomerInput) **Address { return &in.Address }),
	valueField(FieldCompany, func(in *CustomerInput) *string { return &in.Company }),
	valueField(FieldSegment, func(in *CustomerInput) *string { return &in.Segment }),
	{name: FieldTags,
		empty: func(in *CustomerInput) bool { return len(in.Tags) == 0 },
		same:  func(a, b *CustomerInput) bool { return slices.Equal(a.Tags, b.Tags) },
		copy:  func(dst, src *CustomerInput) { dst.Tags = src.Tags }},
	valueField(FieldNationalID, func(in *CustomerInput) *string { return &in.NationalID }),
	pointerField(FieldBilling, func(in *CustomerInput) **Billing { return &in.Billing }),
	valueField(FieldOwnerID, func(in *CustomerInput) *string { return &in.OwnerID }),
	pointerField(FieldConsent, func(in *CustomerInput) **Consent { return &in.Consent }),
	valueField(FieldLanguage, func(in *CustomerInput) *string { return &in.Language }),
}

// inputFieldNamed returns the writable field called name.
func inputFieldNamed(name string) (inputField, bool) {
	i := slices.IndexFunc(inputFields, func(f inputField) bool { return f.name == name })
	if i < 0 {
		return inputField{}, false
	}
	return inputFields[i], true
}

// valueField is a field held by value, empty at its zero value.
func valueField[T comparable](name string, at func(*CustomerInput) *T) inputField {
	var zero T
	return inputField{name: name,
		empty: func(in *CustomerInput) bool { return *at(in) == zero },
		same:  func(a, b *CustomerInput) bool { return *at(a) == *at(b) },
		copy:  func(dst, src *CustomerInput) { *at(dst) = *at(src) }}
}

// pointerField is a field held by pointer, empty when nil; a nil and a
// zero value compare the same.
func pointerField[T comparable](name string, at func(*CustomerInput) **T) inputField {
	return inputField{name: name,
		empty: func(in *CustomerInput) bool { return *at(in) == nil },
		same:  func(a, b *CustomerInput) bool { return equalPtr(*at(a), *at(b)) },
		copy:  func(dst, src *CustomerInput) { *at(dst) = *at(src) }}
}

func equalPtr[T comparable](a, b *T) bool {
	var zero T
	av, bv := zero, zero
	if a != nil {
		av = *a
	}
	if b != nil {
		bv = *b
	}
	return av == bv
}
