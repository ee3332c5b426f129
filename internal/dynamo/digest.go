package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/clientele-crm/clientele/internal/auditkey"
	"github.com/clientele-crm/clientele/internal/crm"
)

// The digest ties the chains together, as CloudTrail's digest files tie its
// log files: each digest lists the head (last sequence number and hash) of
// every chain that grew in its window, names the previous digest's hash,
// and is signed. Digests are items "DIGEST" / "D#<seq>", written by one
// scheduled run at a time (a conditional put makes a racing second run
// fail), so they form a chain of their own; the head lists, which can be
// long, are parts "DIGESTPART#<heads hash>" / "P#<n>", bound to the digest
// by that hash.
//
// Without digests, someone able to delete from the audit table could drop
// an entity's whole chain, or the last entries of one, and every chain left
// would still verify. With them, verify finds any chain a digest lists that
// is gone or shorter, or whose entry at the listed position is another.
// Entries newer than the last digest are covered only by their chains
// until the next digest: that interval, plus the settling time, bounds
// what can be removed unseen.
const (
	digestPK         = "DIGEST"
	digestPrefix     = "D#"
	digestPartPrefix = "DIGESTPART#"
	digestPartSize   = 500
	firstDigestReach = 400 * 24 * time.Hour
)

// DigestHead is one chain's head as a digest lists it.
type DigestHead struct {
	Chain string `json:"chain"` // the chain's partition key
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash"`
}

// Digest is what a digest signs.
type Digest struct {
	Seq int64 `json:"seq"`
	// From and To bound the entry times covered: From < at <= To. The first
	// digest covers everything up to To.
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Heads     int       `json:"heads"`
	HeadsHash string    `json:"headsHash"`
	Parts     int       `json:"parts"`
	// PrevHash is the previous digest's hash: SHA-256 of its body and
	// signature.
	PrevHash string `json:"prevHash"`
	KeyID    string `json:"keyId"`
}

type digestItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Body      string `dynamodbav:"body"`
	Signature []byte `dynamodbav:"signature"`
}

func digestHash(body string, sig []byte) string {
	h := sha256.New()
	h.Write([]byte(body))
	h.Write(sig)
	return hex.EncodeToString(h.Sum(nil))
}

func headsHash(heads []DigestHead) string {
	b, _ := json.Marshal(heads)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// lastDigest returns the newest digest, or nil.
func (s *Table) lastDigest(ctx context.Context) (*Digest, string, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.auditTable, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :d)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: digestPK}, ":d": &types.AttributeValueMemberS{Value: digestPrefix},
		},
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, "", wrap(err, "read last audit digest")
	}
	if len(out.Items) == 0 {
		return nil, "", nil
	}
	var it digestItem
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil {
		return nil, "", fmt.Errorf("unmarshal audit digest: %w", err)
	}
	var d Digest
	if err := json.Unmarshal([]byte(it.Body), &d); err != nil {
		return nil, "", fmt.Errorf("audit digest body: %w", err)
	}
	return &d, digestHash(it.Body, it.Signature), nil
}

// WriteDigest signs and stores the next digest, covering the entries
// recorded after the last digest's end up to now less settle, the longest a
// write can take from stamping its entry to committing it (a function's
// timeout) plus the index's propagation. It returns the digest written, or
// nil when the window is empty of time.
func (a *AuditLog) WriteDigest(ctx context.Context, key auditkey.Key, now time.Time, settle time.Duration) (*Digest, error) {
	last, lastHash, err := a.lastDigest(ctx)
	if err != nil {
		return nil, err
	}
	d := Digest{Seq: 1, To: now.Add(-settle).UTC(), KeyID: key.ID()}
	if last != nil {
		d.Seq, d.From, d.PrevHash = last.Seq+1, last.To, lastHash
		if !d.To.After(d.From) {
			return nil, nil
		}
	}
	heads := map[string]DigestHead{}
	note := func(e crm.AuditEntry) {
		if e.At.After(d.To) || (last != nil && !e.At.After(d.From)) {
			return
		}
		pk := chainPK(e)
		if h, ok := heads[pk]; !ok || e.Seq > h.Seq {
			heads[pk] = DigestHead{Chain: pk, Seq: e.Seq, Hash: e.Hash}
		}
	}
	from := d.From
	if last == nil {
		// The first digest reaches back firstDigestReach through the day
		// index rather than scanning the table, which the functions may not
		// do; older entries keep the protection of their chains alone.
		from = d.To.Add(-firstDigestReach)
	}
	if err := a.auditByDay(ctx, from, d.To, note); err != nil {
		return nil, err
	}
	list := make([]DigestHead, 0, len(heads))
	for _, h := range heads {
		list = append(list, h)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Chain < list[j].Chain })
	d.Heads, d.HeadsHash = len(list), headsHash(list)
	for i := 0; i < len(list); i += digestPartSize {
		part, _ := json.Marshal(list[i:min(len(list), i+digestPartSize)])
		item := itemKey(digestPartPrefix+d.HeadsHash, fmt.Sprintf("P#%06d", d.Parts))
		item["heads"] = &types.AttributeValueMemberS{Value: string(part)}
		// Same heads, same key, same content: a repeated run rewrites
		// nothing that differs.
		if _, err := a.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &a.auditTable, Item: item}); err != nil {
			return nil, wrap(err, "put audit digest part")
		}
		d.Parts++
	}
	body, _ := json.Marshal(d)
	sig, err := key.Sign(ctx, body)
	if err != nil {
		return nil, &crm.Error{Code: crm.EUNAVAILABLE, Message: "the audit signing key is unavailable; retry shortly"}
	}
	item, err := attributevalue.MarshalMap(digestItem{PK: digestPK, SK: fmt.Sprintf("%s%012d", digestPrefix, d.Seq), Body: string(body), Signature: sig})
	if err != nil {
		return nil, err
	}
	_, err = a.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &a.auditTable, Item: item, ConditionExpression: aws.String("attribute_not_exists(SK)")})
	if isConditionFailed(err) {
		return nil, crm.Errorf(crm.ECONFLICT, "another run wrote digest %d first", d.Seq)
	}
	if err != nil {
		return nil, wrap(err, "put audit digest")
	}
	return &d, nil
}

// auditByDay calls each for every entry in the ByDay partitions of the
// days from from through to. A day's partitions are read at once; each is
// called from this goroutine only.
func (s *Table) auditByDay(ctx context.Context, from, to time.Time, each func(crm.AuditEntry)) error {
	for day := from.UTC().Truncate(24 * time.Hour); !day.After(to); day = day.Add(24 * time.Hour) {
		pks := auditDayPKs(day)
		found := make([][]crm.AuditEntry, len(pks))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for i, pk := range pks {
			g.Go(func() error {
				p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
					TableName: &s.auditTable, IndexName: aws.String(AuditByDay), KeyConditionExpression: aws.String("GSI3PK = :pk"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
				})
				for p.HasMorePages() {
					page, err := p.NextPage(gctx)
					if err != nil {
						return wrap(err, "read audit day")
					}
					for _, item := range page.Items {
						var it auditItem
						if err := attributevalue.UnmarshalMapWithOptions(item, &it, auditTagDecode); err != nil {
							return fmt.Errorf("unmarshal audit entry: %w", err)
						}
						found[i] = append(found[i], it.AuditEntry)
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for _, entries := range found {
			for _, e := range entries {
				each(e)
			}
		}
	}
	return nil
}

// scanAudit calls each for every entry of every chain, both forms.
func (s *Table) scanAudit(ctx context.Context, each func(pk, sk string, e crm.AuditEntry)) error {
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Scan(ctx, &dynamodb.ScanInput{TableName: &s.auditTable, ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return wrap(err, "scan audit table")
		}
		for _, item := range out.Items {
			pk, _ := item[attrPK].(*types.AttributeValueMemberS)
			sk, _ := item[attrSK].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil || !strings.HasPrefix(sk.Value, auditEntryPrefix) ||
				!(strings.HasPrefix(pk.Value, auditChainPrefix) || strings.HasPrefix(pk.Value, legacyChainPrefix)) {
				continue
			}
			var it auditItem
			if err := attributevalue.UnmarshalMapWithOptions(item, &it, auditTagDecode); err != nil {
				return fmt.Errorf("unmarshal audit entry: %w", err)
			}
			each(pk.Value, sk.Value, it.AuditEntry)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		start = out.LastEvaluatedKey
	}
}

// ChainBreak describes the first broken link of a chain, or a broken digest
// (Chain "digest").
type ChainBreak struct {
	Chain  string
	Seq    int64
	Reason string
}

func (b ChainBreak) String() string {
	return fmt.Sprintf("%s, entry %d: %s", b.Chain, b.Seq, b.Reason)
}

// VerifyReport is what VerifyAudit found.
type VerifyReport struct {
	Breaks  []ChainBreak
	Entries int
	Chains  int
	Digests int
	// Unsigned counts entries recorded after the last digest's end, which
	// only their chains vouch for so far.
	Unsigned int
}

// VerifyAudit checks the digests (signatures, their chain, their head
// lists), then every chain of either form, then that every head a digest
// lists is still there: a chain gone, or shorter than a digest saw it, or
// holding another entry at the listed position is a break. key verifies the
// signatures; without one, digests are reported unverifiable.
func (a *AuditLog) VerifyAudit(ctx context.Context, key auditkey.Key) (VerifyReport, error) {
	var rep VerifyReport
	listed, lastTo, err := a.verifyDigests(ctx, key, &rep)
	if err != nil {
		return rep, err
	}
	type link struct {
		sk string
		e  crm.AuditEntry
	}
	chains := map[string][]link{}
	err = a.scanAudit(ctx, func(pk, sk string, e crm.AuditEntry) {
		chains[pk] = append(chains[pk], link{sk, e})
		if rep.Digests == 0 || e.At.After(lastTo) {
			rep.Unsigned++
		}
	})
	if err != nil {
		return rep, err
	}
	names := make([]string, 0, len(chains))
	for pk := range chains {
		names = append(names, pk)
	}
	sort.Strings(names)
	heads := map[string]map[int64]string{}
	for _, pk := range names {
		links := chains[pk]
		sort.Slice(links, func(i, j int) bool { return links[i].sk < links[j].sk })
		rep.Chains++
		rep.Entries += len(links)
		heads[pk] = map[int64]string{}
		// Links in key order, which is sequence order; several under one
		// sequence number mean someone added to the chain beside it.
		var groups [][]link
		for _, l := range links {
			heads[pk][l.e.Seq] = l.e.Hash
			if n := len(groups); n > 0 && groups[n-1][0].e.Seq == l.e.Seq {
				groups[n-1] = append(groups[n-1], l)
			} else {
				groups = append(groups, []link{l})
			}
		}
		var prev crm.AuditEntry
		for _, g := range groups {
			e, reason, seq := g[0].e, "", g[0].e.Seq
			switch {
			case e.Seq != prev.Seq+1:
				reason, seq = "entry missing", prev.Seq+1
			case len(g) > 1:
				reason = "two entries hold this sequence number"
			case e.PrevHash != prev.Hash:
				reason = "does not follow the previous entry"
			case hashEntry(e) != e.Hash || !strings.HasSuffix(g[0].sk, "#"+e.Hash) || chainPK(e) != pk:
				reason = "content does not match its hash"
			}
			if reason != "" {
				rep.Breaks = append(rep.Breaks, ChainBreak{Chain: pk, Seq: seq, Reason: reason})
				break
			}
			prev = e
		}
	}
	for _, h := range listed {
		seqs, ok := heads[h.Chain]
		switch {
		case !ok:
			rep.Breaks = append(rep.Breaks, ChainBreak{Chain: h.Chain, Seq: h.Seq, Reason: "chain missing: a digest lists it"})
		case seqs[h.Seq] == "":
			rep.Breaks = append(rep.Breaks, ChainBreak{Chain: h.Chain, Seq: h.Seq, Reason: "chain truncated: a digest lists this entry"})
		case seqs[h.Seq] != h.Hash:
			rep.Breaks = append(rep.Breaks, ChainBreak{Chain: h.Chain, Seq: h.Seq, Reason: "entry differs from the one a digest lists"})
		}
	}
	return rep, nil
}

// verifyDigests checks the digest chain and returns every head the digests
// list, deduplicated, and the end of the last digest's window.
func (a *AuditLog) verifyDigests(ctx context.Context, key auditkey.Key, rep *VerifyReport) ([]DigestHead, time.Time, error) {
	var items []digestItem
	p := dynamodb.NewQueryPaginator(a.db, &dynamodb.QueryInput{
		TableName: &a.auditTable, KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :d)"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: digestPK}, ":d": &types.AttributeValueMemberS{Value: digestPrefix},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, time.Time{}, wrap(err, "read audit digests")
		}
		for _, item := range page.Items {
			var it digestItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, time.Time{}, fmt.Errorf("unmarshal audit digest: %w", err)
			}
			items = append(items, it)
		}
	}
	seen := map[DigestHead]bool{}
	var listed []DigestHead
	var prevHash string
	var lastTo time.Time
	brk := func(seq int64, reason string) {
		rep.Breaks = append(rep.Breaks, ChainBreak{Chain: "digest", Seq: seq, Reason: reason})
	}
	for i, it := range items {
		rep.Digests++
		want := int64(i + 1)
		var d Digest
		if err := json.Unmarshal([]byte(it.Body), &d); err != nil || it.SK != fmt.Sprintf("%s%012d", digestPrefix, d.Seq) {
			brk(want, "digest unreadable")
			break
		}
		switch {
		case d.Seq != want:
			brk(want, "digest missing")
		case d.PrevHash != prevHash:
			brk(d.Seq, "does not follow the previous digest")
		case key == nil:
			brk(d.Seq, "no key to verify the digest's signature")
		case key.Verify(ctx, d.KeyID, []byte(it.Body), it.Signature) != nil:
			brk(d.Seq, "signature does not verify")
		}
		if len(rep.Breaks) > 0 && rep.Breaks[len(rep.Breaks)-1].Chain == "digest" {
			break
		}
		heads, err := a.digestHeads(ctx, d)
		if err != nil {
			return nil, time.Time{}, err
		}
		if len(heads) != d.Heads || headsHash(heads) != d.HeadsHash {
			brk(d.Seq, "head list does not match the signed digest")
			break
		}
		for _, h := range heads {
			if !seen[h] {
				seen[h] = true
				listed = append(listed, h)
			}
		}
		prevHash, lastTo = digestHash(it.Body, it.Signature), d.To
	}
	return listed, lastTo, nil
}

func (s *Table) digestHeads(ctx context.Context, d Digest) ([]DigestHead, error) {
	var heads []DigestHead
	for n := range d.Parts {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.auditTable, ConsistentRead: aws.Bool(true),
			Key: itemKey(digestPartPrefix+d.HeadsHash, "P#"+fmt.Sprintf("%06d", n))})
		if err != nil {
			return nil, wrap(err, "read audit digest part")
		}
		v, _ := out.Item["heads"].(*types.AttributeValueMemberS)
		if v == nil {
			return heads, nil
		}
		var part []DigestHead
		if err := json.Unmarshal([]byte(v.Value), &part); err != nil {
			return heads, nil
		}
		heads = append(heads, part...)
	}
	return heads, nil
}
