package crm

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Kinds of operation that may need a second person's approval.
const (
	// ApprovalBilling is a customer edit that changes billing; the whole
	// edit waits.
	ApprovalBilling = "billing"
	// ApprovalErase is an erasure.
	ApprovalErase = "erase"
	// ApprovalMerge is a merge that changes the survivor's billing.
	ApprovalMerge = "merge"
)

// Approval statuses. Every status but pending is final.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
	// ApprovalStale closes a request whose customer changed since it was
	// made: what was asked for is no longer what would be applied.
	ApprovalStale   = "stale"
	ApprovalExpired = "expired"
)

// ApprovalStatuses lists every status, for validating a filter.
var ApprovalStatuses = []string{ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalStale, ApprovalExpired}

// DefaultFourEyesTTL is how long a request waits for a decision.
const DefaultFourEyesTTL = 7 * 24 * time.Hour

// Approval is a change that waits for a second person. Fields names what
// it would change; Payload, which may hold personal data, is what the
// operation needs to be applied: the store seals it, and drops it once the
// request is decided.
type Approval struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	CustomerID  string    `json:"customerId"`
	Status      string    `json:"status"`
	Fields      []string  `json:"fields"`
	RequestedBy string    `json:"requestedBy"`
	RequestedAt time.Time `json:"requestedAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	DecidedBy   string    `json:"decidedBy,omitempty"`
	DecidedAt   time.Time `json:"decidedAt,omitzero"`
	// Version is the customer's version the request was made against.
	Version int64  `json:"customerVersion"`
	Payload []byte `json:"-"`
}

// ApprovalStore keeps approval requests.
type ApprovalStore interface {
	// CreateApproval stores a pending request, recording a.
	CreateApproval(ctx context.Context, ap Approval, a Audit) error
	// GetApproval returns ENOTFOUND for an unknown id.
	GetApproval(ctx context.Context, id string) (Approval, error)
	// ListApprovals returns one page of the requests with status, oldest
	// first, and the next page's cursor ("" on the last).
	ListApprovals(ctx context.Context, status string, p Page) ([]Approval, string, error)
	// CloseApproval records a decision that applies nothing (rejected,
	// stale, expired) and drops the payload. Returns ECONFLICT when the
	// request was decided meanwhile.
	CloseApproval(ctx context.Context, ap Approval, a Audit) error
	// ApproveUpdate replaces prev with next and closes ap as approved in
	// one transaction. Returns EPRECONDITION when the customer moved,
	// ECONFLICT when the request was decided meanwhile or next duplicates
	// another customer.
	ApproveUpdate(ctx context.Context, ap Approval, prev, next Customer, a Audit) error
	// ApproveErase erases the customer at ap.Version and closes ap as
	// approved in one transaction, then destroys the rest of its personal
	// data as EraseCustomer does. Returns EPRECONDITION when the customer
	// moved, ECONFLICT when the request was decided meanwhile.
	ApproveErase(ctx context.Context, ap Approval, a Audit) error
}

// FourEyes says which operations need a second person's approval.
type FourEyes struct {
	// Kinds lists the operation kinds that wait; none turns approval off.
	Kinds []string
	// TTL is how long a request waits (DefaultFourEyesTTL when zero).
	TTL time.Duration
}

// Requires reports whether kind needs approval.
func (f FourEyes) Requires(kind string) bool { return slices.Contains(f.Kinds, kind) }

// ParseFourEyes reads a comma list of kinds; "" turns approval off.
func ParseFourEyes(s string) ([]string, error) {
	kinds := []string{}
	for k := range strings.SplitSeq(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if !slices.Contains([]string{ApprovalBilling, ApprovalErase, ApprovalMerge}, k) {
			return nil, Errorf(EINVALID, "unknown four-eyes kind %q", k)
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// MayDecide reports whether actor's roles may approve or reject a request
// of kind: admin or finance for billing, admin for anything else.
func MayDecide(actor Actor, kind string) bool {
	if kind == ApprovalBilling || kind == ApprovalMerge {
		return actor.HasAny(RoleAdmin, RoleFinance)
	}
	return actor.Has(RoleAdmin)
}

// FileApproval files a pending request, by actor, for an operation of kind
// on the customer at version: fields name what it would change, payload is
// whatever the operation needs to be applied on approval (sealed at rest,
// dropped once decided). The request is recorded in the audit trail with
// the field names only. The operation itself must not be applied: it is
// applied by whoever approves, through the ApprovalStore, in one
// transaction with closing the request.
func (s *Customers) FileApproval(ctx context.Context, actor Actor, kind, customerID string, version int64, fields []string, payload []byte) (Approval, error) {
	if s.Approvals == nil {
		return Approval{}, Errorf(EINTERNAL, "no approval store")
	}
	ttl := s.FourEyes.TTL
	if ttl <= 0 {
		ttl = DefaultFourEyesTTL
	}
	now := s.now()
	ap := Approval{ID: s.NewID("ap"), Kind: kind, CustomerID: customerID, Status: ApprovalPending, Fields: fields,
		RequestedBy: actor.ID, RequestedAt: now, ExpiresAt: now.Add(ttl), Version: version, Payload: payload}
	if ap.Fields == nil {
		ap.Fields = []string{}
	}
	a := NewAudit(ctx, actor, "approval.requested", "approval", ap.ID, fields...)
	if err := s.Approvals.CreateApproval(ctx, ap, a); err != nil {
		return Approval{}, err
	}
	return ap, nil
}

// FourEyesActor closes the requests that expire.
var FourEyesActor = Actor{ID: "system:four-eyes", Roles: []Role{"system"}}

// ApprovalResult is what an approval applied: the customer as updated, or
// Erased.
type ApprovalResult struct {
	Customer Customer
	Erased   bool
	// MergeID is set when the approval applied a merge.
	MergeID string
}

// Applier applies an approved request of one kind: it commits the
// operation together with closing decided (the store's own transaction),
// and returns EPRECONDITION when what the request was made against moved
// (the request is then closed as stale), ECONFLICT when it was decided
// meanwhile.
type Applier func(ctx context.Context, approver Actor, decided Approval) (ApprovalResult, error)

// Approvals lets a second person decide pending requests.
type Approvals struct {
	Customers *Customers
	// Appliers apply the kinds of request that other services file
	// (a merge); billing edits and erasures are applied here.
	Appliers map[string]Applier
}

// List returns one page of the requests with status that actor may decide,
// closing, as it meets them, pending ones that expired.
func (s *Approvals) List(ctx context.Context, actor Actor, status string, p Page) ([]Approval, string, error) {
	if !slices.Contains(ApprovalStatuses, status) {
		return nil, "", Invalid{{Field: "status", Code: "enum", Message: "must be one of " + strings.Join(ApprovalStatuses, ", ")}}.Err()
	}
	aps, next, err := s.Customers.Approvals.ListApprovals(ctx, status, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]Approval, 0, len(aps))
	for _, ap := range aps {
		if !MayDecide(actor, ap.Kind) {
			continue
		}
		if s.expire(ctx, &ap) {
			if status == ApprovalPending {
				continue
			}
		}
		out = append(out, ap)
	}
	return out, next, nil
}

// expire closes ap as expired if it is pending past its time, and reports
// whether it did. A failure to close it leaves it pending for the next
// reader; it is treated as expired all the same.
func (s *Approvals) expire(ctx context.Context, ap *Approval) bool {
	now := s.Customers.now()
	if ap.Status != ApprovalPending || now.Before(ap.ExpiresAt) {
		return false
	}
	closed := *ap
	closed.Status, closed.DecidedAt, closed.Payload = ApprovalExpired, now, nil
	err := s.Customers.Approvals.CloseApproval(ctx, closed, NewAudit(ctx, FourEyesActor, "approval.expired", "approval", ap.ID, ap.Fields...))
	if err != nil && s.Customers.Dropped != nil {
		s.Customers.Dropped(ctx, "approval expiry", err)
	}
	if err == nil {
		*ap = closed
	}
	return true
}

// decidable returns the pending request id that actor may decide, or why
// not: ENOTFOUND, ECONFLICT when it is decided (or expired, which closes
// it), EFORBIDDEN for a role that may not decide its kind.
func (s *Approvals) decidable(ctx context.Context, actor Actor, id string) (Approval, error) {
	ap, err := s.Customers.Approvals.GetApproval(ctx, id)
	if err != nil {
		return Approval{}, err
	}
	if !MayDecide(actor, ap.Kind) {
		return Approval{}, Errorf(EFORBIDDEN, "your role may not decide a %s request", ap.Kind)
	}
	if ap.Status != ApprovalPending {
		return Approval{}, Errorf(ECONFLICT, "approval %s is already %s", id, ap.Status)
	}
	if s.expire(ctx, &ap) {
		return Approval{}, Errorf(ECONFLICT, "approval %s expired", id)
	}
	return ap, nil
}

// Approve applies a pending request as the actor, who must not be its
// requester, and closes it. When the customer changed since the request,
// nothing is applied, the request is closed as stale and ECONFLICT
// returned: the requester files again.
func (s *Approvals) Approve(ctx context.Context, actor Actor, id string) (ApprovalResult, error) {
	ap, err := s.decidable(ctx, actor, id)
	if err != nil {
		return ApprovalResult{}, err
	}
	if ap.RequestedBy == actor.ID {
		return ApprovalResult{}, Errorf(EFORBIDDEN, "a request must be approved by someone other than its requester")
	}
	now := s.Customers.now()
	decided := ap
	decided.Status, decided.DecidedBy, decided.DecidedAt, decided.Payload = ApprovalApproved, actor.ID, now, nil
	prev, err := s.Customers.Store.GetCustomer(ctx, ap.CustomerID)
	switch {
	case ErrorCode(err) == ENOTFOUND || ErrorCode(err) == EGONE || (err == nil && prev.Version != ap.Version):
		return ApprovalResult{}, s.stale(ctx, actor, ap)
	case err != nil:
		return ApprovalResult{}, err
	}
	switch ap.Kind {
	case ApprovalBilling:
		var in CustomerInput
		if err := json.Unmarshal(ap.Payload, &in); err != nil {
			return ApprovalResult{}, Errorf(EINTERNAL, "approval %s has an unreadable payload", id)
		}
		next := prev
		next.apply(in, now)
		next.Version = prev.Version + 1
		next.ReviewDueAt = s.Customers.Policy.ReviewDue(next)
		next.ConsentChanges = consentChanges(prev.Consent, next.Consent, false, now, ConsentByStaff, ap.RequestedBy)
		a := NewAudit(ctx, actor, "approval.approved", "customer", ap.CustomerID, changedFields(prev.Input(), in)...)
		err = s.Customers.Approvals.ApproveUpdate(ctx, decided, prev, next, a)
		if ErrorCode(err) == EPRECONDITION {
			return ApprovalResult{}, s.stale(ctx, actor, ap)
		}
		if err != nil {
			return ApprovalResult{}, s.Customers.refusedDuplicate(ctx, actor, err, a)
		}
		return ApprovalResult{Customer: next}, nil
	case ApprovalErase:
		err = s.Customers.Approvals.ApproveErase(ctx, decided, NewAudit(ctx, actor, "approval.approved", "customer", ap.CustomerID, customerFields...))
		if ErrorCode(err) == EPRECONDITION {
			return ApprovalResult{}, s.stale(ctx, actor, ap)
		}
		if err != nil {
			return ApprovalResult{}, err
		}
		return ApprovalResult{Erased: true}, nil
	}
	apply, ok := s.Appliers[ap.Kind]
	if !ok {
		return ApprovalResult{}, Errorf(EINTERNAL, "no applier for requests of kind %s", ap.Kind)
	}
	// The applier needs what was asked for; it closes the request
	// without it.
	withPayload := decided
	withPayload.Payload = ap.Payload
	res, err := apply(ctx, actor, withPayload)
	if ErrorCode(err) == EPRECONDITION {
		return ApprovalResult{}, s.stale(ctx, actor, ap)
	}
	return res, err
}

// stale closes ap as stale and returns the conflict the approver sees.
func (s *Approvals) stale(ctx context.Context, actor Actor, ap Approval) error {
	closed := ap
	closed.Status, closed.DecidedBy, closed.DecidedAt, closed.Payload = ApprovalStale, actor.ID, s.Customers.now(), nil
	if err := s.Customers.Approvals.CloseApproval(ctx, closed, NewAudit(ctx, actor, "approval.stale", "approval", ap.ID, ap.Fields...)); err != nil {
		return err
	}
	return Errorf(ECONFLICT, "the customer changed since approval %s was requested; it is closed as stale", ap.ID)
}

// Reject closes a pending request without applying it. Its requester may
// reject it too, which withdraws it.
func (s *Approvals) Reject(ctx context.Context, actor Actor, id string) (Approval, error) {
	ap, err := s.decidable(ctx, actor, id)
	if err != nil {
		return Approval{}, err
	}
	ap.Status, ap.DecidedBy, ap.DecidedAt, ap.Payload = ApprovalRejected, actor.ID, s.Customers.now(), nil
	if err := s.Customers.Approvals.CloseApproval(ctx, ap, NewAudit(ctx, actor, "approval.rejected", "approval", ap.ID, ap.Fields...)); err != nil {
		return Approval{}, err
	}
	return ap, nil
}
