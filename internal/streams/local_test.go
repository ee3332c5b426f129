package streams_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/streams"
)

// The tests in this file read real streams of DynamoDB Local.

func TestStreamARNOfTable(t *testing.T) {
	l := newLocal(t)
	if !strings.HasPrefix(l.arn, "arn:") || !strings.Contains(l.arn, l.table) {
		t.Fatalf("stream ARN %q is not the table %s's", l.arn, l.table)
	}
	if _, err := streams.StreamARN(context.Background(), l.db, l.table+"-missing"); err == nil {
		t.Fatal("StreamARN of a missing table succeeded")
	}
}

// richItem holds every kind of attribute value, nested ones included.
func richItem(lb string, count string) map[string]types.AttributeValue {
	return item(lb, map[string]types.AttributeValue{
		"name":   &types.AttributeValueMemberS{Value: "Widget"},
		"count":  &types.AttributeValueMemberN{Value: count},
		"blob":   &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xfe, 0xff}},
		"active": &types.AttributeValueMemberBOOL{Value: true},
		"gone":   &types.AttributeValueMemberNULL{Value: true},
		"tags":   &types.AttributeValueMemberSS{Value: []string{"red", "blue", "green"}},
		"scores": &types.AttributeValueMemberNS{Value: []string{"1", "2.5", "-3"}},
		"chunks": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
		"steps": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "first"},
			&types.AttributeValueMemberN{Value: "2"},
			&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberBOOL{Value: false}}},
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "v"}}},
		}},
		"address": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"city":  &types.AttributeValueMemberS{Value: "Springfield"},
			"floor": &types.AttributeValueMemberN{Value: "3"},
			"codes": &types.AttributeValueMemberNS{Value: []string{"10", "20"}},
			"inner": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"raw": &types.AttributeValueMemberB{Value: []byte("xyz")},
			}},
		}},
	})
}

func TestInsertModifyRemoveWithImages(t *testing.T) {
	l := newLocal(t)
	start := time.Now().Add(-time.Minute)
	first, second := richItem("rich", "42"), richItem("rich", "43")
	second["tags"] = &types.AttributeValueMemberSS{Value: []string{"yellow"}}
	delete(second, "gone")
	l.put(first)
	l.put(second)
	l.delete("rich")

	r := &recorder{}
	drain(t, l.poller(r, streams.Options{}), 3)
	recs := r.records()
	if got := labelsOf(recs); !slices.Equal(got, []string{"rich", "rich", "rich"}) {
		t.Fatalf("records of %v", got)
	}
	for i, want := range []string{"INSERT", "MODIFY", "REMOVE"} {
		if recs[i].EventName != want {
			t.Fatalf("record %d is %s, want %s", i, recs[i].EventName, want)
		}
	}
	images := []struct {
		old, new map[string]types.AttributeValue
	}{{nil, first}, {first, second}, {second, nil}}
	ids := map[string]bool{}
	for i, rec := range recs {
		if got, want := canon(consumer.ToAttributeValues(rec.Change.OldImage)), canon(images[i].old); !reflect.DeepEqual(got, want) {
			t.Errorf("%s old image:\n got %v\nwant %v", rec.EventName, got, want)
		}
		if got, want := canon(consumer.ToAttributeValues(rec.Change.NewImage)), canon(images[i].new); !reflect.DeepEqual(got, want) {
			t.Errorf("%s new image:\n got %v\nwant %v", rec.EventName, got, want)
		}
		if got, want := canon(consumer.ToAttributeValues(rec.Change.Keys)), canon(key("rich")); !reflect.DeepEqual(got, want) {
			t.Errorf("%s keys %v, want %v", rec.EventName, got, want)
		}
		if rec.EventSource != "aws:dynamodb" || rec.EventSourceArn != l.arn || rec.AWSRegion == "" {
			t.Errorf("%s source %q, ARN %q, region %q", rec.EventName, rec.EventSource, rec.EventSourceArn, rec.AWSRegion)
		}
		if rec.EventID == "" || ids[rec.EventID] {
			t.Errorf("%s event id %q is empty or repeated", rec.EventName, rec.EventID)
		}
		ids[rec.EventID] = true
		if rec.Change.StreamViewType != "NEW_AND_OLD_IMAGES" || rec.Change.SizeBytes <= 0 {
			t.Errorf("%s view type %q, size %d", rec.EventName, rec.Change.StreamViewType, rec.Change.SizeBytes)
		}
		if at := rec.Change.ApproximateCreationDateTime.Time; at.Before(start) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s created at %v, not around now", rec.EventName, at)
		}
		if i > 0 && !seqLess(t, recs[i-1].Change.SequenceNumber, rec.Change.SequenceNumber) {
			t.Errorf("sequence numbers out of order: %s then %s", recs[i-1].Change.SequenceNumber, rec.Change.SequenceNumber)
		}
	}

	// A handler decodes images as it decodes items.
	var got struct {
		Name    string
		Count   int
		Blob    []byte
		Active  bool
		Gone    *string
		Tags    []string  `dynamodbav:",stringset"`
		Scores  []float64 `dynamodbav:",numberset"`
		Chunks  [][]byte  `dynamodbav:",binaryset"`
		Steps   []any
		Address struct {
			City  string
			Floor int
			Codes []int `dynamodbav:",numberset"`
			Inner struct{ Raw []byte }
		}
	}
	if err := attributevalue.UnmarshalMap(consumer.ToAttributeValues(recs[0].Change.NewImage), &got); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got.Tags)
	slices.Sort(got.Scores)
	slices.Sort(got.Address.Codes)
	if got.Name != "Widget" || got.Count != 42 || string(got.Blob) != "\x00\x01\x02\xfe\xff" || !got.Active || got.Gone != nil ||
		!slices.Equal(got.Tags, []string{"blue", "green", "red"}) || !slices.Equal(got.Scores, []float64{-3, 1, 2.5}) ||
		len(got.Chunks) != 2 || len(got.Steps) != 4 || got.Steps[0] != "first" ||
		got.Address.City != "Springfield" || got.Address.Floor != 3 || !slices.Equal(got.Address.Codes, []int{10, 20}) ||
		string(got.Address.Inner.Raw) != "xyz" {
		t.Fatalf("decoded new image %+v", got)
	}
}

func TestDrainDeliversOnlyWhatIsNew(t *testing.T) {
	l := newLocal(t)
	r := &recorder{}
	p := l.poller(r, streams.Options{BatchSize: 100})

	drain(t, p, 0)
	l.putLabels("a0", "a1", "a2")
	drain(t, p, 3)
	assertBatches(t, r.labels(), [][]string{{"a0", "a1", "a2"}})
	drain(t, p, 0)
	if n := len(r.labels()); n != 1 {
		t.Fatalf("a Drain with nothing new called the handler: %d calls", n)
	}

	// 250 more, written in batches: delivered once each, at most 100 a call.
	var want []string
	for b := range 10 {
		var reqs []types.WriteRequest
		for i := range 25 {
			lb := fmt.Sprintf("b%03d", b*25+i)
			want = append(want, lb)
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item(lb, nil)}})
		}
		out, err := l.db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{l.table: reqs}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.UnprocessedItems) > 0 {
			t.Fatalf("DynamoDB Local left %d writes unprocessed", len(out.UnprocessedItems[l.table]))
		}
	}
	drain(t, p, 250)
	calls := r.labels()[1:]
	if len(calls) < 3 {
		t.Fatalf("250 records in %d calls of at most 100", len(calls))
	}
	var got []string
	for _, c := range calls {
		if len(c) == 0 || len(c) > 100 {
			t.Fatalf("a call of %d records", len(c))
		}
		got = append(got, c...)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %d records, not the 250 written once each", len(got))
	}

	l.putLabels("c0")
	drain(t, p, 1)
	if last := r.labels()[len(r.labels())-1]; !slices.Equal(last, []string{"c0"}) {
		t.Fatalf("last delivery %v, want [c0]", last)
	}
	drain(t, p, 0)

	// A new Poller starts from the oldest record.
	fresh := &recorder{}
	drain(t, l.poller(fresh, streams.Options{BatchSize: 1000}), 254)
}

func TestPartialBatchFailureRedeliversFromFirstFailed(t *testing.T) {
	t.Run("one failure", func(t *testing.T) {
		l := newLocal(t)
		l.putLabels("p0", "p1", "p2", "p3", "p4")
		r := &recorder{respond: func(call int, batch []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
			if call == 1 {
				// Failures listed out of order: the earliest one counts.
				return fail(batch, "p4", "p2"), nil
			}
			return events.DynamoDBEventResponse{}, nil
		}}
		p := l.poller(r, streams.Options{BatchSize: 10})
		drain(t, p, 5)
		assertBatches(t, r.labels(), [][]string{{"p0", "p1", "p2", "p3", "p4"}, {"p2", "p3", "p4"}})
		drain(t, p, 0)
		if n := len(r.labels()); n != 2 {
			t.Fatalf("%d deliveries after a Drain with nothing new, want 2", n)
		}
	})
	t.Run("checkpoint moves on", func(t *testing.T) {
		l := newLocal(t)
		l.putLabels("p0", "p1", "p2", "p3", "p4")
		r := &recorder{respond: func(call int, batch []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
			switch call {
			case 1:
				return fail(batch, "p1"), nil
			case 2:
				return fail(batch, "p3"), nil
			}
			return events.DynamoDBEventResponse{}, nil
		}}
		drain(t, l.poller(r, streams.Options{BatchSize: 10}), 5)
		assertBatches(t, r.labels(), [][]string{{"p0", "p1", "p2", "p3", "p4"}, {"p1", "p2", "p3", "p4"}, {"p3", "p4"}})
	})
	t.Run("unknown identifier fails the batch", func(t *testing.T) {
		l := newLocal(t)
		l.putLabels("u0", "u1")
		r := &recorder{respond: func(call int, _ []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
			if call == 1 {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "not-a-sequence-number"}}}, nil
			}
			return events.DynamoDBEventResponse{}, nil
		}}
		drain(t, l.poller(r, streams.Options{}), 2)
		assertBatches(t, r.labels(), [][]string{{"u0", "u1"}, {"u0", "u1"}})
	})
}

func TestHandlerErrorRetriesBatch(t *testing.T) {
	l := newLocal(t)
	l.putLabels("e0", "e1", "e2")
	r := &recorder{respond: func(call int, _ []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
		if call <= 2 {
			return events.DynamoDBEventResponse{}, errors.New("temporarily unavailable")
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	p := l.poller(r, streams.Options{BatchSize: 2})
	drain(t, p, 3)
	assertBatches(t, r.labels(), [][]string{{"e0", "e1"}, {"e0", "e1"}, {"e0", "e1"}, {"e2"}})
	drain(t, p, 0)
}

func TestMaxAttemptsSkipsBatch(t *testing.T) {
	const secret = "do-not-log-this-content"
	t.Run("handler error", func(t *testing.T) {
		l := newLocal(t)
		for _, lb := range []string{"m0", "m1", "m2", "m3"} {
			l.put(item(lb, map[string]types.AttributeValue{"private": &types.AttributeValueMemberS{Value: secret}}))
		}
		log, logs := logBuffer()
		r := &recorder{respond: func(_ int, batch []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
			if label(batch[0]) == "m0" {
				return events.DynamoDBEventResponse{}, errors.New("poison batch")
			}
			return events.DynamoDBEventResponse{}, nil
		}}
		p := l.poller(r, streams.Options{BatchSize: 2, MaxAttempts: 3, Logger: log})
		drain(t, p, 4)
		assertBatches(t, r.labels(), [][]string{{"m0", "m1"}, {"m0", "m1"}, {"m0", "m1"}, {"m2", "m3"}})
		drain(t, p, 0)
		out := logs.String()
		want := fmt.Sprintf(`"firstSequenceNumber":"%s"`, seqOf(t, r.records(), "m0"))
		if strings.Count(out, "stream batch skipped") != 1 || !strings.Contains(out, want) || !strings.Contains(out, `"records":2`) {
			t.Fatalf("skip not logged with its position and size:\n%s", out)
		}
		if strings.Contains(out, secret) || strings.Contains(out, "STREAMTEST#") {
			t.Fatalf("item contents logged:\n%s", out)
		}
	})
	t.Run("same failed record", func(t *testing.T) {
		l := newLocal(t)
		l.putLabels("q0", "q1", "q2")
		log, logs := logBuffer()
		r := &recorder{respond: func(_ int, batch []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
			return fail(batch, "q1"), nil
		}}
		p := l.poller(r, streams.Options{BatchSize: 5, MaxAttempts: 3, Logger: log})
		drain(t, p, 3)
		// q1 fails three times in a row, once in the first batch and twice
		// at the head of the retried one; then the rest is skipped.
		assertBatches(t, r.labels(), [][]string{{"q0", "q1", "q2"}, {"q1", "q2"}, {"q1", "q2"}})
		drain(t, p, 0)
		want := fmt.Sprintf(`"firstSequenceNumber":"%s"`, seqOf(t, r.records(), "q1"))
		if out := logs.String(); !strings.Contains(out, want) || !strings.Contains(out, `"attempts":3`) {
			t.Fatalf("skip not logged from q1 after 3 attempts:\n%s", out)
		}
	})
}

func TestRunDeliversUntilCancelled(t *testing.T) {
	l := newLocal(t)
	got := make(chan string, 10)
	h := func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, rec := range ev.Records {
			got <- label(rec)
		}
		return events.DynamoDBEventResponse{}, nil
	}
	p := streams.New(l.client, l.arn, h, streams.Options{PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	expect := func(want string) {
		t.Helper()
		select {
		case lb := <-got:
			if lb != want {
				t.Fatalf("Run delivered %s, want %s", lb, want)
			}
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("Run did not deliver %s", want)
		}
	}
	l.putLabels("r0")
	expect("r0")
	l.putLabels("r1")
	expect("r1")

	// Drain beside Run waits for Run's pass and delivers nothing twice.
	if n, err := p.Drain(context.Background()); err != nil || n != 0 {
		t.Fatalf("Drain beside Run: %d records, %v", n, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	l.putLabels("r2")
	time.Sleep(50 * time.Millisecond)
	select {
	case lb := <-got:
		t.Fatalf("%s delivered after Run stopped", lb)
	default:
	}
}
