package crm

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"time"
)

// A merge folds a duplicate customer (from) into another (the survivor):
// the survivor takes the fields prefer names from the merged-away record,
// fills its empty fields from it, and gains its tags; the merged-away id
// becomes a redirect to the survivor, and its children move over. Until
// the undo window closes, a sealed snapshot of both records lets an
// administrator undo the merge.

// DefaultMergeUndoTTL is how long a merge can be undone.
const DefaultMergeUndoTTL = 30 * 24 * time.Hour

// PreferFrom is the one value of a prefer entry: take the field from the
// merged-away record.
const PreferFrom = "from"

// Merge statuses.
const (
	MergeDone   = "merged"
	MergeUndone = "undone"
	// MergePurged is a merge whose snapshot an erasure destroyed.
	MergePurged = "purged"
)

// MergeInput is the body of a merge request.
type MergeInput struct {
	From   string            `json:"from"`
	Prefer map[string]string `json:"prefer"`
}

// Merge is one merge and, while it can be undone, what undoing it needs.
// PrevInto, PrevFrom and NextInto hold personal data: the store seals them
// and drops them when either customer is erased.
type Merge struct {
	ID     string `json:"mergeId"`
	IntoID string `json:"into"`
	FromID string `json:"from"`
	// Touched names the survivor's fields the merge changed.
	Touched []string  `json:"touched"`
	Status  string    `json:"status"`
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	// UndoUntil is when the snapshot expires.
	UndoUntil time.Time `json:"undoUntil"`
	PrevInto  Customer  `json:"-"`
	PrevFrom  Customer  `json:"-"`
	NextInto  Customer  `json:"-"`
	// PrevIntoClaims and PrevFromClaims are the lookup fields whose
	// uniqueness claims each customer held before the merge.
	PrevIntoClaims []string `json:"-"`
	PrevFromClaims []string `json:"-"`
}

// MergeResult is what a merge answers: its id and the survivor.
type MergeResult struct {
	MergeID  string   `json:"mergeId"`
	Customer Customer `json:"customer"`
}

// MergeStore keeps merges.
type MergeStore interface {
	// MergeCustomers commits m in one transaction, recording a: the
	// survivor becomes m.NextInto (at prevInto's version), the merged-away
	// profile a redirect (at prevFrom's version), uniqueness claims move,
	// and the sealed snapshot is stored. decided, when not nil, is an
	// approval closed in the same transaction. Returns EPRECONDITION when
	// either customer moved, ECONFLICT when a claim is taken.
	MergeCustomers(ctx context.Context, m Merge, decided *Approval, a Audit) error
	// MoveMergedChildren re-points the merged-away customer's children
	// to the survivor while it is a redirect of m (of any merge into
	// m.IntoID when m.ID is empty); running it again moves nothing more.
	MoveMergedChildren(ctx context.Context, m Merge) error
	// MoveUnmergedChildren moves back what undone m moved; running it
	// again moves nothing more.
	MoveUnmergedChildren(ctx context.Context, m Merge) error
	// GetMerge returns ENOTFOUND for an unknown id, EGONE for a purged
	// snapshot.
	GetMerge(ctx context.Context, id string) (Merge, error)
	// UndoMerge restores m in one transaction: the survivor becomes next
	// (at cur's version) and the redirect the merged-away customer as it
	// was, claims move back, and m is marked undone; then the children
	// move back. Returns EPRECONDITION when the survivor moved, ECONFLICT
	// when m was undone meanwhile or a claim is taken.
	UndoMerge(ctx context.Context, m Merge, cur, next Customer, a Audit) error
}

// MergeableFields are the fields prefer may name. Tags are not among them:
// a merge always keeps the union.
var MergeableFields = []string{FieldName, FieldPhone, FieldEmail, FieldAddress, FieldCompany, FieldSegment,
	FieldNationalID, FieldBilling, FieldOwnerID, FieldConsent, FieldLanguage}

// ValidatePrefer checks a merge's prefer map, naming every bad entry.
func ValidatePrefer(prefer map[string]string) error {
	var v Invalid
	keys := make([]string, 0, len(prefer))
	for k := range prefer {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case !slices.Contains(MergeableFields, k):
			v.Add("prefer."+k, "unknown", "is not a field a merge can take from the other customer")
		case prefer[k] != PreferFrom:
			v.Add("prefer."+k, "enum", `must be "from"`)
		}
	}
	return v.Err()
}

// MergedInput is the survivor's writable fields after merging from into
// it: a field prefer names comes from from, unless from has none there;
// any other keeps the survivor's value, or takes from's where the
// survivor's is empty; tags are the union, the survivor's first. Consent
// is a choice even when false, so only prefer takes it.
func MergedInput(survivor, from Customer, prefer map[string]string) CustomerInput {
	s, f := survivor.Input(), from.Input()
	out := s
	for _, fl := range inputFields {
		switch {
		case fl.name == FieldTags || fl.empty(&f):
			// Tags are the union, below; an empty field gives nothing.
		case fl.name == FieldConsent:
			if prefer[FieldConsent] == PreferFrom {
				fl.copy(&out, &f)
			}
		case prefer[fl.name] == PreferFrom || fl.empty(&s):
			fl.copy(&out, &f)
		}
	}
	tags := slices.Clone(s.Tags)
	for _, t := range f.Tags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	out.Tags = tags
	return out
}

// MergeTouched names the survivor's fields that merged changes.
func MergeTouched(survivor Customer, merged CustomerInput) []string {
	return changedFields(survivor.Input(), merged)
}

// EditedSince names the fields the merge touched that were edited since:
// those where the survivor now differs from what the merge left.
func EditedSince(m Merge, current Customer) []string {
	var out []string
	for _, f := range changedFields(m.NextInto.Input(), current.Input()) {
		if slices.Contains(m.Touched, f) {
			out = append(out, f)
		}
	}
	return out
}

// Unmerged is the survivor after undoing m: its current record with the
// fields the merge touched set back as they were before it.
func Unmerged(m Merge, current Customer) CustomerInput {
	out, prev := current.Input(), m.PrevInto.Input()
	for _, name := range m.Touched {
		if f, ok := inputFieldNamed(name); ok {
			f.copy(&out, &prev)
		}
	}
	return out
}

// MergeActor moves a merge's children when the stream finishes what a
// request left.
var MergeActor = Actor{ID: "system:merge", Roles: []Role{"system"}}

// Merges merges customers and undoes merges.
type Merges struct {
	Customers *Customers
	Store     MergeStore
	// UndoTTL is how long a merge can be undone (DefaultMergeUndoTTL when
	// zero).
	UndoTTL time.Duration
}

// mergeRequest is an approval's payload: what the requester asked for.
type mergeRequest struct {
	From        string            `json:"from"`
	Prefer      map[string]string `json:"prefer,omitempty"`
	FromVersion int64             `json:"fromVersion"`
}

// Merge merges in.From into the customer intoID, as actor, an admin. A
// merge that would change the survivor's billing, when billing (or merge)
// changes need approval, is filed instead and the approval returned.
// Returns EINVALID naming every bad prefer entry or a missing from,
// ENOTFOUND naming from when it does not exist, ECONFLICT for a merge into
// itself or with a merged-away customer, EGONE for an erased one.
func (s *Merges) Merge(ctx context.Context, actor Actor, intoID string, in MergeInput) (MergeResult, *Approval, error) {
	if !actor.Has(RoleAdmin) {
		return MergeResult{}, nil, Errorf(EFORBIDDEN, "only an admin may merge customers")
	}
	var v Invalid
	if in.From == "" {
		v.Add("from", "required", "names the customer to merge into this one")
	}
	if err := ValidatePrefer(in.Prefer); err != nil {
		v = append(v, err.(*Error).Fields...)
	}
	if err := v.Err(); err != nil {
		return MergeResult{}, nil, err
	}
	if in.From == intoID {
		return MergeResult{}, nil, Errorf(ECONFLICT, "a customer cannot be merged into itself")
	}
	into, from, err := s.pair(ctx, intoID, in.From)
	if err != nil {
		return MergeResult{}, nil, err
	}
	if MergeChangesBilling(into, from, in.Prefer) && (s.Customers.FourEyes.Requires(ApprovalBilling) || s.Customers.FourEyes.Requires(ApprovalMerge)) {
		payload, err := json.Marshal(mergeRequest{From: from.ID, Prefer: in.Prefer, FromVersion: from.Version})
		if err != nil {
			return MergeResult{}, nil, err
		}
		touched := MergeTouched(into, MergedInput(into, from, in.Prefer))
		ap, err := s.Customers.FileApproval(ctx, actor, ApprovalMerge, into.ID, into.Version, touched, payload)
		if err != nil {
			return MergeResult{}, nil, err
		}
		return MergeResult{}, &ap, nil
	}
	res, err := s.commit(ctx, actor, into, from, in.Prefer, nil)
	return res, nil, err
}

// pair reads both customers of a merge and says why they cannot merge.
func (s *Merges) pair(ctx context.Context, intoID, fromID string) (Customer, Customer, error) {
	into, err := s.Customers.Store.GetCustomer(ctx, intoID)
	switch ErrorCode(err) {
	case "":
	case EGONE:
		return Customer{}, Customer{}, Errorf(ECONFLICT, "customer %s was erased: nothing can be merged into it", intoID)
	case EMOVED:
		return Customer{}, Customer{}, mergedAway(err, "the survivor %s was itself merged into another customer", intoID)
	default:
		return Customer{}, Customer{}, err
	}
	from, err := s.Customers.Store.GetCustomer(ctx, fromID)
	switch ErrorCode(err) {
	case "":
	case ENOTFOUND:
		return Customer{}, Customer{}, &Error{Code: ENOTFOUND, Message: "the customer named by from does not exist",
			Fields: []FieldError{{Field: "from", Code: "not_found", Message: "no such customer"}}}
	case EGONE:
		return Customer{}, Customer{}, &Error{Code: ECONFLICT, Message: "the customer named by from was erased",
			Fields: []FieldError{{Field: "from", Code: "erased", Message: "was erased"}}}
	case EMOVED:
		if e, ok := err.(*Error); ok && e.MergedInto == intoID {
			// Merged into this very customer already: a retry of a merge
			// that failed after its transaction. It finishes moving the
			// children, and the answer stays a conflict.
			if merr := s.Store.MoveMergedChildren(ctx, Merge{IntoID: intoID, FromID: fromID}); merr != nil {
				return Customer{}, Customer{}, merr
			}
		}
		return Customer{}, Customer{}, mergedAway(err, "the customer named by from was already merged into another")
	default:
		return Customer{}, Customer{}, err
	}
	return into, from, nil
}

// mergedAway is a conflict with a merged-away customer, naming where it went.
func mergedAway(err error, format string, args ...any) error {
	e := Errorf(ECONFLICT, format, args...)
	if moved, ok := err.(*Error); ok {
		e.MergedInto = moved.MergedInto
	}
	return e
}

// commit merges from into into and moves the children.
func (s *Merges) commit(ctx context.Context, actor Actor, into, from Customer, prefer map[string]string, decided *Approval) (MergeResult, error) {
	merged := MergedInput(into, from, prefer)
	std, err := s.Customers.Policy.Standardize(merged)
	if err != nil {
		// Both records passed the policy when written; a policy changed
		// since can refuse their combination.
		return MergeResult{}, err
	}
	now := s.Customers.now()
	next := into
	next.apply(std, now, s.Customers.Policy)
	next.Version = into.Version + 1
	next.ReviewDueAt = s.Customers.Policy.ReviewDue(next)
	// Consent taken from the other record is a change of the survivor's,
	// on record like any other; the undo removes the record with it.
	next.ConsentChanges = consentChanges(into.Consent, next.Consent, false, now, ConsentByStaff, actor.ID)
	ttl := s.UndoTTL
	if ttl <= 0 {
		ttl = DefaultMergeUndoTTL
	}
	m := Merge{ID: s.Customers.NewID("m"), IntoID: into.ID, FromID: from.ID, Touched: MergeTouched(into, std),
		Status: MergeDone, At: now, By: actor.ID, UndoUntil: now.Add(ttl), PrevInto: into, PrevFrom: from, NextInto: next}
	if m.Touched == nil {
		m.Touched = []string{}
	}
	a := NewAudit(ctx, actor, "customer.merge", "customer", into.ID, m.Touched...)
	if err := s.Store.MergeCustomers(ctx, m, decided, a); err != nil {
		if ErrorCode(err) == EPRECONDITION && decided == nil {
			// No If-Match was asked for: a lost race is a conflict to retry.
			return MergeResult{}, Errorf(ECONFLICT, "a customer of the merge changed meanwhile; retry")
		}
		return MergeResult{}, s.Customers.refusedDuplicate(ctx, actor, err, a)
	}
	next.ConsentChanges = nil
	if err := s.Store.MoveMergedChildren(ctx, m); err != nil && s.Customers.Dropped != nil {
		// The merge stands; the stream moves what is left.
		s.Customers.Dropped(ctx, "merge children", err)
	}
	return MergeResult{MergeID: m.ID, Customer: next}, nil
}

// Apply is the Applier of merge approvals: it merges as requested, if
// neither customer moved since.
func (s *Merges) Apply(ctx context.Context, approver Actor, decided Approval) (ApprovalResult, error) {
	var req mergeRequest
	if err := json.Unmarshal(decided.Payload, &req); err != nil {
		return ApprovalResult{}, Errorf(EINTERNAL, "approval %s has an unreadable payload", decided.ID)
	}
	into, from, err := s.pair(ctx, decided.CustomerID, req.From)
	if err != nil {
		if c := ErrorCode(err); c == ECONFLICT || c == ENOTFOUND || c == EGONE {
			return ApprovalResult{}, Errorf(EPRECONDITION, "a customer of the merge changed")
		}
		return ApprovalResult{}, err
	}
	if into.Version != decided.Version || from.Version != req.FromVersion {
		return ApprovalResult{}, Errorf(EPRECONDITION, "a customer of the merge changed")
	}
	closed := decided
	closed.Payload = nil
	res, err := s.commit(ctx, approver, into, from, req.Prefer, &closed)
	if err != nil {
		return ApprovalResult{}, err
	}
	return ApprovalResult{Customer: res.Customer, MergeID: res.MergeID}, nil
}

// Undo restores both customers of a merge as they were. Returns ENOTFOUND
// for an unknown merge, EGONE when its snapshot was purged by an erasure
// or expired, ECONFLICT when it was undone already or the survivor was
// edited since in a field the merge touched (naming them).
func (s *Merges) Undo(ctx context.Context, actor Actor, mergeID string) (MergeResult, error) {
	if !actor.Has(RoleAdmin) {
		return MergeResult{}, Errorf(EFORBIDDEN, "only an admin may undo a merge")
	}
	m, err := s.Store.GetMerge(ctx, mergeID)
	if err != nil {
		return MergeResult{}, err
	}
	switch {
	case m.Status == MergeUndone:
		// A retry of an undo that failed after its transaction finishes
		// moving the children back; the answer stays a conflict.
		if err := s.Store.MoveUnmergedChildren(ctx, m); err != nil {
			return MergeResult{}, err
		}
		return MergeResult{}, Errorf(ECONFLICT, "merge %s was undone already", mergeID)
	case m.Status == MergePurged:
		return MergeResult{}, Errorf(EGONE, "merge %s can no longer be undone: a customer of it was erased", mergeID)
	case !s.Customers.now().Before(m.UndoUntil):
		// The table's TTL removes the snapshot only eventually.
		return MergeResult{}, Errorf(EGONE, "merge %s can no longer be undone: its undo window closed", mergeID)
	}
	cur, err := s.Customers.Store.GetCustomer(ctx, m.IntoID)
	switch ErrorCode(err) {
	case "":
	case EMOVED:
		return MergeResult{}, mergedAway(err, "the survivor was merged into another customer since; undo that merge first")
	default:
		return MergeResult{}, err
	}
	if edited := EditedSince(m, cur); len(edited) > 0 {
		e := Errorf(ECONFLICT, "the survivor was edited since the merge in fields it touched")
		e.ConflictFields = edited
		return MergeResult{}, e
	}
	now := s.Customers.now()
	next := cur
	next.apply(Unmerged(m, cur), now, s.Customers.Policy)
	next.Version = cur.Version + 1
	next.ReviewDueAt = s.Customers.Policy.ReviewDue(next)
	if cur.Version == m.NextInto.Version {
		// Untouched since the merge: the survivor goes back exactly,
		// its derived dates included.
		next.UpdatedAt, next.ReviewDueAt = m.PrevInto.UpdatedAt, m.PrevInto.ReviewDueAt
	}
	next.ConsentChanges = nil
	a := NewAudit(ctx, actor, "customer.unmerge", "customer", m.IntoID, m.Touched...)
	if err := s.Store.UndoMerge(ctx, m, cur, next, a); err != nil {
		return MergeResult{}, s.Customers.refusedDuplicate(ctx, actor, err, a)
	}
	return MergeResult{MergeID: m.ID, Customer: next}, nil
}

// redirect answers a request for a merged-away customer: moved (EMOVED,
// naming the survivor) to a caller who may see the survivor, not found to
// any other, as a probe.
func (s *Customers) redirect(ctx context.Context, actor Actor, id string, moved error) error {
	if actor.OwnScopeOnly() {
		e, _ := moved.(*Error)
		if e == nil {
			return moved
		}
		survivor, err := s.Store.GetCustomer(ctx, e.MergedInto)
		if (err != nil && ErrorCode(err) != EMOVED) || survivor.OwnerID != actor.ID {
			s.probe(ctx, actor, id)
			return Errorf(ENOTFOUND, "customer %s not found", id)
		}
	}
	return moved
}
