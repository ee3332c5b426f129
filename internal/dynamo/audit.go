package dynamo

import (
	"context"
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

// The audit log is a set of hash chains, one per shard, so no single item
// takes every write. An entity's entries all go to one shard, in order.
//
// Each link is two items, both put with attribute_not_exists and never
// updated: a claim "S#<seq>" that makes the sequence number unique, so two
// writers cannot fork a chain, and the entry "E#<seq>#<hash>", keyed by its
// own hash. The functions may only put to the audit table; because an entry's
// key holds its hash, a put can add a forged entry but never replace the
// real one, and `audit verify` finds a sequence number with two entries.
const (
	defaultAuditShards = 16
	auditClaimPrefix   = "S#"
	auditEntryPrefix   = "E#"
)

func (s *Table) shardOf(entityID string) int {
	h := fnv.New32a()
	h.Write([]byte(entityID))
	return int(h.Sum32() % uint32(s.auditShards))
}

func auditPK(shard int) string { return "AUDIT#" + strconv.Itoa(shard) }

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
// followed by the previous link's hash.
func hashEntry(e crm.AuditEntry) string {
	e.Hash = ""
	canonical, _ := json.Marshal(e)
	sum := sha256.Sum256(append(canonical, e.PrevHash...))
	return hex.EncodeToString(sum[:])
}

// chainHead returns the last sequence number and hash of a shard's chain.
func (s *Table) chainHead(ctx context.Context, shard int) (int64, string, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.auditTable, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :s)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: auditPK(shard)}, ":s": &types.AttributeValueMemberS{Value: auditClaimPrefix},
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

// auditOps returns the two puts that append a's entry to its chain.
func (s *Table) auditOps(ctx context.Context, a crm.Audit) ([]types.TransactWriteItem, error) {
	shard := s.shardOf(a.EntityID)
	seq, prev, err := s.chainHead(ctx, shard)
	if err != nil {
		return nil, err
	}
	roles := make([]string, len(a.Actor.Roles))
	for i, r := range a.Actor.Roles {
		roles[i] = string(r)
	}
	fields := a.ChangedFields
	if fields == nil {
		fields = []string{}
	}
	e := crm.AuditEntry{
		Shard: shard, Seq: seq + 1, At: s.now().UTC(), Actor: a.Actor.ID, Roles: roles, Action: a.Action,
		EntityType: a.EntityType, EntityID: a.EntityID, ChangedFields: fields, RequestID: a.RequestID,
		Outcome: a.Outcome, PrevHash: prev,
	}
	e.Hash = hashEntry(e)
	at := e.At.Format("2006-01-02T15:04:05.000000000Z") + "#" + fmt.Sprintf("%02d#%012d", shard, e.Seq)
	item, err := attributevalue.MarshalMapWithOptions(auditItem{
		PK: auditPK(shard), SK: fmt.Sprintf("%s%012d#%s", auditEntryPrefix, e.Seq, e.Hash),
		GSI1PK: "ENTITY#" + e.EntityID, GSI1SK: at, GSI2PK: "ACTOR#" + e.Actor, GSI2SK: at,
		GSI3PK: "DAY#" + e.At.Format("2006-01-02"), GSI3SK: at, AuditEntry: e,
	}, auditTag)
	if err != nil {
		return nil, fmt.Errorf("marshal audit entry: %w", err)
	}
	claim := itemKey(auditPK(shard), fmt.Sprintf("%s%012d", auditClaimPrefix, e.Seq))
	claim["seq"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Seq, 10)}
	claim["hash"] = &types.AttributeValueMemberS{Value: e.Hash}
	notExists := aws.String("attribute_not_exists(SK)")
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.auditTable, Item: claim, ConditionExpression: notExists}},
		{Put: &types.Put{TableName: &s.auditTable, Item: item, ConditionExpression: notExists}},
	}, nil
}

// writeAudited commits ops together with a's audit entry, in one
// transaction: neither exists without the other. When another writer took
// the chain's next link first, it reads the new head and tries again. Any
// other cancellation is returned for the caller to explain.
func (s *Table) writeAudited(ctx context.Context, a crm.Audit, ops []types.TransactWriteItem) error {
	if s.unaudited {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
		return err
	}
	for attempt := 1; ; attempt++ {
		audit, err := s.auditOps(ctx, a)
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
		if attempt == 8 {
			return &crm.Error{Code: crm.EUNAVAILABLE, Message: "the audit log is busy; retry shortly"}
		}
		// Back off a little, with jitter, so writers racing for one chain
		// do not race again in step.
		time.Sleep(time.Duration(1+rand.IntN(5*attempt)) * time.Millisecond)
	}
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
	src.skBelow = f.To.UTC().Format("2006-01-02T15:04:05.000000000Z") + "$"
	return paginateTable(ctx, s.Table, s.auditTable, src, p, fp, decode)
}

// listAuditByDay pages through the day partitions from To back to From. The
// cursor names the day and the position within it.
func (s *Table) listAuditByDay(ctx context.Context, f crm.AuditFilter, p crm.Page, fp string,
	decode func(context.Context, []map[string]types.AttributeValue) ([]*crm.AuditEntry, error)) ([]crm.AuditEntry, string, error) {
	day := f.To.UTC().Truncate(24 * time.Hour)
	cursor := p.Cursor
	if cursor != "" {
		d, rest, ok := strings.Cut(cursor, ".")
		t, err := time.Parse("20060102", d)
		if !ok || err != nil || t.After(day) || t.Before(f.From.UTC().Truncate(24*time.Hour)) {
			return nil, "", crm.Invalid{{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this list issued"}}.Err()
		}
		day, cursor = t, rest
	}
	var out []crm.AuditEntry
	for !day.Before(f.From.UTC().Truncate(24 * time.Hour)) {
		src := indexSource(AuditByDay, "GSI3PK", "GSI3SK", "DAY#"+day.Format("2006-01-02"))
		page, next, err := paginateTable(ctx, s, s.auditTable, src, crm.Page{Limit: p.Limit - len(out), Cursor: cursor}, fp+"|"+day.Format("20060102"), decode)
		if err != nil {
			return nil, "", err
		}
		out = append(out, page...)
		if next != "" {
			return out, day.Format("20060102") + "." + next, nil
		}
		cursor = ""
		day = day.Add(-24 * time.Hour)
		if len(out) == p.Limit {
			if day.Before(f.From.UTC().Truncate(24 * time.Hour)) {
				return out, "", nil
			}
			return out, day.Format("20060102") + ".", nil
		}
	}
	return out, "", nil
}

// ChainBreak describes the first broken link of a shard's chain.
type ChainBreak struct {
	Shard  int
	Seq    int64
	Reason string
}

func (b ChainBreak) String() string {
	return fmt.Sprintf("shard %d, entry %d: %s", b.Shard, b.Seq, b.Reason)
}

// VerifyAudit walks every chain and returns its first broken link, if any,
// and the number of entries checked. progress, when not nil, is called after
// each shard.
func (s *AuditLog) VerifyAudit(ctx context.Context, progress func(shard, entries int)) ([]ChainBreak, int, error) {
	var breaks []ChainBreak
	total := 0
	for shard := range s.auditShards {
		n, brk, err := s.verifyShard(ctx, shard)
		if err != nil {
			return nil, total, err
		}
		total += n
		if brk != nil {
			breaks = append(breaks, *brk)
		}
		if progress != nil {
			progress(shard, n)
		}
	}
	return breaks, total, nil
}

func (s *Table) verifyShard(ctx context.Context, shard int) (int, *ChainBreak, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.auditTable, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :e)"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: auditPK(shard)}, ":e": &types.AttributeValueMemberS{Value: auditEntryPrefix},
		},
	})
	// Entries in key order, which is sequence order; several under one
	// sequence number mean someone added to the chain beside it.
	type link struct {
		sk string
		e  crm.AuditEntry
	}
	var links [][]link
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, nil, wrap(err, "read audit chain")
		}
		for _, item := range page.Items {
			var it auditItem
			if err := attributevalue.UnmarshalMapWithOptions(item, &it, auditTagDecode); err != nil {
				return 0, nil, fmt.Errorf("unmarshal audit entry: %w", err)
			}
			l := link{sk: it.SK, e: it.AuditEntry}
			if n := len(links); n > 0 && links[n-1][0].e.Seq == l.e.Seq {
				links[n-1] = append(links[n-1], l)
			} else {
				links = append(links, []link{l})
			}
		}
	}
	var prev crm.AuditEntry
	for i, group := range links {
		e := group[0].e
		brk := func(seq int64, reason string) (int, *ChainBreak, error) {
			return i, &ChainBreak{Shard: shard, Seq: seq, Reason: reason}, nil
		}
		switch {
		case e.Seq != prev.Seq+1:
			return brk(prev.Seq+1, "entry missing")
		case len(group) > 1:
			return brk(e.Seq, "two entries hold this sequence number")
		case e.PrevHash != prev.Hash:
			return brk(e.Seq, "does not follow the previous entry")
		case hashEntry(e) != e.Hash || !strings.HasSuffix(group[0].sk, "#"+e.Hash):
			return brk(e.Seq, "content does not match its hash")
		}
		prev = e
	}
	return len(links), nil, nil
}
