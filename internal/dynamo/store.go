// Package dynamo stores Clientele's data in DynamoDB. Sensitive fields are
// sealed here, at the boundary, so the domain only ever sees plaintext and
// the table only ever holds ciphertext and keyed blind indexes.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/awserr"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	// Scan serves only `reports rebuild`, which must read everything.
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// logicalTable names the main table in associated data and encryption
// contexts. It is not the physical name, so a table restored under another
// name still opens.
const logicalTable = "clientele-main"

// LogicalTable is the table's name in encryption contexts, which grants
// on the keys are conditioned on.
const LogicalTable = logicalTable

// Table is the main table and the audit table as the stores share them: one
// client, one sealer, one blind index. The stores (stores.go) are views of
// it, one per aggregate.
type Table struct {
	db         DB
	table      string
	auditTable string
	sealer     *envelope.Sealer
	// legacy opens items sealed before purposes; it is sealer when the
	// same keyring wrapped them.
	legacy *envelope.Sealer
	// keys are the blind-index keys and what derives from them
	// (indexkeys.go), shared by every copy of the Table.
	keys       *keyHolder
	kr         envelope.Keyring
	legacyKR   envelope.Keyring
	keyRefresh time.Duration
	retention  Retention
	now        func() time.Time
	// counts groups concurrent access counts (access.go), shared by
	// every copy of the Table.
	counts *groupCommit
}

// Retention says how long records are kept once they are done with. Zero
// keeps them for ever. DynamoDB's TTL deletes them some time after they
// expire; reads treat them as gone from the moment they do.
type Retention struct {
	ClosedComplaints time.Duration
	Interactions     time.Duration
	Tombstones       time.Duration
	// ConsentOnErase says which consent records an erasure keeps; they
	// then expire with the tombstone. Zero keeps none.
	ConsentOnErase crm.ConsentRetention
}

// Config configures the Table.
type Config struct {
	DB    DB
	Table string
	// AuditTable holds the audit log.
	AuditTable string
	Retention  Retention
	// Now is the store's clock, for audit timestamps and retention.
	Now func() time.Time
	// Keyring protects data keys and the blind-index key.
	Keyring envelope.Keyring
	// LegacyKeyring unwraps what was wrapped before field envelopes had a
	// key of their own: items sealed without a purpose and the first
	// blind-index key. Nil means Keyring wrapped them.
	LegacyKeyring envelope.Keyring
	// Cache bounds how long and for how many items a data key is reused.
	Cache envelope.Options
	// KeyRefresh is how often a process looks for a rotation of the
	// blind-index key (default a minute); a rotation waits longer than
	// this between its phases.
	KeyRefresh time.Duration
}

// Open returns the Table, creating the table's blind-index key on first use.
func Open(ctx context.Context, cfg Config) (*Table, error) {
	s := &Table{db: cfg.DB, table: cfg.Table, auditTable: cfg.AuditTable,
		sealer: envelope.NewSealer(cfg.Keyring, cfg.Cache), retention: cfg.Retention, now: cfg.Now, counts: newGroupCommit()}
	s.legacy, s.kr, s.legacyKR = s.sealer, cfg.Keyring, cfg.Keyring
	if cfg.LegacyKeyring != nil {
		s.legacyKR = cfg.LegacyKeyring
		s.legacy = envelope.NewSealer(cfg.LegacyKeyring, cfg.Cache)
	}
	s.keyRefresh = cfg.KeyRefresh
	if s.keyRefresh <= 0 {
		s.keyRefresh = DefaultKeyRefresh
	}
	if s.now == nil {
		s.now = time.Now
	}
	ks, err := s.loadKeys(ctx, nil)
	if err != nil {
		return nil, err
	}
	s.keys = &keyHolder{}
	s.keys.set.Store(ks)
	return s, nil
}

// KeyringCalls reports how many times the store called the keyring.
func (s *Table) KeyringCalls() int64 { return s.sealer.KeyringCalls() }

// Ping checks that the table answers.
func (s *Table) Ping(ctx context.Context) error {
	_, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	return wrap(err, "describe table")
}

// keyringField marks a key wrapped by the field-envelope keyring.
const keyringField = "field"

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// sortTime formats t so that strings sort as instants do.
func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// throttleCodes are DynamoDB's error codes for "too much, slow down".
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true, "ThrottlingException": true,
	"RequestLimitExceeded": true, "LimitExceededException": true,
}

// wrap turns an SDK error into a domain error: throttling, service faults
// and an unreachable or slow service are EUNAVAILABLE (503); anything else
// keeps its chain for the log.
func wrap(err error, op string) error {
	switch {
	case err == nil:
		return nil
	case awserr.Transient(err, throttleCodes), errors.Is(err, context.Canceled):
		return &crm.Error{Code: crm.EUNAVAILABLE, Message: "the database is unavailable or busy; retry shortly"}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// keyringError maps keyring failures to domain errors: an unavailable
// keyring is a 503, a ciphertext that does not open is an integrity error.
func keyringError(err error, op string) error {
	switch {
	case errors.Is(err, envelope.ErrUnavailable):
		return &crm.Error{Code: crm.EUNAVAILABLE, Message: "the key service is unavailable; retry shortly"}
	case errors.Is(err, envelope.ErrIntegrity):
		return &crm.Error{Code: crm.EINTEGRITY, Message: "stored data failed its integrity check"}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// eachPage Queries in page by page, handing each page's items, decoded by
// decode (which skips an item by returning false), to each.
func eachPage[T any](ctx context.Context, s *Table, in *dynamodb.QueryInput, decode func(map[string]types.AttributeValue) (T, bool, error), each func([]T) error) error {
	p := dynamodb.NewQueryPaginator(s.db, in)
	index, pkAttr, pk := "", "", ""
	if in.IndexName != nil {
		index, pkAttr = *in.IndexName, indexPartitionKey(*in.IndexName)
		if v, ok := in.ExpressionAttributeValues[":pk"].(*types.AttributeValueMemberS); ok {
			pk = v.Value
		}
	}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap(err, "query")
		}
		items, err := s.fetch(ctx, aws.ToString(in.TableName), index, pkAttr, pk, page.Items)
		if err != nil {
			return err
		}
		var out []T
		for _, item := range items {
			v, ok, err := decode(item)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, v)
			}
		}
		if len(out) > 0 {
			if err := each(out); err != nil {
				return err
			}
		}
	}
	return nil
}
