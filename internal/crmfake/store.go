package crmfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

var (
	_ crm.CustomerStore    = (*CustomerStore)(nil)
	_ crm.ComplaintStore   = (*ComplaintStore)(nil)
	_ crm.AuditLog         = (*AuditLog)(nil)
	_ crm.ReminderStore    = (*ReminderStore)(nil)
	_ crm.PortalStore      = (*PortalStore)(nil)
	_ crm.AggregateStore   = (*AggregateStore)(nil)
	_ crm.WriteCounter     = (*AggregateStore)(nil)
	_ crm.IdempotencyStore = (*IdempotencyStore)(nil)
)

// Stores is a fake of each store interface, all sharing one in-memory
// database, so that what one writes the others see: erasing a customer
// scrubs its complaints and revokes its links, filing a complaint needs
// the customer, the aggregates count what is stored.
type Stores struct {
	Customers   *CustomerStore
	Complaints  *ComplaintStore
	Audit       *AuditLog
	Reminders   *ReminderStore
	Portal      *PortalStore
	Aggregates  *AggregateStore
	Idempotency *IdempotencyStore
	// Before, if set, runs before each write with the write's name
	// ("CreateCustomer", "UpdateCustomer", …) and without the lock held,
	// so a test can slip a concurrent change in or fail the write with
	// the error it returns.
	Before func(op string) error

	db *db
}

// CustomerStore is the fake crm.CustomerStore.
type CustomerStore struct{ *db }

// ComplaintStore is the fake crm.ComplaintStore.
type ComplaintStore struct{ *db }

// AuditLog is the fake crm.AuditLog: one hash chain.
type AuditLog struct{ *db }

// ReminderStore is the fake crm.ReminderStore.
type ReminderStore struct{ *db }

// PortalStore is the fake crm.PortalStore.
type PortalStore struct{ *db }

// AggregateStore is the fake crm.AggregateStore and crm.WriteCounter.
type AggregateStore struct{ *db }

// IdempotencyStore is the fake crm.IdempotencyStore.
type IdempotencyStore struct{ *db }

// db is the state every fake shares. Every method takes its one lock, so
// each call is atomic like the transaction it stands for.
type db struct {
	owner *Stores
	// clock is the stores' own: notification leases, audit times.
	clock func() time.Time
	// policy judges customers for the aggregates (CustomerContribution).
	policy crm.Policy

	mu            sync.Mutex
	customers     map[string]*customerRec
	claims        map[string]string // claimKey(field, value) → customer id
	interactions  map[string]*interactionRec
	complaints    map[string]*complaintRec
	notifications map[string]*notificationRec
	counters      map[string]int64
	links         map[string]*linkRec
	rates         map[string]int
	reminders     map[string]crm.Reminder
	idem          map[string]*idemRec
	audit         []crm.AuditEntry
	writes        crm.Counts
	extra         crm.Contribution
}

// New returns empty stores that judge customers by policy and read the
// time from now (time.Now if nil).
func New(policy crm.Policy, now func() time.Time) *Stores {
	if now == nil {
		now = time.Now
	}
	d := &db{
		clock: now, policy: policy,
		customers: map[string]*customerRec{}, claims: map[string]string{}, interactions: map[string]*interactionRec{},
		complaints: map[string]*complaintRec{}, notifications: map[string]*notificationRec{}, counters: map[string]int64{},
		links: map[string]*linkRec{}, rates: map[string]int{}, reminders: map[string]crm.Reminder{},
		idem: map[string]*idemRec{}, writes: crm.Counts{}, extra: crm.Contribution{},
	}
	s := &Stores{Customers: &CustomerStore{d}, Complaints: &ComplaintStore{d}, Audit: &AuditLog{d}, Reminders: &ReminderStore{d},
		Portal: &PortalStore{d}, Aggregates: &AggregateStore{d}, Idempotency: &IdempotencyStore{d}, db: d}
	d.owner = s
	return s
}

func (s *db) now() time.Time { return s.clock().UTC() }

func (s *db) hook(op string) error {
	if s.owner.Before == nil {
		return nil
	}
	return s.owner.Before(op)
}

// sortTime formats t so that strings order as instants do.
func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// appendAudit adds an entry to the hash chain; callers hold the lock.
func (s *db) appendAudit(a crm.Audit) {
	roles := make([]string, len(a.Actor.Roles))
	for i, r := range a.Actor.Roles {
		roles[i] = string(r)
	}
	e := crm.AuditEntry{Seq: int64(len(s.audit) + 1), At: s.now(), Actor: a.Actor.ID, Roles: roles, Action: a.Action,
		EntityType: a.EntityType, EntityID: a.EntityID, ChangedFields: slices.Clone(a.ChangedFields), RequestID: a.RequestID, Outcome: a.Outcome}
	if n := len(s.audit); n > 0 {
		e.PrevHash = s.audit[n-1].Hash
	}
	body, _ := json.Marshal(e)
	sum := sha256.Sum256(body)
	e.Hash = hex.EncodeToString(sum[:])
	s.audit = append(s.audit, e)
}

// keyed is one list entry with the sort key its list orders it by.
type keyed[T any] struct {
	key  string
	item T
}

// page returns one page of items ordered by key, ascending or descending,
// after the position cursor holds. A cursor is bound to the fingerprint of
// the list that issued it; any other is EINVALID, as in the DynamoDB store.
func page[T any](items []keyed[T], ascending bool, p crm.Page, fingerprint string) ([]T, string, error) {
	after, err := openCursor(p.Cursor, fingerprint)
	if err != nil {
		return nil, "", err
	}
	slices.SortFunc(items, func(a, b keyed[T]) int {
		if ascending {
			return strings.Compare(a.key, b.key)
		}
		return strings.Compare(b.key, a.key)
	})
	start := 0
	if after != "" {
		start = len(items)
		for i, it := range items {
			if ascending && it.key > after || !ascending && it.key < after {
				start = i
				break
			}
		}
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	out := []T{}
	for i := start; i < len(items) && len(out) < limit; i++ {
		out = append(out, items[i].item)
	}
	if start+len(out) >= len(items) {
		return out, "", nil
	}
	return out, sealCursor(items[start+len(out)-1].key, fingerprint), nil
}

func sealCursor(after, fingerprint string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fingerprint + "\x00" + after))
}

func openCursor(cursor, fingerprint string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	fp, after, ok := strings.Cut(string(raw), "\x00")
	if err != nil || !ok || fp != fingerprint || after == "" {
		return "", crm.Invalid{{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this list issued"}}.Err()
	}
	return after, nil
}
