package crm

import (
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Field names of the required-field policy.
const (
	FieldName       = "name"
	FieldPhone      = "phone"
	FieldEmail      = "email"
	FieldAddress    = "address"
	FieldCompany    = "company"
	FieldSegment    = "segment"
	FieldNationalID = "nationalId"
	FieldBilling    = "billing"
)

// PolicyFields lists the fields a required-field policy may name.
var PolicyFields = []string{FieldName, FieldPhone, FieldEmail, FieldAddress, FieldCompany, FieldSegment, FieldNationalID, FieldBilling}

// Policy is the configurable part of how customer data is standardized and
// judged.
type Policy struct {
	// PhoneRegion is the ISO 3166-1 region assumed for phone numbers written
	// without a country code.
	PhoneRegion string
	// ParsePhone normalizes a phone number to E.164 or returns an error.
	ParsePhone func(raw, region string) (string, error)
	// Required lists the fields a complete record has. A record may be stored
	// without them; completeness and missingFields report the gap.
	Required []string
	// ReviewPeriod is how long after its last update or verification a record
	// falls due for review.
	ReviewPeriod time.Duration
	// SegmentReviewPeriods overrides ReviewPeriod for customers of a
	// segment.
	SegmentReviewPeriods map[string]time.Duration
	// CanonicalLanguage returns the canonical form of a BCP 47 language
	// tag and false for anything else; without it, tags are checked by
	// form only (CanonicalLanguageForm).
	CanonicalLanguage func(tag string) (string, bool)
	// DisposableDomain reports whether an email domain belongs to a
	// disposable mail service (disposable.Listed). Every process that
	// writes customer records sets it; without it no email is judged
	// disposable.
	DisposableDomain func(domain string) bool
}

// CanonicalE164 accepts a phone number only in the canonical E.164 form that
// a full parser writes ("+" and 7 to 15 digits, no leading zero) and
// returns it unchanged. It checks a stored number's form without carrying
// the numbering plan's metadata, so a process that only re-reads stored
// numbers (reports, reminders) need not link a phone-number library. It
// refuses what people type ("0755 1234", "+86 138…"): parsing input is
// for a full parser.
func CanonicalE164(raw, _ string) (string, error) {
	if len(raw) < 8 || len(raw) > 16 || raw[0] != '+' || raw[1] == '0' {
		return "", errNotCanonical
	}
	for _, r := range raw[1:] {
		if r < '0' || r > '9' {
			return "", errNotCanonical
		}
	}
	return raw, nil
}

var errNotCanonical = errors.New("not a canonical E.164 number")

// DefaultPolicy returns the policy used when configuration says nothing.
func DefaultPolicy(parsePhone func(raw, region string) (string, error)) Policy {
	return Policy{
		PhoneRegion:  "CN",
		ParsePhone:   parsePhone,
		Required:     []string{FieldName, FieldPhone, FieldEmail, FieldAddress},
		ReviewPeriod: 180 * 24 * time.Hour,
	}
}

// Limits on field lengths, in characters.
const (
	maxName    = 200
	maxLine    = 200
	maxShort   = 100
	maxTags    = 20
	maxTag     = 40
	maxEmail   = 254
	maxOwnerID = 128
)

var (
	countryRe    = regexp.MustCompile(`^[A-Z]{2}$`)
	nationalIDRe = regexp.MustCompile(`^[A-Z0-9]{4,32}$`)
	accountRe    = regexp.MustCompile(`^[A-Z0-9]{4,34}$`)
	taxIDRe      = regexp.MustCompile(`^[A-Z0-9./-]{2,32}$`)
	tagRe        = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} _.-]*$`)
)

// Standardize validates in and returns it in standard form: names trimmed
// with inner whitespace collapsed and case-normalized, phone in E.164, email
// lower-cased, address parts trimmed and the country upper-cased, tags
// lower-cased, sorted and unique. The error names every invalid field and
// never repeats a value.
func (p Policy) Standardize(in CustomerInput) (CustomerInput, error) {
	var v Invalid
	out := in
	out.Name = normalizeName(in.Name)
	switch n := len([]rune(out.Name)); {
	case n == 0:
		v.Add("name", "required", "is required")
	case n > maxName:
		v.Add("name", "too_long", "must be at most 200 characters")
	}
	out.Phone, out.Email = p.standardizeContact(&v, in.Phone, in.Email)
	if in.Address != nil {
		out.Address = standardizeAddress(&v, *in.Address)
	}
	out.Company, out.Segment, out.Tags = standardizeDescription(&v, in)
	out.NationalID, out.Billing = standardizeIDs(&v, in)
	out.OwnerID = trimSpace(in.OwnerID)
	if len(out.OwnerID) > maxOwnerID {
		v.Add("ownerId", "too_long", "must be at most 128 characters")
	}
	if out.Consent == nil {
		out.Consent = &Consent{}
	}
	out.Language = p.standardizeLanguage(&v, in.Language)
	return out, v.Err()
}

// standardizeContact returns the phone in E.164 and the email lower-cased,
// and requires one of them.
func (p Policy) standardizeContact(v *Invalid, rawPhone, rawEmail string) (phone, email string) {
	phone = trimSpace(rawPhone)
	if phone != "" {
		e164, err := p.ParsePhone(phone, p.PhoneRegion)
		if err != nil {
			v.Add("phone", "invalid_phone", "is not a valid phone number for region "+p.PhoneRegion+" or in international form")
		}
		phone = e164
	}
	email = strings.ToLower(trimSpace(rawEmail))
	if email != "" && !validEmail(email) {
		v.Add("email", "invalid_email", "is not a valid email address")
	}
	if phone == "" && email == "" && trimSpace(rawPhone) == "" {
		v.Add("phone", "contact_required", "a phone or an email is required")
		v.Add("email", "contact_required", "a phone or an email is required")
	}
	return phone, email
}

// standardizeAddress returns the address with its parts trimmed, or nil
// for an address with nothing in it.
func standardizeAddress(v *Invalid, in Address) *Address {
	a := Address{
		Line1: collapse(in.Line1), Line2: collapse(in.Line2),
		City: collapse(in.City), Region: collapse(in.Region),
		PostalCode: strings.ToUpper(collapse(in.PostalCode)),
		Country:    strings.ToUpper(trimSpace(in.Country)),
	}
	for _, f := range []struct{ name, val string }{
		{"address.line1", a.Line1}, {"address.line2", a.Line2}, {"address.city", a.City},
		{"address.region", a.Region}, {"address.postalCode", a.PostalCode},
	} {
		if len([]rune(f.val)) > maxLine {
			v.Add(f.name, "too_long", "must be at most 200 characters")
		}
	}
	if a.Country != "" && !countryRe.MatchString(a.Country) {
		v.Add("address.country", "invalid_country", "must be an ISO 3166-1 alpha-2 code")
	}
	if a == (Address{}) {
		return nil
	}
	if a.Line1 == "" {
		v.Add("address.line1", "required", "is required in an address")
	}
	if a.Country == "" {
		v.Add("address.country", "required", "is required in an address")
	}
	return &a
}

// standardizeDescription returns the company, the segment and the tags:
// lower-cased, sorted and unique.
func standardizeDescription(v *Invalid, in CustomerInput) (company, segment string, tags []string) {
	company = collapse(in.Company)
	if len([]rune(company)) > maxLine {
		v.Add("company", "too_long", "must be at most 200 characters")
	}
	segment = strings.ToLower(collapse(in.Segment))
	if len([]rune(segment)) > maxShort {
		v.Add("segment", "too_long", "must be at most 100 characters")
	}
	for _, t := range in.Tags {
		t = strings.ToLower(collapse(t))
		if t == "" || len([]rune(t)) > maxTag || !tagRe.MatchString(t) {
			v.Add("tags", "invalid_tag", "each tag must be 1 to 40 letters, digits, spaces, '.', '_' or '-'")
			break
		}
		tags = append(tags, t)
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(tags) > maxTags {
		v.Add("tags", "too_many", "at most 20 tags")
	}
	return company, segment, tags
}

// standardizeIDs returns the national ID and the billing details compacted,
// billing nil when it holds nothing.
func standardizeIDs(v *Invalid, in CustomerInput) (string, *Billing) {
	id := compactID(in.NationalID)
	if id != "" && !nationalIDRe.MatchString(id) {
		v.Add("nationalId", "invalid_national_id", "must be 4 to 32 letters or digits")
	}
	if in.Billing == nil {
		return id, nil
	}
	b := Billing{BankAccount: compactID(in.Billing.BankAccount), TaxID: strings.ToUpper(strings.ReplaceAll(trimSpace(in.Billing.TaxID), " ", ""))}
	if b.BankAccount != "" && !accountRe.MatchString(b.BankAccount) {
		v.Add("billing.bankAccount", "invalid_bank_account", "must be 4 to 34 letters or digits")
	}
	if b.TaxID != "" && !taxIDRe.MatchString(b.TaxID) {
		v.Add("billing.taxId", "invalid_tax_id", "must be 2 to 32 letters, digits, '.', '/' or '-'")
	}
	if b == (Billing{}) {
		return id, nil
	}
	return id, &b
}

// Completeness returns the share of the policy's required fields c has, and
// the names of those it lacks.
func (p Policy) Completeness(c Customer) (float64, []string) {
	missing := []string{}
	if len(p.Required) == 0 {
		return 1, missing
	}
	for _, f := range p.Required {
		if !c.has(f) {
			missing = append(missing, f)
		}
	}
	return float64(len(p.Required)-len(missing)) / float64(len(p.Required)), missing
}

// CompletenessFor is Completeness as roles may see it: fields hidden from
// them neither count nor are named missing, so neither the rate nor the
// list tells whether a hidden field (billing, say) is filled in.
func (p Policy) CompletenessFor(roles []Role, c Customer) (float64, []string) {
	var visible []string
	for _, f := range p.Required {
		if _, policed := fieldAccess[f]; !policed || accessFor(roles, f) != hidden {
			visible = append(visible, f)
		}
	}
	p.Required = visible
	return p.Completeness(c)
}

// ReviewDue returns when c falls due for review: the review period after its
// last update or verification, whichever is later.
func (p Policy) ReviewDue(c Customer) time.Time {
	last := c.UpdatedAt
	if c.VerifiedAt.After(last) {
		last = c.VerifiedAt
	}
	if d, ok := p.SegmentReviewPeriods[c.Segment]; ok && c.Segment != "" {
		return last.Add(d)
	}
	return last.Add(p.ReviewPeriod)
}

func (c Customer) has(field string) bool {
	switch field {
	case FieldName:
		return c.Name != ""
	case FieldPhone:
		return c.Phone != ""
	case FieldEmail:
		return c.Email != ""
	case FieldAddress:
		return c.Address != nil && c.Address.Line1 != "" && c.Address.Country != ""
	case FieldCompany:
		return c.Company != ""
	case FieldSegment:
		return c.Segment != ""
	case FieldNationalID:
		return c.NationalID != ""
	case FieldBilling:
		return c.Billing != nil && *c.Billing != (Billing{})
	}
	return false
}

func trimSpace(s string) string { return strings.TrimSpace(s) }

// collapse trims s and collapses every run of inner whitespace to one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// compactID drops spaces and dashes and upper-cases an identifier.
func compactID(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(s))
}

// normalizeName collapses whitespace and, when a name is written all in
// capitals or all in lower case, capitalizes each word. Mixed case is kept as
// written: "McDonald" and "van der Berg" are deliberate.
func normalizeName(s string) string {
	s = collapse(s)
	hasUpper, hasLower := false, false
	for _, r := range s {
		hasUpper = hasUpper || unicode.IsUpper(r)
		hasLower = hasLower || unicode.IsLower(r)
	}
	if hasUpper && hasLower {
		return s
	}
	rs := []rune(strings.ToLower(s))
	start := true
	for i, r := range rs {
		if start {
			rs[i] = unicode.ToTitle(r)
		}
		start = r == ' ' || r == '-' || r == '\''
	}
	return string(rs)
}

func validEmail(s string) bool {
	if len(s) > maxEmail || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
