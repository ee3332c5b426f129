package crm

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Address is a structured postal address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Billing holds the details only finance and admins may see.
type Billing struct {
	BankAccount string `json:"bankAccount,omitempty"`
	TaxID       string `json:"taxId,omitempty"`
}

// Consent records what the customer agreed to be contacted about.
type Consent struct {
	Reminders bool `json:"reminders"`
	Marketing bool `json:"marketing"`
}

// Customer is one customer record, standardized.
type Customer struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Phone      string   `json:"phone,omitempty"`
	Email      string   `json:"email,omitempty"`
	Address    *Address `json:"address,omitempty"`
	Company    string   `json:"company,omitempty"`
	Segment    string   `json:"segment,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	NationalID string   `json:"nationalId,omitempty"`
	Billing    *Billing `json:"billing,omitempty"`
	OwnerID    string   `json:"ownerId"`
	Consent    Consent  `json:"consent"`
	// Language is what anything sent to the customer is written in
	// (BCP 47); "" means the configured default.
	Language    string    `json:"language,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	VerifiedAt  time.Time `json:"verifiedAt,omitzero"`
	ReviewDueAt time.Time `json:"reviewDueAt"`
	Version     int64     `json:"version"`
	// Lost is set while the customer is marked lost (see Lost).
	Lost *Lost `json:"lost,omitempty"`
	// Suspect lists the reason codes of values that pass validation but
	// look like placeholders or junk, decided when the record is written
	// (SuspectReasons); it holds no personal data.
	Suspect []string `json:"suspect,omitempty"`
	// Unreadable marks, in a list, a customer whose sealed fields failed
	// their integrity check: it is shown without them, so that one bad item
	// does not take the whole list down; reading it alone fails closed.
	Unreadable bool `json:"unreadable,omitempty"`
	// CreatedBy is the staff member who created the record.
	CreatedBy string `json:"-"`
	// ConsentChanges are the consent records a write appends, stored in
	// the same transaction as the customer: set by the service on the
	// customer it writes, empty on a customer read.
	ConsentChanges []ConsentRecord `json:"-"`
	// Stored is the store's own note of the record as it read it: what it
	// needs back to replace that very version without reading it again.
	// Only the store sets and reads it, and only for the version it was
	// read at; a copy carried to another version is ignored.
	Stored any `json:"-"`
}

// CustomerInput is what a client may write: every writable field of a
// customer, as decoded from a create request or a merged patch.
type CustomerInput struct {
	Name       string   `json:"name"`
	Phone      string   `json:"phone"`
	Email      string   `json:"email"`
	Address    *Address `json:"address"`
	Company    string   `json:"company"`
	Segment    string   `json:"segment"`
	Tags       []string `json:"tags"`
	NationalID string   `json:"nationalId"`
	Billing    *Billing `json:"billing"`
	OwnerID    string   `json:"ownerId"`
	Consent    *Consent `json:"consent"`
	Language   string   `json:"language"`
}

// Input returns the writable part of c, the document a merge patch applies to.
func (c Customer) Input() CustomerInput {
	consent := c.Consent
	return CustomerInput{
		Name: c.Name, Phone: c.Phone, Email: c.Email, Address: c.Address,
		Company: c.Company, Segment: c.Segment, Tags: c.Tags, NationalID: c.NationalID,
		Billing: c.Billing, OwnerID: c.OwnerID, Consent: &consent, Language: c.Language,
	}
}

// CustomerFilter selects customers in a list. Empty fields do not filter.
type CustomerFilter struct {
	OwnerID string
	Segment string
	Tag     string
	Phone   string // normalized E.164
	Email   string // normalized
	Stale   bool   // review is due at or before AsOf
	// Suspect lists only customers with suspect values.
	Suspect bool
	// Query is a case-insensitive prefix of the name or the company,
	// normalized by SearchKey.
	Query string
	AsOf  time.Time
}

// Match reports whether c passes every set filter.
func (f CustomerFilter) Match(c Customer) bool {
	switch {
	case f.OwnerID != "" && c.OwnerID != f.OwnerID,
		f.Segment != "" && c.Segment != f.Segment,
		f.Tag != "" && !slices.Contains(c.Tags, f.Tag),
		f.Phone != "" && c.Phone != f.Phone,
		f.Email != "" && c.Email != f.Email,
		f.Stale && c.ReviewDueAt.After(f.AsOf),
		f.Suspect && len(c.Suspect) == 0,
		f.Query != "" && !strings.HasPrefix(SearchKey(c.Name), f.Query) && !strings.HasPrefix(SearchKey(c.Company), f.Query):
		return false
	}
	return true
}

// Page asks for one page of a list.
type Page struct {
	Limit  int
	Cursor string
}

// CustomerStore persists customers. Implementations seal sensitive fields and
// keep the uniqueness claims on phone, email and national ID.
type CustomerStore interface {
	// CreateCustomer stores a new customer and claims its phone, email and
	// national ID. Returns ECONFLICT with DuplicateOf set when another customer
	// holds one of them, unless allowDuplicate; EPRECONDITION when a
	// customer with c's ID exists.
	CreateCustomer(ctx context.Context, c Customer, allowDuplicate bool, a Audit) error
	// GetCustomer returns ENOTFOUND if the customer does not exist, EGONE if
	// it was erased; with EGONE, the customer's ID and OwnerID (where the
	// store kept it) are set and nothing else.
	GetCustomer(ctx context.Context, id string) (Customer, error)
	// UpdateCustomer replaces prev with next when the stored version is still
	// prev.Version. Returns EPRECONDITION when it is not, ENOTFOUND when the
	// customer is gone and ECONFLICT (with DuplicateOf) when next claims a
	// phone, email or national ID another customer holds.
	UpdateCustomer(ctx context.Context, prev, next Customer, a Audit) error
	// ListCustomers returns one page of customers matching f, newest first, and
	// the cursor of the next page ("" on the last). Returns EINVALID for a
	// cursor it did not issue for the same filter.
	ListCustomers(ctx context.Context, f CustomerFilter, p Page) ([]Customer, string, error)
	// AddInteraction stores an interaction of an existing customer.
	AddInteraction(ctx context.Context, in Interaction, a Audit) error
	// EraseCustomer replaces the customer with a tombstone and destroys its
	// personal data everywhere: blind indexes, interactions, complaint text,
	// saved responses. Erasing an erased customer finishes what a failed
	// erasure left. Returns ENOTFOUND if it never existed.
	EraseCustomer(ctx context.Context, id string, a Audit) error
	// ListInteractions returns one page of a customer's interactions, newest first.
	ListInteractions(ctx context.Context, customerID string, p Page) ([]Interaction, string, error)
}

// Every writable field of a customer, in the order changedFields reports them.
var customerFields = []string{FieldName, FieldPhone, FieldEmail, FieldAddress, FieldCompany, FieldSegment, FieldTags, FieldNationalID, FieldBilling, FieldOwnerID, FieldConsent, FieldLanguage}
