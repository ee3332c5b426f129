package dynamo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
)

// The blind-index key lives in one item, wrapped by the keyring. Besides
// the blind indexes (claims and lookup members) it keys the list cursors,
// the self-service tokens and the names of root-cause counters, all
// derived from it (envelope.Indexer.Derive).
//
// A rotation moves everything to a new key without stopping the service,
// in phases that every process follows by re-reading the item at least
// every KeyRefresh:
//
//  1. prepared: the next key is stored beside the current one. Writes
//     still use the current key, but every claim they take is also
//     checked against the next key's, and reads accept both.
//  2. switched: writes use the new key and check claims against the
//     previous one's; reads accept both. The two phases are apart by more
//     than KeyRefresh, so a process that has not yet seen a phase never
//     meets one that is two phases ahead: no value can be claimed twice.
//  3. Once no process writes under the previous key any more, every
//     customer's claims and lookup members are re-derived under the new
//     key (MigrateIndex), resumably.
//  4. retired: the previous key is dropped. Cursors and self-service
//     tokens it signed stop opening: a list answers 400 invalid_cursor
//     and a link 404, as for any token the service did not issue.
const (
	phasePrepared = "prepared"
	phaseSwitched = "switched"
)

// DefaultKeyRefresh is how often a process re-reads the blind-index key
// item when Config.KeyRefresh is not set.
const DefaultKeyRefresh = time.Minute

const (
	indexKeyPK = "CONFIG#index-key"
	indexKeySK = "CONFIG"
)

var indexKeyContext = map[string]string{"table": logicalTable, "purpose": PurposeBlindIndex}

// indexKeys is one version of the blind-index key and what derives from it.
type indexKeys struct {
	version int
	index   *envelope.Indexer
	cursors *envelope.Cursors
	tokens  *envelope.PortalTokens
	root    []byte
}

func newIndexKeys(version int, key []byte) *indexKeys {
	ix := envelope.NewIndexer(key)
	clear(key)
	return &indexKeys{version: version, index: ix, cursors: envelope.NewCursors(ix.Derive("cursor")),
		tokens: envelope.NewPortalTokens(ix.Derive("portal")), root: ix.Derive("root-cause")}
}

// keySet is what a process knows of the blind-index key: cur signs and
// indexes every write; other, during a rotation, is accepted by every
// read and checked by every claim.
type keySet struct {
	cur, other *indexKeys
	phase      string
	checked    time.Time
}

// keyHolder is shared by copies of a Table, so that all see one key set.
type keyHolder struct {
	set atomic.Pointer[keySet]
	mu  sync.Mutex
}

// keyState is the key item.
type keyState struct {
	Wrapped []byte `dynamodbav:"wrapped"`
	// Keyring is keyringField when the field-envelope keyring wrapped the
	// key; empty for the first key, wrapped by the legacy keyring.
	Keyring      string `dynamodbav:"keyring,omitempty"`
	Version      int    `dynamodbav:"version,omitempty"`
	OtherWrapped []byte `dynamodbav:"otherWrapped,omitempty"`
	OtherKeyring string `dynamodbav:"otherKeyring,omitempty"`
	OtherVersion int    `dynamodbav:"otherVersion,omitempty"`
	Phase        string `dynamodbav:"phase,omitempty"`
	// Resume is where the re-derivation stopped (a Scan key as JSON), and
	// Migrated how many customers it has done.
	Resume   string `dynamodbav:"resume,omitempty"`
	Migrated int    `dynamodbav:"migrated,omitempty"`
}

func (st keyState) version() int { return max(st.Version, 1) }

// keyset returns the keys to use now, re-reading the key item when the
// last look is older than KeyRefresh. A failed re-read keeps the keys
// known and is retried at the next refresh; one goroutine re-reads at a
// time while the others go on with the keys known.
func (s *Table) keyset() *keySet {
	ks := s.keys.set.Load()
	if time.Since(ks.checked) < s.keyRefresh || !s.keys.mu.TryLock() {
		return ks
	}
	defer s.keys.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	next, err := s.loadKeys(ctx, ks)
	if err != nil {
		stale := *ks
		stale.checked = time.Now()
		next = &stale
	}
	s.keys.set.Store(next)
	return next
}

// loadKeys reads the key item, creating the first key if there is none,
// and unwraps what known does not already hold.
func (s *Table) loadKeys(ctx context.Context, known *keySet) (*keySet, error) {
	for range 3 {
		st, found, err := s.readKeyState(ctx)
		if err != nil {
			return nil, err
		}
		if found {
			return s.keySetOf(ctx, st, known)
		}
		plain, wrapped, err := s.kr.GenerateDataKey(ctx, indexKeyContext)
		if err != nil {
			return nil, keyringError(err, "generate index key")
		}
		item := itemKey(indexKeyPK, indexKeySK)
		item["wrapped"] = &types.AttributeValueMemberB{Value: wrapped}
		item["type"] = &types.AttributeValueMemberS{Value: "config"}
		item["keyring"] = &types.AttributeValueMemberS{Value: keyringField}
		item["version"] = &types.AttributeValueMemberN{Value: "1"}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
		if err == nil {
			return &keySet{cur: newIndexKeys(1, plain), checked: time.Now()}, nil
		}
		clear(plain)
		if !isConditionFailed(err) {
			return nil, wrap(err, "put index key")
		}
	}
	return nil, crm.Errorf(crm.EUNAVAILABLE, "the blind-index key could not be established")
}

func (s *Table) readKeyState(ctx context.Context) (keyState, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(indexKeyPK, indexKeySK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return keyState{}, false, wrap(err, "get index key")
	}
	if out.Item == nil {
		return keyState{}, false, nil
	}
	var st keyState
	if err := attributevalue.UnmarshalMap(out.Item, &st); err != nil || len(st.Wrapped) == 0 {
		return keyState{}, false, integrityError()
	}
	return st, true, nil
}

func (s *Table) keySetOf(ctx context.Context, st keyState, known *keySet) (*keySet, error) {
	ks := &keySet{phase: st.Phase, checked: time.Now()}
	var err error
	if ks.cur, err = s.unwrapIndexKey(ctx, st.Wrapped, st.Keyring, st.version(), known); err != nil {
		return nil, err
	}
	if st.Phase != "" && len(st.OtherWrapped) > 0 {
		if ks.other, err = s.unwrapIndexKey(ctx, st.OtherWrapped, st.OtherKeyring, max(st.OtherVersion, 1), known); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// unwrapIndexKey returns version of the key, from known when it holds it.
func (s *Table) unwrapIndexKey(ctx context.Context, wrapped []byte, by string, version int, known *keySet) (*indexKeys, error) {
	if known != nil {
		for _, k := range []*indexKeys{known.cur, known.other} {
			if k != nil && k.version == version {
				return k, nil
			}
		}
	}
	kr := s.legacyKR
	if by == keyringField {
		kr = s.kr
	}
	plain, err := kr.Decrypt(ctx, wrapped, indexKeyContext)
	if err != nil {
		return nil, keyringError(err, "unwrap index key")
	}
	if len(plain) != 32 {
		return nil, integrityError()
	}
	return newIndexKeys(version, plain), nil
}

// refreshKeys re-reads the key item now, as a rotation step does after
// changing it, so the process that changed it acts on the change at once.
func (s *Table) refreshKeys(ctx context.Context) error {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	next, err := s.loadKeys(ctx, s.keys.set.Load())
	if err != nil {
		return err
	}
	s.keys.set.Store(next)
	return nil
}

// Rotation is what `clientele keys rotate` drives: the phases of a
// rotation of the blind-index key, each idempotent, each resumable from
// the key item alone.
type Rotation struct {
	t *Table
	// PageSize is how many items each page of the re-derivation's Scan
	// evaluates (default 200); its position is recorded after each.
	PageSize int
}

// Rotation returns the rotation machinery of the table.
func (s *Table) Rotation() *Rotation { return &Rotation{t: s} }

// RotationState says where a rotation stands.
type RotationState struct {
	// Phase is "" (no rotation), "prepared" or "switched".
	Phase string
	// Version is the version writes use; Other the one also accepted.
	Version, Other int
	// Migrated counts the customers re-derived so far; Done says the
	// re-derivation has gone through the whole table.
	Migrated int
	Done     bool
}

// State returns where a rotation stands.
func (r *Rotation) State(ctx context.Context) (RotationState, error) {
	st, found, err := r.t.readKeyState(ctx)
	if err != nil || !found {
		return RotationState{}, err
	}
	return RotationState{Phase: st.Phase, Version: st.version(), Other: st.OtherVersion, Migrated: st.Migrated, Done: st.Resume == resumeDone}, nil
}

// resumeDone marks a re-derivation that has gone through the whole table.
const resumeDone = "done"

// Prepare starts a rotation: a new key, wrapped by the field-envelope
// keyring, is stored as the next one. It does nothing when a rotation is
// already under way.
func (r *Rotation) Prepare(ctx context.Context) error {
	s := r.t
	st, _, err := s.readKeyState(ctx)
	if err != nil {
		return err
	}
	if st.Phase != "" {
		return nil
	}
	plain, wrapped, err := s.kr.GenerateDataKey(ctx, indexKeyContext)
	if err != nil {
		return keyringError(err, "generate index key")
	}
	clear(plain)
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: itemKey(indexKeyPK, indexKeySK),
		UpdateExpression:    aws.String("SET otherWrapped = :w, otherKeyring = :k, otherVersion = :nv, phase = :p REMOVE resume, migrated"),
		ConditionExpression: aws.String("attribute_not_exists(phase) AND (attribute_not_exists(version) OR version = :v)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":w": &types.AttributeValueMemberB{Value: wrapped}, ":k": &types.AttributeValueMemberS{Value: keyringField},
			":nv": num(st.version() + 1), ":v": num(st.version()), ":p": &types.AttributeValueMemberS{Value: phasePrepared},
		},
	})
	if err != nil && !isConditionFailed(err) {
		return wrap(err, "prepare index key rotation")
	}
	return s.refreshKeys(ctx)
}

// Switch moves writes to the next key, which becomes current; the
// previous one is still accepted. It does nothing unless the rotation is
// prepared.
func (r *Rotation) Switch(ctx context.Context) error {
	s := r.t
	st, _, err := s.readKeyState(ctx)
	if err != nil {
		return err
	}
	if st.Phase != phasePrepared {
		return nil
	}
	item := itemKey(indexKeyPK, indexKeySK)
	next := keyState{Wrapped: st.OtherWrapped, Keyring: st.OtherKeyring, Version: st.OtherVersion,
		OtherWrapped: st.Wrapped, OtherKeyring: st.Keyring, OtherVersion: st.version(), Phase: phaseSwitched}
	av, err := attributevalue.MarshalMap(next)
	if err != nil {
		return fmt.Errorf("marshal index key: %w", err)
	}
	for k, v := range av {
		item[k] = v
	}
	item["type"] = &types.AttributeValueMemberS{Value: "config"}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("phase = :p AND otherVersion = :nv"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: phasePrepared}, ":nv": num(st.OtherVersion)}})
	if err != nil && !isConditionFailed(err) {
		return wrap(err, "switch index key")
	}
	return s.refreshKeys(ctx)
}

// Migrate re-derives, under the current key, the claims and lookup
// members that every customer holds under the previous one. It records
// where it stands in the key item after each page, so a run that stops
// resumes there; a customer done twice is moved once. Progress goes to
// progress. It returns how many entries it moved and how many it could
// not because another customer holds the value under the new key (a
// duplicate let in by a process that missed a phase; the entry is left
// under the previous key and reported by customer id).
func (r *Rotation) Migrate(ctx context.Context, progress io.Writer) (moved, conflicts int, err error) {
	s := r.t
	if err := s.refreshKeys(ctx); err != nil {
		return 0, 0, err
	}
	ks := s.keys.set.Load()
	st, _, err := s.readKeyState(ctx)
	if err != nil {
		return 0, 0, err
	}
	if st.Phase != phaseSwitched || ks.other == nil {
		return 0, 0, errors.New("migrate: the rotation has not switched to the new key")
	}
	if st.Resume == resumeDone {
		return 0, 0, nil
	}
	var start map[string]types.AttributeValue
	if st.Resume != "" {
		var key map[string]string
		if err := json.Unmarshal([]byte(st.Resume), &key); err != nil {
			return 0, 0, fmt.Errorf("migrate: resume point: %w", err)
		}
		start = stringKey(key)
	}
	done := st.Migrated
	for {
		out, err := s.db.Scan(ctx, &dynamodb.ScanInput{
			TableName: &s.table, ExclusiveStartKey: start, ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(cmp.Or(r.PageSize, 200))),
			FilterExpression:          aws.String("#t = :c"),
			ExpressionAttributeNames:  map[string]string{"#t": "type"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: entityCustomer}},
		})
		if err != nil {
			return moved, conflicts, wrap(err, "scan customers")
		}
		for _, item := range out.Items {
			c, _, err := s.fromCustomerItem(ctx, item)
			if err != nil {
				fmt.Fprintf(progress, "customer %s: cannot be opened, its index entries stay under the previous key\n", strAttr(item, "id"))
				conflicts++
				continue
			}
			m, bad, err := s.moveIndexEntries(ctx, ks, c)
			if err != nil {
				return moved, conflicts, err
			}
			moved += m
			if err := s.rederiveDupSignals(ctx, c); err != nil {
				return moved, conflicts, err
			}
			if bad {
				fmt.Fprintf(progress, "customer %s: a value it holds is claimed by another customer under the new key\n", c.ID)
				conflicts++
			}
			done++
		}
		resume := resumeDone
		switch {
		case out.LastEvaluatedKey != nil:
			raw, _ := json.Marshal(plainKey(out.LastEvaluatedKey))
			resume = string(raw)
		case conflicts > 0:
			// Not done: what could not move would be lost with the old
			// key. The next run starts over, once the duplicates are
			// resolved.
			resume, done = "", 0
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: itemKey(indexKeyPK, indexKeySK),
			UpdateExpression:    aws.String("SET resume = :r, migrated = :m"),
			ConditionExpression: aws.String("phase = :p AND version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: resume},
				":m": num(done), ":p": &types.AttributeValueMemberS{Value: phaseSwitched}, ":v": num(ks.cur.version)},
		})
		if err != nil {
			return moved, conflicts, wrap(err, "record rotation progress")
		}
		fmt.Fprintf(progress, "re-derived the index entries of %d customers (%d moved)\n", done, moved)
		if out.LastEvaluatedKey == nil {
			return moved, conflicts, nil
		}
		start = out.LastEvaluatedKey
	}
}

// moveIndexEntries moves c's claims and lookup members from the previous
// key's partitions to the current key's, each field in one transaction:
// the new entry is put and the old deleted only if the old is still c's.
func (s *Table) moveIndexEntries(ctx context.Context, ks *keySet, c crm.Customer) (moved int, conflict bool, err error) {
	for _, f := range lookupFields {
		v := f.value(c)
		if v == "" {
			continue
		}
		oldPK, newPK := indexPK(ks.other, f.name, v), indexPK(ks.cur, f.name, v)
		var ops []types.TransactWriteItem
		for _, sk := range []string{skClaim, customerPK(c.ID)} {
			out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: itemKey(oldPK, sk), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return moved, conflict, wrap(err, "get index entry")
			}
			if out.Item == nil || strAttr(out.Item, "customerId") != c.ID {
				continue
			}
			item := out.Item
			item[attrPK] = &types.AttributeValueMemberS{Value: newPK}
			owned := map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: c.ID}}
			ops = append(ops,
				types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
					ConditionExpression: aws.String("attribute_not_exists(PK) OR customerId = :id"), ExpressionAttributeValues: owned}},
				types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: itemKey(oldPK, sk),
					ConditionExpression: aws.String("customerId = :id"), ExpressionAttributeValues: owned}})
		}
		if len(ops) == 0 {
			continue
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
		var tce *types.TransactionCanceledException
		switch {
		case err == nil:
			moved += len(ops) / 2
		case errors.As(err, &tce) && !isConflictOnly(tce):
			// Either the customer changed meanwhile (its write moved the
			// entry already) or another customer holds the new claim.
			if holder, _ := s.claimHolderUnder(ctx, ks.cur, f.name, v); holder != "" && holder != c.ID {
				conflict = true
			}
		default:
			return moved, conflict, wrap(err, "move index entries")
		}
	}
	// Search entries move too, but are not counted: the count is of the
	// lookups and claims the rotation report names.
	_, err = s.moveSearchEntries(ctx, ks, c)
	return moved, conflict, err
}

// Retire drops the previous key once the re-derivation is done: cursors
// and tokens it signed stop opening, and nothing is looked up under it.
func (r *Rotation) Retire(ctx context.Context) error {
	s := r.t
	st, _, err := s.readKeyState(ctx)
	if err != nil {
		return err
	}
	if st.Phase != phaseSwitched {
		return nil
	}
	if st.Resume != resumeDone {
		return errors.New("retire: the index entries have not all been re-derived under the new key")
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: itemKey(indexKeyPK, indexKeySK),
		UpdateExpression:          aws.String("REMOVE otherWrapped, otherKeyring, otherVersion, phase, resume, migrated"),
		ConditionExpression:       aws.String("phase = :p AND version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: phaseSwitched}, ":v": num(st.version())},
	})
	if err != nil && !isConditionFailed(err) {
		return wrap(err, "retire index key")
	}
	return s.refreshKeys(ctx)
}

func num(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }

func plainKey(key map[string]types.AttributeValue) map[string]string {
	out := make(map[string]string, len(key))
	for k, v := range key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out[k] = s.Value
		}
	}
	return out
}

func stringKey(key map[string]string) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(key))
	for k, v := range key {
		out[k] = &types.AttributeValueMemberS{Value: v}
	}
	return out
}

// portalTokens signs self-service tokens with the current key and, while
// the blind-index key is rotated, accepts those the other key signed. It
// implements crm.TokenSigner.
type portalTokens struct {
	t *Table
	// purpose is "" for the self-service links, else the kind of link
	// (envelope.PortalTokens.ForPurpose).
	purpose string
}

// PortalTokens returns the signer of self-service tokens, keyed from the
// table's blind-index key.
func (s *Table) PortalTokens() crm.TokenSigner { return portalTokens{t: s} }

// SurveyTokens returns the signer of satisfaction-survey tokens: the
// portal's machinery under the purpose "survey", so neither kind of token
// opens the other's link.
func (s *Table) SurveyTokens() crm.TokenSigner { return portalTokens{t: s, purpose: "survey"} }

func (p portalTokens) of(k *indexKeys) *envelope.PortalTokens {
	if p.purpose == "" {
		return k.tokens
	}
	return k.tokens.ForPurpose(p.purpose)
}

func (p portalTokens) SignPortal(linkID, customerID string, expires time.Time) string {
	return p.of(p.t.keyset().cur).SignPortal(linkID, customerID, expires)
}

// LimitKey digests value under the current key: a rotation starts the
// rate limits' counts afresh, which only forgives a few requests.
func (p portalTokens) LimitKey(value string) string {
	return p.of(p.t.keyset().cur).LimitKey(value)
}

func (p portalTokens) OpenPortal(token string) (linkID, customerID string, expires time.Time, ok bool) {
	ks := p.t.keyset()
	if linkID, customerID, expires, ok = p.of(ks.cur).OpenPortal(token); ok || ks.other == nil {
		return linkID, customerID, expires, ok
	}
	return p.of(ks.other).OpenPortal(token)
}

// strAttr is a string attribute of item, "" when it has none.
func strAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
