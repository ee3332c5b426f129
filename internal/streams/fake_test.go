package streams_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/streams"
)

// The tests in this file cover what DynamoDB Local does not readily show —
// several shards, expired and trimmed iterators — with a fake stream, and
// the conversion of every kind of value field by field.

const fakeARN = "arn:aws:dynamodb:local:000000000000:table/fake/stream/2026-01-01T00:00:00.000"

// fakeShard is one shard of a fakeStream. Its records' sequence numbers
// are "<shard>-<n>" and their keys' PK the same, so label names them.
type fakeShard struct {
	id, parent string
	closed     bool
	recs       []st.Record
	// trimmed is how many records at its start have been trimmed away.
	trimmed int
}

// fakeStream serves a stream from memory, pageSize records a GetRecords
// call and one shard a DescribeStream call.
type fakeStream struct {
	mu       sync.Mutex
	shards   []*fakeShard
	pageSize int
	// endless makes closed shards hand out a next iterator even at their
	// end, as some implementations do.
	endless bool
	// failGets lists GetRecords calls (counted from 1) that fail with an
	// expired iterator.
	failGets map[int]bool
	gets     int
	// iterators logs each GetShardIterator request as "shard TYPE [seq]".
	iterators []string
	// reads counts GetRecords calls by shard.
	reads map[string]int
	// describes counts DescribeStream calls.
	describes int
}

func newFake(pageSize int, shards ...*fakeShard) *fakeStream {
	return &fakeStream{shards: shards, pageSize: pageSize, failGets: map[int]bool{}, reads: map[string]int{}}
}

// add appends n records to shard s.
func (s *fakeShard) add(n int) *fakeShard {
	for range n {
		seq := fmt.Sprintf("%s-%d", s.id, len(s.recs))
		s.recs = append(s.recs, st.Record{
			EventID:   aws.String("ev-" + seq),
			EventName: st.OperationTypeInsert,
			Dynamodb: &st.StreamRecord{
				Keys:           map[string]st.AttributeValue{"PK": &st.AttributeValueMemberS{Value: "STREAMTEST#" + seq}},
				SequenceNumber: aws.String(seq),
			},
		})
	}
	return s
}

func (f *fakeStream) shard(id string) *fakeShard {
	for _, s := range f.shards {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (f *fakeStream) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	i := 0
	if in.ExclusiveStartShardId != nil {
		i = slices.IndexFunc(f.shards, func(s *fakeShard) bool { return s.id == *in.ExclusiveStartShardId }) + 1
	}
	desc := &st.StreamDescription{StreamArn: in.StreamArn}
	if i < len(f.shards) {
		s := f.shards[i]
		sh := st.Shard{ShardId: aws.String(s.id), SequenceNumberRange: &st.SequenceNumberRange{StartingSequenceNumber: aws.String(s.id + "-0")}}
		if s.parent != "" {
			sh.ParentShardId = aws.String(s.parent)
		}
		if s.closed {
			sh.SequenceNumberRange.EndingSequenceNumber = aws.String(fmt.Sprintf("%s-%d", s.id, len(s.recs)))
		}
		desc.Shards = []st.Shard{sh}
		if i+1 < len(f.shards) {
			desc.LastEvaluatedShardId = aws.String(s.id)
		}
	}
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: desc}, nil
}

func (f *fakeStream) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.ShardId)
	f.iterators = append(f.iterators, strings.TrimSpace(fmt.Sprintf("%s %s %s", id, in.ShardIteratorType, aws.ToString(in.SequenceNumber))))
	s := f.shard(id)
	if s == nil {
		return nil, &st.ResourceNotFoundException{Message: aws.String("no shard " + id)}
	}
	pos := s.trimmed
	if in.ShardIteratorType == st.ShardIteratorTypeAfterSequenceNumber {
		i := slices.IndexFunc(s.recs, func(r st.Record) bool { return *r.Dynamodb.SequenceNumber == aws.ToString(in.SequenceNumber) })
		if i < 0 {
			return nil, errors.New("unknown sequence number")
		}
		if i < s.trimmed {
			return nil, &st.TrimmedDataAccessException{Message: aws.String("trimmed")}
		}
		pos = i + 1
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("%s/%d", id, pos))}, nil
}

func (f *fakeStream) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.failGets[f.gets] {
		return nil, &st.ExpiredIteratorException{Message: aws.String("expired")}
	}
	id, p, _ := strings.Cut(aws.ToString(in.ShardIterator), "/")
	pos, err := strconv.Atoi(p)
	s := f.shard(id)
	if err != nil || s == nil {
		return nil, errors.New("bad iterator")
	}
	if pos < s.trimmed {
		// An iterator kept past the retention points at records gone.
		return nil, &st.TrimmedDataAccessException{Message: aws.String("trimmed")}
	}
	f.reads[id]++
	end := min(pos+f.pageSize, len(s.recs), pos+int(aws.ToInt32(in.Limit)))
	out := &dynamodbstreams.GetRecordsOutput{Records: slices.Clone(s.recs[pos:end])}
	if !s.closed || end < len(s.recs) || f.endless {
		out.NextShardIterator = aws.String(fmt.Sprintf("%s/%d", id, end))
	}
	return out, nil
}

func (f *fakeStream) update(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func TestParentShardsBeforeChildren(t *testing.T) {
	// Listed child first, one shard a DescribeStream page.
	grandchild := (&fakeShard{id: "s3", parent: "s2"}).add(2)
	child := (&fakeShard{id: "s2", parent: "s1", closed: true}).add(2)
	root := (&fakeShard{id: "s1", closed: true}).add(3)
	orphan := (&fakeShard{id: "s0", parent: "trimmed-away", closed: true}).add(1)
	f := newFake(2, grandchild, child, root, orphan)
	r := &recorder{}
	p := streams.New(f, fakeARN, r.handle, streams.Options{BatchSize: 10})
	drain(t, p, 8)

	// Batches follow pages here and never mix shards; the lineage s1, s2,
	// s3 is delivered in order, the orphan s0 at any point.
	var lineage []string
	for _, b := range r.labels() {
		shard, _, _ := strings.Cut(b[0], "-")
		for _, lb := range b {
			if !strings.HasPrefix(lb, shard+"-") {
				t.Fatalf("batch %v mixes shards", b)
			}
		}
		if shard != "s0" {
			lineage = append(lineage, b...)
		}
	}
	if want := []string{"s1-0", "s1-1", "s1-2", "s2-0", "s2-1", "s3-0", "s3-1"}; !slices.Equal(lineage, want) {
		t.Fatalf("lineage delivered as %v, want %v", lineage, want)
	}
	if n := len(r.labels()); n != 5 {
		t.Fatalf("%d batches, want 5 (one a page)", n)
	}
	for _, rec := range r.records() {
		if rec.EventSourceArn != fakeARN || rec.EventSource != "aws:dynamodb" {
			t.Fatalf("record from %q %q", rec.EventSource, rec.EventSourceArn)
		}
	}

	// Finished shards are not read again; the open one is.
	reads := readCounts(f)
	drain(t, p, 0)
	after := readCounts(f)
	for _, id := range []string{"s0", "s1", "s2"} {
		if after[id] != reads[id] {
			t.Errorf("finished shard %s read again", id)
		}
	}
	if after["s3"] == reads["s3"] {
		t.Error("open shard s3 not read again")
	}
	f.update(func() { grandchild.add(1) })
	drain(t, p, 1)
	if last := r.labels()[len(r.labels())-1]; !slices.Equal(last, []string{"s3-2"}) {
		t.Fatalf("last delivery %v, want [s3-2]", last)
	}
}

func readCounts(f *fakeStream) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.reads {
		out[k] = v
	}
	return out
}

func TestChildWaitsForOpenParent(t *testing.T) {
	parent := (&fakeShard{id: "p"}).add(2)
	child := (&fakeShard{id: "c", parent: "p"}).add(2)
	f := newFake(100, parent, child)
	r := &recorder{}
	p := streams.New(f, fakeARN, r.handle, streams.Options{})
	drain(t, p, 2)
	assertBatches(t, r.labels(), [][]string{{"p-0", "p-1"}})

	// The parent closes with one more record: it goes before the child's.
	f.update(func() { parent.add(1); parent.closed = true })
	drain(t, p, 3)
	assertBatches(t, r.labels(), [][]string{{"p-0", "p-1"}, {"p-2"}, {"c-0", "c-1"}})
}

func TestClosedShardWithEndlessIterator(t *testing.T) {
	parent := (&fakeShard{id: "p", closed: true}).add(1)
	child := (&fakeShard{id: "c", parent: "p"}).add(1)
	f := newFake(100, parent, child)
	f.endless = true
	r := &recorder{}
	drain(t, streams.New(f, fakeARN, r.handle, streams.Options{}), 2)
	assertBatches(t, r.labels(), [][]string{{"p-0"}, {"c-0"}})
}

func TestExpiredIteratorResumesAfterLastDelivered(t *testing.T) {
	s := (&fakeShard{id: "s"}).add(5)
	f := newFake(2, s)
	f.failGets[2] = true // the second page's iterator has expired
	r := &recorder{}
	p := streams.New(f, fakeARN, r.handle, streams.Options{})
	drain(t, p, 5)
	assertBatches(t, r.labels(), [][]string{{"s-0", "s-1"}, {"s-2", "s-3"}, {"s-4"}})
	if want := []string{"s TRIM_HORIZON", "s AFTER_SEQUENCE_NUMBER s-1"}; !slices.Equal(f.iterators, want) {
		t.Fatalf("iterators %q, want %q", f.iterators, want)
	}

	// An iterator that keeps expiring is an error, not a loop.
	f.update(func() {
		s.add(1)
		for i := range 10 {
			f.failGets[f.gets+1+i] = true
		}
	})
	_, err := p.Drain(context.Background())
	var expired *st.ExpiredIteratorException
	if !errors.As(err, &expired) {
		t.Fatalf("Drain with an always expiring iterator: %v", err)
	}
}

func TestTrimmedPositionResumesAtOldest(t *testing.T) {
	s := (&fakeShard{id: "s"}).add(2)
	f := newFake(100, s)
	log, logs := logBuffer()
	r := &recorder{}
	p := streams.New(f, fakeARN, r.handle, streams.Options{Logger: log})
	drain(t, p, 2)
	// Records older than the retention went, with some never delivered.
	f.update(func() { s.add(3); s.trimmed = 3 })
	drain(t, p, 2)
	assertBatches(t, r.labels(), [][]string{{"s-0", "s-1"}, {"s-3", "s-4"}})
	if !strings.Contains(logs.String(), "trimmed") {
		t.Fatalf("lost position not logged:\n%s", logs.String())
	}
}

func TestBatchSizeSplitsPages(t *testing.T) {
	f := newFake(1000, (&fakeShard{id: "s"}).add(7))
	r := &recorder{}
	drain(t, streams.New(f, fakeARN, r.handle, streams.Options{BatchSize: 3}), 7)
	assertBatches(t, r.labels(), [][]string{{"s-0", "s-1", "s-2"}, {"s-3", "s-4", "s-5"}, {"s-6"}})
}

func TestDrainStopsOnCancel(t *testing.T) {
	f := newFake(100, (&fakeShard{id: "s"}).add(3))
	ctx, cancel := context.WithCancel(context.Background())
	var got [][]string
	shuttingDown := true
	h := func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		got = append(got, labelsOf(ev.Records))
		if shuttingDown {
			cancel()
			return events.DynamoDBEventResponse{}, errors.New("failing while shutting down")
		}
		return events.DynamoDBEventResponse{}, nil
	}
	p := streams.New(f, fakeARN, h, streams.Options{BatchSize: 2})
	if _, err := p.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain after cancel: %v", err)
	}
	// Not retried once cancelled, and not checkpointed: delivered again.
	shuttingDown = false
	drain(t, p, 3)
	assertBatches(t, got, [][]string{{"s-0", "s-1"}, {"s-0", "s-1"}, {"s-2"}})
}

func TestRunWithDoneContext(t *testing.T) {
	f := newFake(100, (&fakeShard{id: "s"}).add(1))
	r := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := streams.New(f, fakeARN, r.handle, streams.Options{}).Run(ctx); err != nil {
		t.Fatalf("Run with a done context: %v", err)
	}
	if n := len(r.labels()); n != 0 {
		t.Fatalf("Run with a done context delivered %d batches", n)
	}
}

func TestRecordConversion(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	image := map[string]st.AttributeValue{
		"s":    &st.AttributeValueMemberS{Value: "text"},
		"n":    &st.AttributeValueMemberN{Value: "12.5"},
		"b":    &st.AttributeValueMemberB{Value: []byte{9, 8}},
		"t":    &st.AttributeValueMemberBOOL{Value: true},
		"null": &st.AttributeValueMemberNULL{Value: true},
		"ss":   &st.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &st.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"bs":   &st.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"l":    &st.AttributeValueMemberL{Value: []st.AttributeValue{&st.AttributeValueMemberS{Value: "x"}, &st.AttributeValueMemberNULL{Value: true}}},
		"m": &st.AttributeValueMemberM{Value: map[string]st.AttributeValue{
			"inner": &st.AttributeValueMemberM{Value: map[string]st.AttributeValue{"ns": &st.AttributeValueMemberNS{Value: []string{"7"}}}},
		}},
	}
	s := &fakeShard{id: "s", recs: []st.Record{{
		AwsRegion:    aws.String("eu-west-1"),
		EventID:      aws.String("ev-1"),
		EventName:    st.OperationTypeRemove,
		EventVersion: aws.String("1.1"),
		UserIdentity: &st.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")},
		Dynamodb: &st.StreamRecord{
			ApproximateCreationDateTime: &at,
			Keys:                        map[string]st.AttributeValue{"PK": &st.AttributeValueMemberS{Value: "k"}},
			OldImage:                    image,
			SequenceNumber:              aws.String("100"),
			SizeBytes:                   aws.Int64(321),
			StreamViewType:              st.StreamViewTypeNewAndOldImages,
		},
	}}}
	r := &recorder{}
	drain(t, streams.New(newFake(10, s), fakeARN, r.handle, streams.Options{}), 1)
	rec := r.records()[0]
	if rec.AWSRegion != "eu-west-1" || rec.EventID != "ev-1" || rec.EventName != "REMOVE" || rec.EventVersion != "1.1" ||
		rec.EventSource != "aws:dynamodb" || rec.EventSourceArn != fakeARN {
		t.Errorf("record fields %+v", rec)
	}
	if rec.UserIdentity == nil || rec.UserIdentity.Type != "Service" || rec.UserIdentity.PrincipalID != "dynamodb.amazonaws.com" {
		t.Errorf("user identity %+v", rec.UserIdentity)
	}
	c := rec.Change
	if !c.ApproximateCreationDateTime.Equal(at) || c.SequenceNumber != "100" || c.SizeBytes != 321 ||
		c.StreamViewType != "NEW_AND_OLD_IMAGES" || c.NewImage != nil || c.Keys["PK"].String() != "k" {
		t.Errorf("change %+v", c)
	}
	old := c.OldImage
	checks := []struct {
		name string
		ok   bool
	}{
		{"s", old["s"].DataType() == events.DataTypeString && old["s"].String() == "text"},
		{"n", old["n"].DataType() == events.DataTypeNumber && old["n"].Number() == "12.5"},
		{"b", old["b"].DataType() == events.DataTypeBinary && string(old["b"].Binary()) == "\x09\x08"},
		{"t", old["t"].DataType() == events.DataTypeBoolean && old["t"].Boolean()},
		{"null", old["null"].DataType() == events.DataTypeNull},
		{"ss", old["ss"].DataType() == events.DataTypeStringSet && slices.Equal(old["ss"].StringSet(), []string{"a", "b"})},
		{"ns", old["ns"].DataType() == events.DataTypeNumberSet && slices.Equal(old["ns"].NumberSet(), []string{"1", "2"})},
		{"bs", old["bs"].DataType() == events.DataTypeBinarySet && len(old["bs"].BinarySet()) == 2 && old["bs"].BinarySet()[1][0] == 2},
		{"l", old["l"].DataType() == events.DataTypeList && len(old["l"].List()) == 2 && old["l"].List()[0].String() == "x" && old["l"].List()[1].IsNull()},
		{"m", old["m"].DataType() == events.DataTypeMap && slices.Equal(old["m"].Map()["inner"].Map()["ns"].NumberSet(), []string{"7"})},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("attribute %s converted wrongly: %+v", ch.name, old[ch.name])
		}
	}

	// And back: the event's image as DynamoDB's attribute values.
	back := canon(consumer.ToAttributeValues(old))
	want := map[string]any{
		"s": "S:text", "n": "N:12.5", "b": "B:0908", "t": "BOOL:true", "null": "NULL:true",
		"ss": "SS:a,b", "ns": "NS:1,2", "bs": "BS:01,02",
		"l": []any{"S:x", "NULL:true"},
		"m": map[string]any{"M": map[string]any{"inner": map[string]any{"M": map[string]any{"ns": "NS:7"}}}},
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("ToAttributeValues:\n got %v\nwant %v", back, want)
	}
	if consumer.ToAttributeValues(nil) != nil {
		t.Error("ToAttributeValues(nil) is not nil")
	}
}

func TestRunKeepsItsPlaceBetweenPasses(t *testing.T) {
	s := (&fakeShard{id: "s"}).add(3)
	f := newFake(100, s)
	r := &recorder{}
	p := streams.New(f, fakeARN, r.handle, streams.Options{PollInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	waitFor(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.reads["s"] >= 20
	})
	f.update(func() { s.add(2) })
	waitFor(t, func() bool {
		n := 0
		for _, b := range r.labels() {
			n += len(b)
		}
		return n == 5
	})
	cancel()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	// Caught-up passes read on with the iterator the last one ended with:
	// one iterator taken, and the shards listed once, however many passes.
	if want := []string{"s TRIM_HORIZON"}; !slices.Equal(f.iterators, want) {
		t.Fatalf("iterators %q, want %q", f.iterators, want)
	}
	if f.describes != 1 {
		t.Fatalf("%d DescribeStream calls in %d passes, want 1", f.describes, f.reads["s"])
	}
	assertBatches(t, r.labels(), [][]string{{"s-0", "s-1", "s-2"}, {"s-3", "s-4"}})
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
	}
}
