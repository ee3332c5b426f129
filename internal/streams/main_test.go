package streams_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// local is one test's table on DynamoDB Local and a streams client of the
// same endpoint. The table is the main table's definition, stream included,
// under a name of its own: the services testenv builds write to their main
// table, and the tests here count every record of the stream.
type local struct {
	t      *testing.T
	db     *dynamodb.Client
	table  string
	client streams.API
	arn    string
}

func newLocal(t *testing.T) *local {
	t.Helper()
	ctx := context.Background()
	e := testenv.New(t)
	table := e.Config.Table + "-streams"
	if _, err := e.DB.CreateTable(ctx, dynamo.MainTable.CreateTableInput(table)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = e.DB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	if err := dynamodb.NewTableExistsWaiter(e.DB).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	client := e.StreamsClient()
	arn, err := streams.StreamARN(ctx, e.DB, table)
	if err != nil {
		t.Fatal(err)
	}
	return &local{t: t, db: e.DB, table: table, client: client, arn: arn}
}

// key is the primary key of the test item labelled label.
func key(label string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "STREAMTEST#" + label},
		"SK": &types.AttributeValueMemberS{Value: "ITEM"},
	}
}

// item is the test item labelled label with attrs besides its key.
func item(label string, attrs map[string]types.AttributeValue) map[string]types.AttributeValue {
	it := key(label)
	for k, v := range attrs {
		it[k] = v
	}
	return it
}

func (l *local) put(it map[string]types.AttributeValue) {
	l.t.Helper()
	if _, err := l.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(l.table), Item: it}); err != nil {
		l.t.Fatal(err)
	}
}

// putLabels writes one small item per label, in order.
func (l *local) putLabels(labels ...string) {
	l.t.Helper()
	for _, lb := range labels {
		l.put(item(lb, map[string]types.AttributeValue{"note": &types.AttributeValueMemberS{Value: "note of " + lb}}))
	}
}

func (l *local) delete(label string) {
	l.t.Helper()
	if _, err := l.db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(l.table), Key: key(label)}); err != nil {
		l.t.Fatal(err)
	}
}

func (l *local) poller(r *recorder, o streams.Options) *streams.Poller {
	return streams.New(l.client, l.arn, r.handle, o)
}

// recorder is a handler that records each batch it is given and answers
// as respond says (success when respond is nil).
type recorder struct {
	mu      sync.Mutex
	batches [][]events.DynamoDBEventRecord
	respond func(call int, batch []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error)
}

func (r *recorder) handle(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(ev.Records))
	call, respond := len(r.batches), r.respond
	r.mu.Unlock()
	if respond == nil {
		return events.DynamoDBEventResponse{}, nil
	}
	return respond(call, ev.Records)
}

// labels returns the label of every record of every batch, batch by batch.
func (r *recorder) labels() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]string, len(r.batches))
	for i, b := range r.batches {
		out[i] = labelsOf(b)
	}
	return out
}

// records returns every record delivered, in delivery order.
func (r *recorder) records() []events.DynamoDBEventRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Concat(r.batches...)
}

func labelsOf(recs []events.DynamoDBEventRecord) []string {
	out := make([]string, len(recs))
	for i, rec := range recs {
		out[i] = label(rec)
	}
	return out
}

// label names a record by its test item's label, or by its sequence number
// when it is not a test item.
func label(rec events.DynamoDBEventRecord) string {
	if pk, ok := rec.Change.Keys["PK"]; ok && pk.DataType() == events.DataTypeString {
		if lb, ok := strings.CutPrefix(pk.String(), "STREAMTEST#"); ok {
			return lb
		}
	}
	return "seq:" + rec.Change.SequenceNumber
}

// fail reports the records labelled labels as failed.
func fail(batch []events.DynamoDBEventRecord, labels ...string) events.DynamoDBEventResponse {
	var resp events.DynamoDBEventResponse
	for _, rec := range batch {
		if slices.Contains(labels, label(rec)) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
		}
	}
	return resp
}

// seqOf returns the sequence number of the first record labelled lb.
func seqOf(t *testing.T, recs []events.DynamoDBEventRecord, lb string) string {
	t.Helper()
	for _, rec := range recs {
		if label(rec) == lb {
			return rec.Change.SequenceNumber
		}
	}
	t.Fatalf("no record labelled %s", lb)
	return ""
}

func assertBatches(t *testing.T, got, want [][]string) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("deliveries:\n got %v\nwant %v", got, want)
	}
}

func drain(t *testing.T, p *streams.Poller, want int) {
	t.Helper()
	n, err := p.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("Drain delivered %d records, want %d", n, want)
	}
}

// seqLess compares two sequence numbers, which are decimal numbers too big
// for an int64.
func seqLess(t *testing.T, a, b string) bool {
	t.Helper()
	x, okA := new(big.Int).SetString(a, 10)
	y, okB := new(big.Int).SetString(b, 10)
	if !okA || !okB {
		t.Fatalf("sequence numbers %q and %q are not decimal", a, b)
	}
	return x.Cmp(y) < 0
}

// canon renders attribute values so that equal images compare equal with
// reflect.DeepEqual: each value is tagged with its kind and sets are sorted,
// since DynamoDB keeps no order in them.
func canon(m map[string]types.AttributeValue) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = canonValue(v)
	}
	return out
}

func canonValue(v types.AttributeValue) any {
	sorted := func(kind string, s []string) string {
		s = slices.Clone(s)
		slices.Sort(s)
		return kind + ":" + strings.Join(s, ",")
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberB:
		return "B:" + hex.EncodeToString(v.Value)
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprintf("BOOL:%t", v.Value)
	case *types.AttributeValueMemberNULL:
		return fmt.Sprintf("NULL:%t", v.Value)
	case *types.AttributeValueMemberSS:
		return sorted("SS", v.Value)
	case *types.AttributeValueMemberNS:
		return sorted("NS", v.Value)
	case *types.AttributeValueMemberBS:
		s := make([]string, len(v.Value))
		for i, b := range v.Value {
			s[i] = hex.EncodeToString(b)
		}
		return sorted("BS", s)
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = canonValue(e)
		}
		return l
	case *types.AttributeValueMemberM:
		return map[string]any{"M": canon(v.Value)}
	}
	return fmt.Sprintf("unknown %T", v)
}

// logBuffer is a JSON logger and what it wrote.
func logBuffer() (*slog.Logger, *testenv.LockedBuffer) {
	b := &testenv.LockedBuffer{}
	return slog.New(slog.NewJSONHandler(b, nil)), b
}
