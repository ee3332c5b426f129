package dynamo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Report aggregates. Each aggregate is up to aggShards items of numeric
// counters, updated with ADD, so no single item takes every write: items
// "AGG#<name>" / "<shard>", or, for an aggregate of a family (one per
// owner, week or segment: crm.AggFamilyOf), "AGG#<family>" /
// "<member>#<shard>", so that one Query reads a whole family or a range
// of its members. A report Queries and sums the shards. A change is applied once: the transaction that adds its deltas
// also puts "AGGSEEN#<stream event id>" with attribute_not_exists, so a
// redelivered record adds nothing.
const (
	aggShards  = 8
	aggPrefix  = "AGG#"
	seenPrefix = "AGGSEEN#"
	// seenTTL outlives the stream's 24-hour retention, after which no
	// record can be delivered again.
	seenTTL = 48 * time.Hour
)

// IsAggregateKey reports whether a stream record's partition key is one of
// the report machinery's own items, which the consumer ignores.
func IsAggregateKey(pk string) bool {
	return strings.HasPrefix(pk, aggPrefix) || strings.HasPrefix(pk, seenPrefix) || strings.HasPrefix(pk, "AGGLABEL#")
}

// aggKey is the key of one shard of the aggregate name.
func aggKey(name, shard string) map[string]types.AttributeValue {
	if family, member, ok := crm.AggFamilyOf(name); ok {
		return itemKey(aggPrefix+family, member+"#"+shard)
	}
	return itemKey(aggPrefix+name, shard)
}

// aggName is the name of the aggregate an item keyed pk, sk holds a shard
// of; ok is false for any other item. An aggregate of a family written
// before families were kept together has a partition of its own, and the
// same name.
func aggName(pk, sk string) (name string, ok bool) {
	rest, ok := strings.CutPrefix(pk, aggPrefix)
	if !ok {
		return "", false
	}
	if i := strings.LastIndexByte(sk, '#'); i >= 0 && crm.IsAggFamily(rest) {
		return rest + sk[:i], true
	}
	return rest, true
}

func aggShard(entityID string) int {
	h := fnv.New32a()
	h.Write([]byte(entityID))
	return int(h.Sum32() % aggShards)
}

// rootCauseKey is a keyed hash of a normalized root cause: the counter's
// name, which says nothing of the sealed text.
func (s *Table) rootCauseKey(text string) string {
	n := crm.NormalizeRootCause(text)
	if n == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.keyset().cur.root)
	m.Write([]byte(n))
	return hex.EncodeToString(m.Sum(nil))[:24]
}

// entityLabel is the sealed text of a root-cause counter.
const entityLabel = "label"

type labelSecrets struct {
	Text string `json:"text"`
}

// contribution is what one stored item counts for.
type contribution struct {
	counts crm.Contribution
	// entity is the item's entity id ("" for items that count for nothing).
	entity string
	// rootKey and rootText name a complaint's root cause, if any.
	rootKey, rootText string
}

// contributionOf returns what one stored item counts for; items that count
// for nothing return empty counts. It reads only.
func (s *Table) contributionOf(ctx context.Context, p crm.Policy, item map[string]types.AttributeValue) (contribution, error) {
	t, _ := item["type"].(*types.AttributeValueMemberS)
	if t == nil || len(item) == 0 {
		return contribution{counts: crm.Contribution{}}, nil
	}
	switch t.Value {
	case entityCustomer:
		c, claims, err := s.fromCustomerItem(ctx, item)
		if err != nil {
			return contribution{}, err
		}
		return contribution{counts: p.CustomerContribution(c, claims), entity: c.ID}, nil
	case entityComplaint:
		c, err := s.fromComplaintItem(ctx, item)
		if err != nil {
			return contribution{}, err
		}
		out := contribution{entity: c.ID}
		if c.Resolution != nil {
			out.rootKey, out.rootText = s.rootCauseKey(c.Resolution.RootCause), c.Resolution.RootCause
		}
		out.counts = crm.ComplaintContribution(c, out.rootKey)
		return out, nil
	case entityDupState:
		return dupStateContribution(item), nil
	case entitySurvey:
		sv, err := fromSurveyItem(item)
		if err != nil {
			return contribution{}, err
		}
		return contribution{counts: crm.SurveyContribution(sv), entity: sv.ID}, nil
	}
	// Outcome KPIs: activity items and self-service links (outcomes.go).
	if out, ok, err := outcomeContribution(item); ok || err != nil {
		return out, err
	}
	return contribution{counts: crm.Contribution{}}, nil
}

// putLabel records, sealed and once, the text of a root-cause counter.
func (s *Table) putLabel(ctx context.Context, key, text string) error {
	item := itemKey("AGGLABEL#"+key, "LABEL")
	item["type"] = &types.AttributeValueMemberS{Value: entityLabel}
	if err := s.seal(ctx, entityLabel, item, &labelSecrets{Text: crm.NormalizeRootCause(text)}); err != nil {
		return err
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if isConditionFailed(err) {
		return nil
	}
	return wrap(err, "put root cause label")
}

// ApplyChange adds to the aggregates what one change of an item means: the
// contribution of its new image less that of its old one. It is applied
// once per eventID, however often it is delivered, and in any order with
// other changes, since the aggregates are sums.
func (s *Aggregates) ApplyChange(ctx context.Context, p crm.Policy, eventID string, oldImage, newImage map[string]types.AttributeValue) error {
	before, err := s.contributionOf(ctx, p, oldImage)
	if err != nil {
		return err
	}
	after, err := s.contributionOf(ctx, p, newImage)
	if err != nil {
		return err
	}
	delta := after.counts.Minus(before.counts)
	if day := acceptedWriteDay(oldImage, newImage); day != "" {
		delta.Add(crm.Contribution{crm.AggWrites: crm.Counts{"accepted#" + day: 1}})
	}
	if len(delta) == 0 {
		return nil
	}
	entity := after.entity
	if entity == "" {
		entity = before.entity
	}
	if after.rootKey != "" && after.rootKey != before.rootKey {
		// A root cause newly counted: its text must be on file for the report.
		if err := s.putLabel(ctx, after.rootKey, after.rootText); err != nil {
			return err
		}
	}
	seen := itemKey(seenPrefix+eventID, "SEEN")
	seen["expiresAt"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(s.now().Add(seenTTL).Unix(), 10)}
	ops := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: seen, ConditionExpression: aws.String("attribute_not_exists(PK)")}}}
	shard := strconv.Itoa(aggShard(entity))
	for _, name := range sortedKeys(delta) {
		ops = append(ops, types.TransactWriteItem{Update: addCounts(s.table, aggKey(name, shard), delta[name])})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	if tce, ok := asCanceled(err); ok && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return nil // applied before
	}
	return wrap(err, "apply change to aggregates")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// addCounts is the update that ADDs counts to an aggregate item.
func addCounts(table string, key map[string]types.AttributeValue, counts crm.Counts) *types.Update {
	names := map[string]string{"#t": "type"}
	values := map[string]types.AttributeValue{":agg": &types.AttributeValueMemberS{Value: "aggregate"}}
	var adds []string
	for i, k := range sortedKeys(counts) {
		n, v := "#a"+strconv.Itoa(i), ":v"+strconv.Itoa(i)
		names[n], values[v] = k, &types.AttributeValueMemberN{Value: strconv.FormatInt(counts[k], 10)}
		adds = append(adds, n+" "+v)
	}
	return &types.Update{TableName: &table, Key: key, UpdateExpression: aws.String("SET #t = :agg ADD " + strings.Join(adds, ", ")),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values}
}

// acceptedWriteDay returns the day (yyyymmdd) of the customer write a
// change records — a new profile, or a new version of one — or "". Accepted
// writes are counted here, from the stream, rather than by each writer:
// a counter every customer write touched would be shared by all of them.
func acceptedWriteDay(oldImage, newImage map[string]types.AttributeValue) string {
	attr := func(item map[string]types.AttributeValue, name string) string {
		switch v := item[name].(type) {
		case *types.AttributeValueMemberS:
			return v.Value
		case *types.AttributeValueMemberN:
			return v.Value
		}
		return ""
	}
	if attr(newImage, "type") != entityCustomer || attr(newImage, "version") == attr(oldImage, "version") {
		return ""
	}
	at, err := time.Parse(time.RFC3339Nano, attr(newImage, "updatedAt"))
	if err != nil {
		return ""
	}
	return at.UTC().Format("20060102")
}

// CountWrite implements crm.AggregateStore: one ADD on a random shard of
// the write counters. Only refused writes come here (accepted ones are
// counted from the stream), so it is off the path of every stored write.
func (s *Aggregates) CountWrite(ctx context.Context, at time.Time, accepted bool) error {
	attr := "rejected#" + at.UTC().Format("20060102")
	if accepted {
		attr = "accepted#" + at.UTC().Format("20060102")
	}
	u := addCounts(s.table, itemKey(aggPrefix+crm.AggWrites, strconv.Itoa(rand.IntN(aggShards))), crm.Counts{attr: 1})
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	return wrap(err, "count write")
}

// Aggregates implements crm.AggregateStore: one Query per aggregate of
// no family, and one per family over the range of the members asked for;
// up to eight at once. A Query is charged for the size it reads, so
// summing a partition of small shards costs one read unit where fetching
// them by key would cost eight.
func (s *Aggregates) Aggregates(ctx context.Context, names []string) (map[string]crm.Counts, error) {
	var reads []aggRead
	ranges := map[string]int{} // family → its read in reads
	for _, name := range names {
		family, member, ok := crm.AggFamilyOf(name)
		if !ok {
			reads = append(reads, aggRead{pk: aggPrefix + name})
			continue
		}
		lo, hi := member+"#0", member+"#"+strconv.Itoa(aggShards-1)
		i, seen := ranges[family]
		if !seen {
			ranges[family] = len(reads)
			reads = append(reads, aggRead{pk: aggPrefix + family, lo: lo, hi: hi})
			continue
		}
		r := &reads[i]
		r.lo, r.hi = min(r.lo, lo), max(r.hi, hi)
	}
	found := make([]map[string]crm.Counts, len(reads))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, r := range reads {
		g.Go(func() (err error) {
			found[i], err = s.readAggregates(ctx, r)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make(map[string]crm.Counts, len(names))
	for _, name := range names {
		out[name] = crm.Counts{}
	}
	for _, f := range found {
		for name, c := range f {
			if _, asked := out[name]; asked {
				out[name] = c
			}
		}
	}
	return out, nil
}

// AggregateFamily implements crm.AggregateStore: one Query of the
// family's partition.
func (s *Aggregates) AggregateFamily(ctx context.Context, family string) (map[string]crm.Counts, error) {
	if !crm.IsAggFamily(family) {
		return nil, fmt.Errorf("%q is no aggregate family", family)
	}
	return s.readAggregates(ctx, aggRead{pk: aggPrefix + family})
}

// aggRead is one Query of aggregate items: a partition, or the range
// lo–hi of its sort keys when lo is set. A range holds every shard of the
// members at its ends and of the members between them; it may hold other
// members too, which the caller leaves aside.
type aggRead struct{ pk, lo, hi string }

// readAggregates sums the shards read by r, by aggregate name.
func (s *Table) readAggregates(ctx context.Context, r aggRead) (map[string]crm.Counts, error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("PK = :pk"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: r.pk}},
	}
	if r.lo != "" {
		in.KeyConditionExpression = aws.String("PK = :pk AND SK BETWEEN :lo AND :hi")
		in.ExpressionAttributeValues[":lo"] = &types.AttributeValueMemberS{Value: r.lo}
		in.ExpressionAttributeValues[":hi"] = &types.AttributeValueMemberS{Value: r.hi}
	}
	out := map[string]crm.Counts{}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "read aggregate")
		}
		for _, item := range page.Items {
			pk, _ := item[attrPK].(*types.AttributeValueMemberS)
			sk, _ := item[attrSK].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil {
				continue
			}
			name, _ := aggName(pk.Value, sk.Value)
			if out[name] == nil {
				out[name] = crm.Counts{}
			}
			addItemCounts(out[name], item)
		}
	}
	return out, nil
}

func addItemCounts(counts crm.Counts, item map[string]types.AttributeValue) {
	for k, v := range item {
		if n, ok := v.(*types.AttributeValueMemberN); ok && k != attrTTL {
			x, _ := strconv.ParseInt(n.Value, 10, 64)
			counts[k] += x
		}
	}
}

// RootCauseLabels implements crm.AggregateStore.
func (s *Aggregates) RootCauseLabels(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey("AGGLABEL#"+k, "LABEL")})
		if err != nil {
			return nil, wrap(err, "get root cause label")
		}
		if res.Item == nil {
			out[k] = "(erased)"
			continue
		}
		var sec labelSecrets
		if err := s.open(ctx, entityLabel, res.Item, &sec); err != nil {
			return nil, err
		}
		out[k] = sec.Text
	}
	return out, nil
}

// RebuildResult is what a rebuild found.
type RebuildResult struct {
	// Computed are the aggregates recomputed from the items; Stored those
	// the consumer maintained, as the scan found them.
	Computed, Stored crm.Contribution
	Items            int
}

// Differences lists the counters on which Computed and Stored disagree.
func (r RebuildResult) Differences() []string {
	var out []string
	d := r.Computed.Minus(r.Stored)
	for _, name := range sortedKeys(d) {
		for _, k := range sortedKeys(d[name]) {
			out = append(out, fmt.Sprintf("%s %s: stored %d, computed %d", name, k, r.Stored[name][k], r.Computed[name][k]))
		}
	}
	return out
}

// Rebuild recomputes every aggregate exactly from the tables: a parallel
// Scan sums the contribution of every item. With write, the stored
// aggregates are then replaced by the computed ones (write counters, which
// count events rather than state, are kept), and access counts an earlier
// version kept in the main table are moved to the audit table
// (AccessLog.MoveLegacyCounts). Progress goes to progress.
func (s *Aggregates) Rebuild(ctx context.Context, p crm.Policy, write bool, progress io.Writer) (RebuildResult, error) {
	sc, err := s.scanAll(ctx, p, progress)
	if err != nil {
		return sc.res, err
	}
	res := sc.res
	res.Computed = res.Computed.Minus(crm.Contribution{})
	res.Stored = res.Stored.Minus(crm.Contribution{})
	if progress != nil {
		fmt.Fprintf(progress, "scanned %d items; %d aggregates computed, %d counters differ from the stored ones\n", res.Items, len(res.Computed), len(res.Differences()))
	}
	if !write {
		return res, nil
	}
	if err := s.replace(ctx, res.Computed, sc.stale, sc.labels); err != nil {
		return res, err
	}
	if progress != nil {
		fmt.Fprintf(progress, "wrote %d aggregates\n", len(res.Computed))
	}
	moved, err := s.AccessLog().MoveLegacyCounts(ctx, sc.access)
	if progress != nil && (moved > 0 || err != nil) {
		fmt.Fprintf(progress, "moved %d of %d access counts to the audit table\n", moved, len(sc.access))
	}
	return res, err
}

// rebuildScan is what a rebuild's scan found: the counts computed from the
// items, the stored aggregates' keys, and the root-cause labels seen.
type rebuildScan struct {
	mu     sync.Mutex
	res    RebuildResult
	stale  []map[string]types.AttributeValue
	labels map[string]string
	// access are access counts left in the main table by an earlier
	// version, to move to the audit table.
	access []map[string]types.AttributeValue
}

// rebuildSegments is how many parallel Scan segments a rebuild reads.
const rebuildSegments = 4

// scanAll reads the whole table in parallel segments; the first error
// cancels the other segments.
func (s *Aggregates) scanAll(ctx context.Context, p crm.Policy, progress io.Writer) (*rebuildScan, error) {
	sc := &rebuildScan{res: RebuildResult{Computed: crm.Contribution{}, Stored: crm.Contribution{}}, labels: map[string]string{}}
	g, ctx := errgroup.WithContext(ctx)
	for seg := range rebuildSegments {
		g.Go(func() error {
			pg := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: &s.table, Segment: aws.Int32(int32(seg)),
				TotalSegments: aws.Int32(rebuildSegments), ConsistentRead: aws.Bool(true)})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return wrap(err, "scan")
				}
				if err := s.scanPage(ctx, p, sc, page.Items, progress); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return sc, g.Wait()
}

// scanPage counts one page of a rebuild's scan into sc.
func (s *Aggregates) scanPage(ctx context.Context, p crm.Policy, sc *rebuildScan, items []map[string]types.AttributeValue, progress io.Writer) error {
	computed, stored := crm.Contribution{}, crm.Contribution{}
	labels := map[string]string{}
	var found, access []map[string]types.AttributeValue
	for _, item := range items {
		pk := item[attrPK].(*types.AttributeValueMemberS).Value
		sk, _ := item[attrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			sk = &types.AttributeValueMemberS{}
		}
		if isAccessCount(pk) {
			access = append(access, item)
			continue
		}
		if name, ok := aggName(pk, sk.Value); ok {
			if name == crm.AggWrites {
				continue
			}
			counts := crm.Counts{}
			addItemCounts(counts, item)
			stored.Add(crm.Contribution{name: counts})
			found = append(found, map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]})
			continue
		}
		if s.expired(item) {
			continue
		}
		c, err := s.contributionOf(ctx, p, item)
		if err != nil {
			return err
		}
		computed.Add(c.counts)
		if c.rootKey != "" {
			labels[c.rootKey] = c.rootText
		}
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.res.Computed.Add(computed)
	sc.res.Stored.Add(stored)
	maps.Copy(sc.labels, labels)
	sc.stale = append(sc.stale, found...)
	sc.access = append(sc.access, access...)
	before := sc.res.Items / 10000
	sc.res.Items += len(items)
	if progress != nil && sc.res.Items/10000 != before {
		fmt.Fprintf(progress, "scanned %d items\n", sc.res.Items)
	}
	return nil
}

// replace writes the root-cause labels, deletes the stored aggregates and
// writes the computed ones.
func (s *Aggregates) replace(ctx context.Context, computed crm.Contribution, stale []map[string]types.AttributeValue, labels map[string]string) error {
	for _, key := range sortedKeys(labels) {
		if err := s.putLabel(ctx, key, labels[key]); err != nil {
			return err
		}
	}
	for _, key := range stale {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key}); err != nil {
			return wrap(err, "delete aggregate")
		}
	}
	for _, name := range sortedKeys(computed) {
		item, err := attributevalue.MarshalMap(computed[name])
		if err != nil {
			return err
		}
		maps.Copy(item, aggKey(name, "0"))
		item["type"] = &types.AttributeValueMemberS{Value: "aggregate"}
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
			return wrap(err, "write aggregate")
		}
	}
	return nil
}
