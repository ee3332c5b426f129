package crm

import (
	"context"
	"time"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	// OutcomeConflict is a write refused because it duplicates another
	// customer: repeated, it is how a duplicate probe shows.
	OutcomeConflict = "conflict"
	// OutcomeNotFound is a request for an entity that exists but is out of
	// the caller's scope: repeated, it is how an id probe shows.
	OutcomeNotFound = "not_found"
)

// Audit says what a write (or a sensitive read) did, for the audit trail.
// It names fields, never their values.
type Audit struct {
	Actor         Actor
	RequestID     string
	Action        string
	EntityType    string
	EntityID      string
	ChangedFields []string
	Outcome       string
	// Disclosed names the fields that the write's answer showed in full
	// and that the role may see only on record (billing, a full national
	// ID): the write's own entry records the sensitive read it made.
	Disclosed []string
	// Client is, for a customer's own use of a self-service link, a keyed
	// digest of the address it came from: uses from one address can be
	// told apart from others without the address being kept.
	Client string
}

// NewAudit describes a successful action of actor on an entity, taking the
// request id from ctx.
func NewAudit(ctx context.Context, actor Actor, action, entityType, entityID string, fields ...string) Audit {
	if fields == nil {
		fields = []string{}
	}
	return Audit{Actor: actor, RequestID: RequestID(ctx), Action: action, EntityType: entityType, EntityID: entityID, ChangedFields: fields, Outcome: OutcomeSuccess}
}

// AuditEntry is one link of a hash-chained audit log.
type AuditEntry struct {
	// Chain names the entry's chain: "<entityType>/<entityId>" for a write,
	// "request/<random id>" for an entry that wrote nothing else (a
	// sensitive read, an export, a denied attempt). Entries of the earlier
	// 16-shard log have none and name their chain by Shard.
	Chain string `json:"chain,omitempty"`
	Shard int    `json:"shard"`
	// Seq is the entry's position in its chain, from 1.
	Seq           int64     `json:"seq"`
	At            time.Time `json:"at"`
	Actor         string    `json:"actor"`
	Roles         []string  `json:"roles"`
	Action        string    `json:"action"`
	EntityType    string    `json:"entityType"`
	EntityID      string    `json:"entityId"`
	ChangedFields []string  `json:"changedFields"`
	RequestID     string    `json:"requestId"`
	Outcome       string    `json:"outcome"`
	Client        string    `json:"client,omitempty"`
	// Disclosed is Audit.Disclosed. Entries without it hash as they did
	// before it existed.
	Disclosed []string `json:"disclosedFields,omitempty"`
	PrevHash  string   `json:"prevHash"`
	Hash      string   `json:"hash"`
}

// AuditFilter selects audit entries. Empty fields do not filter.
type AuditFilter struct {
	EntityID string
	Actor    string
	From, To time.Time
}

// AuditLog records and reads the audit trail.
type AuditLog interface {
	// AppendAudit records an action that wrote nothing else: a sensitive
	// read, an export, a denied attempt.
	AppendAudit(ctx context.Context, a Audit) error
	// ListAudit returns one page of entries matching f, newest first.
	ListAudit(ctx context.Context, f AuditFilter, p Page) ([]AuditEntry, string, error)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request being served.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id WithRequestID put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
