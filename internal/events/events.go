// Package events derives the domain events from the table's stream. An
// event says what happened to which entity, when, by whom and which fields
// changed: ids and field names, never a value of personal data. They are
// derived from the stream, never sent by the request that wrote, so an
// event exists exactly when its write committed.
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/dynamo"
)

// Event types.
const (
	CustomerCreated       = "customer.created"
	CustomerUpdated       = "customer.updated"
	CustomerVerified      = "customer.verified"
	CustomerMerged        = "customer.merged"
	CustomerUnmerged      = "customer.unmerged"
	CustomerLost          = "customer.lost"
	CustomerErased        = "customer.erased"
	ComplaintCreated      = "complaint.created"
	ComplaintLinked       = "complaint.linked"
	ComplaintTransitioned = "complaint.transitioned"
	ComplaintBreached     = "complaint.breached"
	ReminderCreated       = "reminder.created"
	ImportFinished        = "import.finished"
	ApprovalRequested     = "approval.requested"
	ApprovalDecided       = "approval.decided"
	SurveyAnswered        = "survey.answered"
)

// Source is the EventBridge source of every event.
const Source = "clientele"

// Event is one domain event. Data holds ids and field names only.
type Event struct {
	ID   string    `json:"id"`
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	Data Data      `json:"data"`
}

// Data is what an event says about its entity.
type Data struct {
	EntityType string `json:"entityType"`
	EntityID   string `json:"entityId"`
	// ActorID is who acted: a staff id, a machine client, "system:…", or
	// "customer:<id>" for a customer's own self-service change.
	ActorID       string   `json:"actorId"`
	ChangedFields []string `json:"changedFields"`
	// CustomerID links a complaint or reminder to its customer.
	CustomerID string `json:"customerId,omitempty"`
	// Status is a complaint's state after a transition (a workflow state,
	// not personal data).
	Status string `json:"status,omitempty"`
	// Version is the entity's version after the change, where it has one.
	Version int64 `json:"version,omitempty"`
	// MergeID names the merge of a customer.merged or customer.unmerged
	// event, whose customerId is the survivor.
	MergeID string `json:"mergeId,omitempty"`
}

// Image is one side of a stream record, as DynamoDB attribute values.
type Image map[string]types.AttributeValue

// Str returns a string attribute, "" when absent.
func (im Image) Str(name string) string {
	if v, ok := im[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// Int returns a number attribute, 0 when absent.
func (im Image) Int(name string) int64 {
	if v, ok := im[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

// Strs returns a list or string-set attribute of strings.
func (im Image) Strs(name string) []string {
	out := []string{}
	switch v := im[name].(type) {
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			if s, ok := e.(*types.AttributeValueMemberS); ok {
				out = append(out, s.Value)
			}
		}
	case *types.AttributeValueMemberSS:
		out = append(out, v.Value...)
	}
	return out
}

// Time returns an RFC 3339 attribute, zero when absent.
func (im Image) Time(name string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, im.Str(name))
	return t.UTC()
}

// Has reports whether the attribute is present.
func (im Image) Has(name string) bool { _, ok := im[name]; return ok }

// Kind is the item's type attribute ("customer", "complaint", …).
func (im Image) Kind() string { return im.Str("type") }

// audited reports whether new carries an audited change that old did not:
// its audit sequence number moved on.
func audited(old, new Image) bool {
	return new.Has(dynamo.AttrAuditSeq) && new.Int(dynamo.AttrAuditSeq) != old.Int(dynamo.AttrAuditSeq)
}

// Change is one stream record: Old is nil for an insert, New for a removal.
type Change struct{ Old, New Image }

// Rule maps one kind of change to one event type.
type Rule struct {
	// Type is the event type made.
	Type string
	// Kind is the item type the rule looks at: the new image's, or the
	// old one's for a removal.
	Kind string
	// Match reports whether the change is one of this type.
	Match func(c Change) bool
	// Describe fills in what the event says. It must return ids and
	// field names only; Key is what, with the entity id and Type, names
	// the change for good (see ID).
	Describe func(c Change) (d Data, at time.Time, key string)
}

// Rules are the event types derived today, keyed on the item's kind and
// what changed. To add a type: add its constant above and one Rule here,
// whose Match looks at the item kind its write produces (a merge marks
// both customers, an import job's item reaches "finished", a survey item
// gets its answer…) and whose Describe names the entity, the actor and the
// changed fields from the item's plain attributes and the change stamp
// (dynamo.AttrChangeActor, AttrChangeFields), with a Key that is the same
// whenever the same change is seen again: the audit sequence number for
// audited writes, else a version or the instant the item records. Then add
// it to the API's list of accepted types (it is, as Types) and an example
// to docs/integrations.md. Several rules may match one record; each makes
// its own event.
var Rules = []Rule{
	{Type: CustomerCreated, Kind: "customer",
		Match:    func(c Change) bool { return c.Old == nil && c.New.Kind() == "customer" },
		Describe: func(c Change) (Data, time.Time, string) { return customerData(c, c.New.Str("createdBy")) }},
	{Type: CustomerVerified, Kind: "customer",
		Match: func(c Change) bool {
			return c.Old.Kind() == "customer" && c.New.Kind() == "customer" && audited(c.Old, c.New) &&
				c.New.Str(dynamo.AttrChangeAction) == "customer.verify"
		},
		Describe: func(c Change) (Data, time.Time, string) { return customerData(c, "") }},
	{Type: CustomerUpdated, Kind: "customer",
		Match: func(c Change) bool {
			return c.Old.Kind() == "customer" && c.New.Kind() == "customer" && audited(c.Old, c.New) &&
				c.New.Int("version") > c.Old.Int("version") && c.New.Str(dynamo.AttrChangeAction) != "customer.verify" &&
				c.New.Str(dynamo.AttrChangeAction) != "customer.lost"
		},
		Describe: func(c Change) (Data, time.Time, string) { return customerData(c, "") }},
	{Type: CustomerLost, Kind: "customer",
		Match: func(c Change) bool {
			return c.Old.Kind() == "customer" && c.New.Kind() == "customer" && audited(c.Old, c.New) &&
				c.New.Str(dynamo.AttrChangeAction) == "customer.lost"
		},
		Describe: func(c Change) (Data, time.Time, string) { return customerData(c, "") }},
	{Type: CustomerErased, Kind: "tombstone",
		Match: func(c Change) bool { return c.Old.Kind() == "customer" && c.New.Kind() == "tombstone" },
		Describe: func(c Change) (Data, time.Time, string) {
			at := c.New.Time("erasedAt")
			return Data{EntityType: "customer", EntityID: c.New.Str("id"), ActorID: c.New.Str("erasedBy"),
				ChangedFields: []string{"erased"}}, at, at.Format(time.RFC3339Nano)
		}},
	// A merge turns the merged-away profile into a redirect, and its undo
	// turns it back: the event names the merged-away customer, its
	// survivor (customerId) and the merge, whose id keys it.
	{Type: CustomerMerged, Kind: "merged",
		Match: func(c Change) bool { return c.Old.Kind() == "customer" && c.New.Kind() == "merged" },
		Describe: func(c Change) (Data, time.Time, string) {
			return Data{EntityType: "customer", EntityID: c.New.Str("id"), ActorID: c.New.Str("mergedBy"),
				ChangedFields: []string{"mergedInto"}, CustomerID: c.New.Str("mergedInto"), MergeID: c.New.Str("mergeId"),
				Version: c.New.Int("version")}, c.New.Time("mergedAt"), "merge:" + c.New.Str("mergeId")
		}},
	{Type: CustomerUnmerged, Kind: "customer",
		Match: func(c Change) bool { return c.Old.Kind() == "merged" && c.New.Kind() == "customer" },
		Describe: func(c Change) (Data, time.Time, string) {
			return Data{EntityType: "customer", EntityID: c.New.Str("id"), ActorID: c.New.Str("unmergedBy"),
				ChangedFields: []string{"mergedInto"}, CustomerID: c.Old.Str("mergedInto"), MergeID: c.Old.Str("mergeId"),
				Version: c.New.Int("version")}, c.New.Time("unmergedAt"), "unmerge:" + c.Old.Str("mergeId")
		}},
	{Type: ComplaintCreated, Kind: "complaint",
		Match:    func(c Change) bool { return c.Old == nil && c.New.Kind() == "complaint" },
		Describe: func(c Change) (Data, time.Time, string) { return complaintData(c, c.New.Str("filedBy")) }},
	{Type: ComplaintLinked, Kind: "complaint",
		Match: func(c Change) bool {
			return c.Old.Kind() == "complaint" && c.New.Kind() == "complaint" &&
				c.Old.Str("customerId") == "" && c.New.Str("customerId") != ""
		},
		Describe: func(c Change) (Data, time.Time, string) { return complaintData(c, "") }},
	{Type: ComplaintTransitioned, Kind: "complaint",
		Match: func(c Change) bool {
			return c.Old.Kind() == "complaint" && c.New.Kind() == "complaint" && c.Old.Str("status") != c.New.Str("status")
		},
		Describe: func(c Change) (Data, time.Time, string) { return complaintData(c, "") }},
	{Type: ComplaintBreached, Kind: "complaint",
		Match: func(c Change) bool {
			return c.Old.Kind() == "complaint" && c.New.Kind() == "complaint" && !c.Old.Has("slaBreachedAt") && c.New.Has("slaBreachedAt")
		},
		Describe: func(c Change) (Data, time.Time, string) {
			at := c.New.Time("slaBreachedAt")
			return Data{EntityType: "complaint", EntityID: c.New.Str("id"), ActorID: "system:reminders",
					ChangedFields: []string{"slaBreachedAt"}, CustomerID: c.New.Str("customerId"), Status: c.New.Str("status")},
				at, at.Format(time.RFC3339Nano)
		}},
	{Type: ReminderCreated, Kind: "reminder",
		Match: func(c Change) bool { return c.Old == nil && c.New.Kind() == "reminder" },
		Describe: func(c Change) (Data, time.Time, string) {
			// A reminder's id is derived from its kind, subject and due
			// instant, and it is written once.
			return Data{EntityType: "reminder", EntityID: c.New.Str("id"), ActorID: "system:reminders",
					ChangedFields: []string{"kind", "subjectId", "assigneeId", "dueAt", "status"}, CustomerID: c.New.Str("customerId")},
				c.New.Time("createdAt"), "created"
		}},
	{Type: ImportFinished, Kind: "import",
		Match: func(c Change) bool {
			return c.New.Kind() == "import" && c.New.Has("finishedAt") && !c.Old.Has("finishedAt")
		},
		Describe: func(c Change) (Data, time.Time, string) {
			// An import finishes once, done or failed; its counts are not
			// personal data, but they are the API's to show.
			at := c.New.Time("finishedAt")
			return Data{EntityType: "import", EntityID: c.New.Str("id"), ActorID: c.New.Str("actorId"),
				ChangedFields: []string{"status", "processed", "created", "rejected", "finishedAt"}, Status: c.New.Str("status")}, at, "finished"
		}},
	{Type: ApprovalRequested, Kind: "approval",
		Match: func(c Change) bool { return c.Old == nil && c.New.Kind() == "approval" },
		Describe: func(c Change) (Data, time.Time, string) {
			return Data{EntityType: "approval", EntityID: c.New.Str("id"), ActorID: c.New.Str("requestedBy"),
				ChangedFields: c.New.Strs("fields"), CustomerID: c.New.Str("customerId"), Status: c.New.Str("status")}, c.New.Time("requestedAt"), "requested"
		}},
	{Type: ApprovalDecided, Kind: "approval",
		Match: func(c Change) bool {
			return c.Old.Kind() == "approval" && c.New.Kind() == "approval" && c.Old.Str("status") == "pending" && c.New.Str("status") != "pending"
		},
		Describe: func(c Change) (Data, time.Time, string) {
			at, actor := c.New.Time("decidedAt"), c.New.Str("decidedBy")
			if actor == "" {
				actor = "system:four-eyes" // expired or closed as stale
			}
			return Data{EntityType: "approval", EntityID: c.New.Str("id"), ActorID: actor,
				ChangedFields: c.New.Strs("fields"), CustomerID: c.New.Str("customerId"), Status: c.New.Str("status")}, at, "decided"
		}},
	{Type: SurveyAnswered, Kind: "survey",
		Match: func(c Change) bool {
			return c.New.Kind() == "survey" && c.New.Has("answeredAt") && !c.Old.Has("answeredAt")
		},
		Describe: func(c Change) (Data, time.Time, string) {
			// The score and comment are the customer's: the event says
			// only that the survey of a complaint was answered.
			return Data{EntityType: "survey", EntityID: c.New.Str("id"), ActorID: "customer:" + c.New.Str("customerId"),
				ChangedFields: []string{"score", "answeredAt"}, CustomerID: c.New.Str("customerId")}, c.New.Time("answeredAt"), "answered"
		}},
}

// Types returns every event type derived today, sorted.
func Types() []string {
	var out []string
	for _, r := range Rules {
		out = append(out, r.Type)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// customerData describes an audited change of a customer; creator, when
// set, is the actor of a creation.
func customerData(c Change, creator string) (Data, time.Time, string) {
	d := Data{EntityType: "customer", EntityID: c.New.Str("id"), ActorID: c.New.Str(dynamo.AttrChangeActor),
		ChangedFields: c.New.Strs(dynamo.AttrChangeFields), Version: c.New.Int("version")}
	if d.ActorID == "" {
		d.ActorID = creator
	}
	return d, c.New.Time("updatedAt"), "audit:" + strconv.FormatInt(c.New.Int(dynamo.AttrAuditSeq), 10)
}

// complaintData describes an audited change of a complaint.
func complaintData(c Change, filer string) (Data, time.Time, string) {
	d := Data{EntityType: "complaint", EntityID: c.New.Str("id"), ActorID: c.New.Str(dynamo.AttrChangeActor),
		ChangedFields: c.New.Strs(dynamo.AttrChangeFields), CustomerID: c.New.Str("customerId"),
		Status: c.New.Str("status"), Version: c.New.Int("version")}
	if d.ActorID == "" {
		d.ActorID = filer
	}
	// The version advances with every write of a complaint, audited or
	// not (an escalation by the reminder run is both).
	return d, c.New.Time("updatedAt"), "v:" + strconv.FormatInt(c.New.Int("version"), 10)
}

// Derive returns the events of one change, in the order of Rules.
func Derive(c Change) []Event {
	var out []Event
	for _, r := range Rules {
		if !r.Match(c) {
			continue
		}
		d, at, key := r.Describe(c)
		if d.ChangedFields == nil {
			d.ChangedFields = []string{}
		}
		out = append(out, Event{ID: ID(r.Type, d.EntityType, d.EntityID, key), Type: r.Type, At: at, Data: d})
	}
	return out
}

// ID names an event for good. The stream's own record id would do for
// redeliveries of one record, but not for the same change seen through
// another record: a replay from a new stream, a rebuild, the local poller
// starting over. Instead the id is a digest of the type, the entity and a
// key the item itself holds — its audit sequence number or version, which
// the write advanced in the same transaction, or the instant it records —
// so every sighting of one change gives one id, and receivers can
// de-duplicate on it.
func ID(typ, entityType, entityID, key string) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + entityType + "\x00" + entityID + "\x00" + key))
	return "evt_" + hex.EncodeToString(sum[:16])
}
