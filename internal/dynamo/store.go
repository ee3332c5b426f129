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

// Table is the main table and the audit table as the stores share them: one
// client, one sealer, one blind index. The stores (stores.go) are views of
// it, one per aggregate.
type Table struct {
	db         DB
	table      string
	auditTable string
	sealer     *envelope.Sealer
	index      *envelope.Indexer
	cursors    *envelope.Cursors
	tokens     *envelope.PortalTokens
	retention  Retention
	now        func() time.Time
	// unaudited skips the audit entry; only the benchmark that prices the
	// audit sets it (export_test.go).
	unaudited bool
}

// Retention says how long records are kept once they are done with. Zero
// keeps them for ever. DynamoDB's TTL deletes them some time after they
// expire; reads treat them as gone from the moment they do.
type Retention struct {
	ClosedComplaints time.Duration
	Interactions     time.Duration
	Tombstones       time.Duration
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
	// Cache bounds how long and for how many items a data key is reused.
	Cache envelope.Options
}

// Open returns the Table, creating the table's blind-index key on first use.
func Open(ctx context.Context, cfg Config) (*Table, error) {
	s := &Table{db: cfg.DB, table: cfg.Table, auditTable: cfg.AuditTable,
		sealer: envelope.NewSealer(cfg.Keyring, cfg.Cache), retention: cfg.Retention, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	key, err := s.indexKey(ctx, cfg.Keyring)
	if err != nil {
		return nil, err
	}
	s.index = envelope.NewIndexer(key)
	s.cursors = envelope.NewCursors(s.index.Derive("cursor"))
	s.tokens = envelope.NewPortalTokens(s.index.Derive("portal"))
	return s, nil
}

// PortalTokens returns the signer of self-service tokens, keyed from the
// table's blind-index key.
func (s *Table) PortalTokens() *envelope.PortalTokens { return s.tokens }

// KeyringCalls reports how many times the store called the keyring.
func (s *Table) KeyringCalls() int64 { return s.sealer.KeyringCalls() }

// Ping checks that the table answers.
func (s *Table) Ping(ctx context.Context) error {
	_, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	return wrap(err, "describe table")
}

var indexKeyContext = map[string]string{"table": logicalTable, "purpose": "blind-index"}

// indexKey returns the blind-index key. It lives in the table wrapped by the
// keyring; the first process to need it creates it, and a conditional write
// makes every racing process agree on one key.
func (s *Table) indexKey(ctx context.Context, kr envelope.Keyring) ([]byte, error) {
	key := itemKey("CONFIG#index-key", "CONFIG")
	for range 3 {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, wrap(err, "get index key")
		}
		if wrapped, ok := out.Item["wrapped"].(*types.AttributeValueMemberB); ok {
			plain, err := kr.Decrypt(ctx, wrapped.Value, indexKeyContext)
			if err != nil {
				return nil, keyringError(err, "unwrap index key")
			}
			return plain, nil
		}
		plain, wrapped, err := kr.GenerateDataKey(ctx, indexKeyContext)
		if err != nil {
			return nil, keyringError(err, "generate index key")
		}
		item := itemKey("CONFIG#index-key", "CONFIG")
		item["wrapped"] = &types.AttributeValueMemberB{Value: wrapped}
		item["type"] = &types.AttributeValueMemberS{Value: "config"}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")})
		if err == nil {
			return plain, nil
		}
		if !isConditionFailed(err) {
			return nil, wrap(err, "put index key")
		}
	}
	return nil, crm.Errorf(crm.EUNAVAILABLE, "the blind-index key could not be established")
}

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
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap(err, "query")
		}
		var out []T
		for _, item := range page.Items {
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
