package dynamo

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// The audit log is a set of hash chains with no chain shared by unrelated
// writers: every entity has its own chain ("CHAIN#<type>/<id>"), which only
// writes to that entity append to, and those are already serialized by the
// entity's version; every entry that writes nothing else (a sensitive read,
// an export, a denied attempt) is a chain of its own ("CHAIN#request/<random
// id>"), so readers never wait for one another. What ties the chains
// together is the digest (digest.go): a signed, itself chained, list of
// every chain's head, written periodically.
//
// Each link is two items, both put with attribute_not_exists and never
// updated: a claim "S#<seq>" that makes the sequence number unique, so two
// writers cannot fork a chain, and the entry "E#<seq>#<hash>", keyed by its
// own hash. The functions may only put to the audit table; because an entry's
// key holds its hash, a put can add a forged entry but never replace the
// real one, and `audit verify` finds a sequence number with two entries.
//
// Chains written before per-entity chains ("AUDIT#<shard>", 16 of them) are
// read and verified as they are: a chain is a partition, whatever its name.
const (
	auditClaimPrefix  = "S#"
	auditEntryPrefix  = "E#"
	auditChainPrefix  = "CHAIN#"
	legacyChainPrefix = "AUDIT#"
	// chainRetries bounds the re-reads of an entity's chain head when a
	// concurrent write to the same entity took the next link; past it the
	// caller gets a conflict to resolve, as for any lost race on an entity.
	chainRetries = 5
)

// auditDayShards spreads each day's entries over as many partitions of
// the ByDay index, by chain, so that no one partition takes every entry
// of the day (an index partition takes about 1,000 writes a second).
const auditDayShards = 16

// auditDayPK is the ByDay partition of an entry of chain made at at.
func auditDayPK(at time.Time, chain string) string {
	h := fnv.New32a()
	h.Write([]byte(chain))
	return fmt.Sprintf("DAY#%s#%02d", at.UTC().Format(time.DateOnly), h.Sum32()%auditDayShards)
}

// auditDayPKs are the ByDay partitions of day: its shards, and the one
// partition a day had before they were (entries written before the
// upgrade stay there).
func auditDayPKs(day time.Time) []string {
	d := "DAY#" + day.UTC().Format(time.DateOnly)
	pks := []string{d}
	for i := range auditDayShards {
		pks = append(pks, fmt.Sprintf("%s#%02d", d, i))
	}
	return pks
}

// chainOf names the chain an action on an entity appends to.
func chainOf(a crm.Audit) string { return a.EntityType + "/" + a.EntityID }

// requestChain names a new single-entry chain.
func requestChain() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return "request/" + hex.EncodeToString(b[:])
}

// auditItem is an audit entry as stored.
// Its attributes take the entry's JSON names (auditTag).
type auditItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK"`
	GSI1SK string `json:"GSI1SK"`
	GSI2PK string `json:"GSI2PK"`
	GSI2SK string `json:"GSI2SK"`
	GSI3PK string `json:"GSI3PK"`
	GSI3SK string `json:"GSI3SK"`
	crm.AuditEntry
}

func auditTag(o *attributevalue.EncoderOptions) { o.TagKey = "json" }

func auditTagDecode(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// hashEntry is SHA-256 of the entry's canonical JSON (hash field empty)
// followed by the previous link's hash. An entry of the 16-shard form has no
// chain field, so its canonical JSON, and hash, are what they always were.
func hashEntry(e crm.AuditEntry) string {
	e.Hash = ""
	canonical, _ := json.Marshal(e)
	sum := sha256.Sum256(append(canonical, e.PrevHash...))
	return hex.EncodeToString(sum[:])
}

// chainPK is the partition of a chain's links.
func chainPK(e crm.AuditEntry) string {
	if e.Chain == "" {
		return legacyChainPrefix + strconv.Itoa(e.Shard)
	}
	return auditChainPrefix + e.Chain
}

// chainHead returns the last sequence number and hash of a chain: one
// consistent Query of its own partition.
func (s *Table) chainHead(ctx context.Context, pk string) (int64, string, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.auditTable, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :s)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk}, ":s": &types.AttributeValueMemberS{Value: auditClaimPrefix},
		},
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, "", wrap(err, "read audit chain head")
	}
	if len(out.Items) == 0 {
		return 0, "", nil
	}
	var claim struct {
		Seq  int64  `dynamodbav:"seq"`
		Hash string `dynamodbav:"hash"`
	}
	if err := attributevalue.UnmarshalMap(out.Items[0], &claim); err != nil {
		return 0, "", fmt.Errorf("unmarshal audit claim: %w", err)
	}
	return claim.Seq, claim.Hash, nil
}

// The entity item may carry its chain's head (auditSeq, auditHash): the
// entity's version condition serializes its writes, so the head on the
// version a writer read is the head its entry follows, and the append needs
// no read of the chain. Writes that append to an entity's chain without
// rewriting its item (an interaction, a note) leave the carried head behind;
// the next writer's claim then fails, and it reads the chain's head instead.
const (
	attrAuditSeq  = "auditSeq"
	attrAuditHash = "auditHash"
)

// newChainHead marks the item of a new entity as the head of an empty chain.
func newChainHead(item map[string]types.AttributeValue) {
	item[attrAuditSeq] = &types.AttributeValueMemberN{Value: "0"}
	item[attrAuditHash] = &types.AttributeValueMemberS{Value: ""}
}

// chainHeadOf returns the chain head attributes item carries, nil if none.
func chainHeadOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	seq, ok := item[attrAuditSeq]
	if !ok {
		return nil
	}
	return map[string]types.AttributeValue{attrAuditSeq: seq, attrAuditHash: item[attrAuditHash]}
}

// carryChainHead copies the head the stored item carries to the item that
// replaces it.
func carryChainHead(stored, item map[string]types.AttributeValue) {
	if seq, ok := stored[attrAuditSeq]; ok {
		item[attrAuditSeq], item[attrAuditHash] = seq, stored[attrAuditHash]
	}
}

// carriedHead finds, among ops, the item of a's entity carrying its chain's
// head.
func carriedHead(a crm.Audit, ops []types.TransactWriteItem) (item map[string]types.AttributeValue, seq int64, hash string, ok bool) {
	for _, op := range ops {
		if op.Put == nil {
			continue
		}
		t, _ := op.Put.Item["type"].(*types.AttributeValueMemberS)
		id, _ := op.Put.Item["id"].(*types.AttributeValueMemberS)
		if t == nil || id == nil || t.Value != a.EntityType || id.Value != a.EntityID {
			continue
		}
		n, isN := op.Put.Item[attrAuditSeq].(*types.AttributeValueMemberN)
		h, isS := op.Put.Item[attrAuditHash].(*types.AttributeValueMemberS)
		if !isN || !isS {
			continue
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			continue
		}
		return op.Put.Item, v, h.Value, true
	}
	return nil, 0, "", false
}

// auditOps returns the two puts that append a's entry to chain. A new chain
// (a request's own) starts at 1 without reading anything; an entity whose
// item in ops carries the chain's head (and trusted says it may be used)
// appends after it; otherwise the chain's head is read. The carried head is
// advanced to the new entry.
func (s *Table) auditOps(ctx context.Context, a crm.Audit, chain string, fresh bool, ops []types.TransactWriteItem, trusted bool) ([]types.TransactWriteItem, error) {
	var seq int64
	var prev string
	carrier, cseq, chash, carried := carriedHead(a, ops)
	switch {
	case fresh:
	case carried && trusted:
		seq, prev = cseq, chash
	default:
		var err error
		if seq, prev, err = s.chainHead(ctx, auditChainPrefix+chain); err != nil {
			return nil, err
		}
	}
	roles := make([]string, len(a.Actor.Roles))
	for i, r := range a.Actor.Roles {
		roles[i] = string(r)
	}
	if a.Actor.Client {
		// A machine client acts under its scopes; the roles it is given
		// only shape how it sees fields.
		roles = append([]string{}, a.Actor.Scopes...)
	}
	fields := a.ChangedFields
	if fields == nil {
		fields = []string{}
	}
	e := crm.AuditEntry{
		Chain: chain, Seq: seq + 1, At: s.now().UTC(), Actor: a.Actor.ID, Roles: roles, Action: a.Action,
		EntityType: a.EntityType, EntityID: a.EntityID, ChangedFields: fields, RequestID: a.RequestID,
		Outcome: a.Outcome, Client: a.Client, Disclosed: a.Disclosed, PrevHash: prev,
	}
	e.Hash = hashEntry(e)
	if carrier != nil {
		carrier[attrAuditSeq] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Seq, 10)}
		carrier[attrAuditHash] = &types.AttributeValueMemberS{Value: e.Hash}
	}
	stampChange(a, ops, e)
	pk := chainPK(e)
	at := sortTime(e.At) + "#" + e.Hash[:16]
	item, err := attributevalue.MarshalMapWithOptions(auditItem{
		PK: pk, SK: fmt.Sprintf("%s%012d#%s", auditEntryPrefix, e.Seq, e.Hash),
		GSI1PK: "ENTITY#" + e.EntityID, GSI1SK: at, GSI2PK: "ACTOR#" + e.Actor, GSI2SK: at,
		GSI3PK: auditDayPK(e.At, e.Chain), GSI3SK: at, AuditEntry: e,
	}, auditTag)
	if err != nil {
		return nil, fmt.Errorf("marshal audit entry: %w", err)
	}
	claim := itemKey(pk, fmt.Sprintf("%s%012d", auditClaimPrefix, e.Seq))
	claim["seq"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Seq, 10)}
	claim["hash"] = &types.AttributeValueMemberS{Value: e.Hash}
	notExists := aws.String("attribute_not_exists(SK)")
	entry := types.TransactWriteItem{Put: &types.Put{TableName: &s.auditTable, Item: item, ConditionExpression: notExists}}
	if fresh {
		// A chain of one entry has no next link to race for: no claim.
		return []types.TransactWriteItem{entry}, nil
	}
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.auditTable, Item: claim, ConditionExpression: notExists}},
		entry,
	}, nil
}

// writeAudited commits ops together with a's audit entry, in one
// transaction: neither exists without the other. The entry goes to the
// entity's chain, or, when ops is empty (nothing else written), to a chain
// of its own. Only a concurrent write to the same entity can take the
// chain's next link first; then it reads the new head and tries again, and
// after a few tries answers a conflict, as any lost race on one entity
// does. Any other cancellation is returned for the caller to explain.
func (s *Table) writeAudited(ctx context.Context, a crm.Audit, ops []types.TransactWriteItem) error {
	if len(ops) == 0 {
		// An entry of its own chain: one conditional put, nothing read.
		put, err := s.auditOps(ctx, a, requestChain(), true, nil, false)
		if err != nil {
			return err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put[0].Put.TableName, Item: put[0].Put.Item,
			ConditionExpression: put[0].Put.ConditionExpression})
		if isConditionFailed(err) {
			return s.ownEntryStored(ctx, put[0].Put.Item)
		}
		return err
	}
	chain, fresh := chainOf(a), false
	for attempt := 1; ; attempt++ {
		// The carried head is used on the first attempt only: losing the
		// claim means it was behind.
		audit, err := s.auditOps(ctx, a, chain, fresh, ops, attempt == 1)
		if err != nil {
			return err
		}
		all := append(append([]types.TransactWriteItem{}, ops...), audit...)
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: all})
		if err == nil {
			return nil
		}
		tce, ok := asCanceled(err)
		if !ok || !lostChainRace(tce, len(ops)) {
			return err
		}
		if attempt == chainRetries {
			return &crm.Error{Code: crm.ECONFLICT, Message: "the record was changed by a concurrent request; read it again and retry"}
		}
		// Jittered, growing back-off, so that writers racing on one entity
		// do not race again in step.
		d := time.Duration(1+rand.IntN(5<<attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
			return wrap(ctx.Err(), "append audit entry")
		case <-time.After(d):
		}
	}
}

// ownEntryStored settles a single entry's put that found its key taken.
// The key holds a random chain id that no one else knows, so the item there
// is this very put, stored by an attempt whose answer was lost (a timeout,
// then the SDK's retry): the entry is on record. It checks rather than
// assumes, with one consistent read of the key.
func (s *Table) ownEntryStored(ctx context.Context, item map[string]types.AttributeValue) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.auditTable,
		Key: itemKey(attrString(item, "PK"), attrString(item, "SK")), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return wrap(err, "read back audit entry")
	}
	if h := attrString(out.Item, "hash"); h == "" || h != attrString(item, "hash") {
		return &crm.Error{Code: crm.EINTEGRITY, Message: "an audit entry key holds another entry"}
	}
	return nil
}

// lostChainRace reports a cancellation caused only by the audit claim (the
// first item after the caller's ops).
func lostChainRace(tce *types.TransactionCanceledException, n int) bool {
	r := tce.CancellationReasons
	if len(r) <= n {
		return false
	}
	for i := range n {
		if aws.ToString(r[i].Code) == "ConditionalCheckFailed" {
			return false
		}
	}
	return aws.ToString(r[n].Code) == "ConditionalCheckFailed" || aws.ToString(r[n].Code) == "TransactionConflict"
}

// AppendAudit implements crm.AuditLog.
func (s *AuditLog) AppendAudit(ctx context.Context, a crm.Audit) error {
	return wrap(s.writeAudited(ctx, a, nil), "append audit entry")
}

// ListAudit implements crm.AuditLog: by entity or by actor through their
// index, otherwise day by day from To back to From.
func (s *AuditLog) ListAudit(ctx context.Context, f crm.AuditFilter, p crm.Page) ([]crm.AuditEntry, string, error) {
	// The cursor is bound to the filter as the client gave it, not to the
	// defaults, which move with the clock.
	fp := fmt.Sprintf("audit|%s|%s|%s|%s", f.EntityID, f.Actor, f.From.Format(time.RFC3339Nano), f.To.Format(time.RFC3339Nano))
	if f.To.IsZero() {
		f.To = s.now().UTC()
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-7 * 24 * time.Hour)
	}
	if f.From.After(f.To) {
		return nil, "", crm.Invalid{{Field: "from", Code: "range", Message: "must not be after to"}}.Err()
	}
	if f.To.Sub(f.From) > 366*24*time.Hour && f.EntityID == "" && f.Actor == "" {
		return nil, "", crm.Invalid{{Field: "from", Code: "range", Message: "without entityId or actor, the range is at most 366 days"}}.Err()
	}
	decode := func(ctx context.Context, items []map[string]types.AttributeValue) ([]*crm.AuditEntry, error) {
		out := make([]*crm.AuditEntry, len(items))
		for i, item := range items {
			var it auditItem
			if err := attributevalue.UnmarshalMapWithOptions(item, &it, auditTagDecode); err != nil {
				return nil, fmt.Errorf("unmarshal audit entry: %w", err)
			}
			e := it.AuditEntry
			e.At = e.At.UTC()
			if f.Actor != "" && e.Actor != f.Actor || f.EntityID != "" && e.EntityID != f.EntityID ||
				e.At.Before(f.From) || e.At.After(f.To) {
				continue
			}
			out[i] = &e
		}
		return out, nil
	}
	var src source
	switch {
	case f.EntityID != "":
		src = indexSource(AuditByEntity, "GSI1PK", "GSI1SK", "ENTITY#"+f.EntityID)
	case f.Actor != "":
		src = indexSource(AuditByActor, "GSI2PK", "GSI2SK", "ACTOR#"+f.Actor)
	default:
		return s.listAuditByDay(ctx, f, p, fp, decode)
	}
	src.skBelow = sortTime(f.To) + "$"
	return paginateTable(ctx, s.Table, s.auditTable, src, p, fp, decode)
}

// listAuditByDay pages through the days from To back to From, newest
// entry first, each day's shards merged. The cursor names the day and the
// sort key of the last entry given.
func (s *Table) listAuditByDay(ctx context.Context, f crm.AuditFilter, p crm.Page, fp string,
	decode func(context.Context, []map[string]types.AttributeValue) ([]*crm.AuditEntry, error)) ([]crm.AuditEntry, string, error) {
	first, day := f.From.UTC().Truncate(24*time.Hour), f.To.UTC().Truncate(24*time.Hour)
	oldest, below := sortTime(f.From), sortTime(f.To)+"$"
	if p.Cursor != "" {
		bad := crm.Invalid{{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this list issued"}}.Err()
		d, rest, ok := strings.Cut(p.Cursor, ".")
		t, err := time.Parse("20060102", d)
		if !ok || err != nil || t.After(day) || t.Before(first) {
			return nil, "", bad
		}
		day = t
		if rest != "" {
			key, err := s.openCursor(rest, fp+"|"+d)
			if err != nil {
				return nil, "", err
			}
			if below = strAttr(key, "GSI3SK"); below == "" {
				return nil, "", bad
			}
		}
	}
	out := []crm.AuditEntry{}
	for ; !day.Before(first); day, below = day.Add(-24*time.Hour), sortTime(f.To)+"$" {
		m := s.mergeIndex(s.auditTable, AuditByDay, "GSI3PK", "GSI3SK", auditDayPKs(day), below, p.Limit-len(out))
		for {
			item, err := m.next(ctx)
			if err != nil {
				return nil, "", err
			}
			if item == nil {
				break
			}
			if strAttr(item, "GSI3SK") < oldest {
				return out, "", nil // before From, as is all that follows
			}
			e, err := decode(ctx, []map[string]types.AttributeValue{item})
			if err != nil {
				return nil, "", err
			}
			if e[0] == nil {
				continue
			}
			out = append(out, *e[0])
			if len(out) < p.Limit {
				continue
			}
			more, err := m.peek(ctx)
			switch {
			case err != nil:
				return nil, "", err
			case more != nil && strAttr(more, "GSI3SK") >= oldest:
				cur, err := s.sealCursor(map[string]types.AttributeValue{"GSI3SK": item["GSI3SK"]}, fp+"|"+day.Format("20060102"))
				return out, day.Format("20060102") + "." + cur, err
			case day.Add(-24 * time.Hour).Before(first):
				return out, "", nil
			}
			return out, day.Add(-24*time.Hour).Format("20060102") + ".", nil
		}
	}
	return out, "", nil
}
