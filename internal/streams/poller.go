// Package streams stands in, locally, for Lambda's DynamoDB Streams event
// source mapping: it reads a table's stream from DynamoDB Local and delivers
// the records, in order per shard and in batches, to the handler that runs
// on AWS, honouring partial batch responses (ReportBatchItemFailures).
//
// Positions are kept in memory only: a new Poller starts at the oldest
// record of every shard (TRIM_HORIZON).
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Handler is a Lambda DynamoDB stream handler with partial batch responses.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// API is the part of the DynamoDB Streams client the poller uses;
// *dynamodbstreams.Client satisfies it.
type API interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ API = (*dynamodbstreams.Client)(nil)

// Options tune a Poller as the event source mapping's settings do.
type Options struct {
	// BatchSize bounds the records per handler call (default 100).
	BatchSize int
	// PollInterval is Run's pause between passes (default 250ms): the
	// event source mapping polls each shard four times a second. A pass
	// reads every shard to its current end, so a backlog does not wait
	// for the next pass; records that trickle in are delivered together,
	// a pass's worth at a time, not one read each.
	PollInterval time.Duration
	// MaxAttempts bounds the failed deliveries in a row of the same first
	// record before the rest of its batch is skipped and logged, as
	// MaximumRetryAttempts would send it to the on-failure destination
	// (default 10). A record the handler keeps failing is delivered
	// MaxAttempts times in all, counting the delivery in which it first
	// failed behind records that succeeded.
	MaxAttempts int
	// Logger receives skipped batches and polling failures, with shard
	// ids, sequence numbers and counts only, never item contents
	// (default: discard).
	Logger *slog.Logger
}

// Defaults of Options, those of the event source mapping where it has one.
const (
	DefaultBatchSize    = 100
	DefaultPollInterval = 250 * time.Millisecond
	DefaultMaxAttempts  = 10
)

// getRecordsLimit is the most records one GetRecords call may return.
const getRecordsLimit = 1000

// maxIteratorRefreshes bounds the fresh iterators taken in a row for one
// shard after expired or trimmed iterator errors.
const maxIteratorRefreshes = 3

// Poller delivers a stream's records to a handler. Drain and Run may be
// called from several goroutines; deliveries never overlap.
type Poller struct {
	client API
	arn    string
	h      Handler
	o      Options

	// mu is held for a whole delivery pass, so records stay in order.
	mu sync.Mutex
	// last is the sequence number of the last record delivered, by shard.
	last map[string]string
	// finished marks shards read to their end.
	finished map[string]bool
	// next holds, by open shard, the iterator just after its last record,
	// kept from one pass to the next as the event source mapping keeps
	// its own: a caught-up pass costs one GetRecords per shard, not a
	// fresh iterator.
	next map[string]*string
	// listed is the shard list of the last DescribeStream, at described;
	// Run lists the shards again every describeEvery, or when one closed.
	listed    []st.Shard
	described time.Time
}

// describeEvery is how often Run looks for new shards while the ones it
// knows stay open. DynamoDB opens a shard's successor only as it closes
// it, which a pass sees, so this is a backstop.
const describeEvery = 10 * time.Second

// New returns a Poller of the stream streamARN that starts at each shard's
// oldest record. Zero options take their defaults.
func New(client API, streamARN string, h Handler, o Options) *Poller {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Poller{client: client, arn: streamARN, h: h, o: o, last: map[string]string{}, finished: map[string]bool{}, next: map[string]*string{}}
}

// StreamARN returns the ARN of table's current stream (its LatestStreamArn).
func StreamARN(ctx context.Context, db interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}, table string) (string, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("describe table %s: %w", table, err)
	}
	if out.Table == nil || aws.ToString(out.Table.LatestStreamArn) == "" {
		return "", fmt.Errorf("table %s has no stream", table)
	}
	return *out.Table.LatestStreamArn, nil
}

// Run delivers records, a pass every PollInterval, until ctx is done, then
// returns nil. Failures to read the stream are logged and retried at the
// next pass.
func (p *Poller) Run(ctx context.Context) error {
	for {
		_, err := p.pass(ctx, false)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.o.Logger.LogAttrs(ctx, slog.LevelWarn, "stream poll failed", slog.String("error", err.Error()))
		}
		t := time.NewTimer(p.o.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Drain delivers every record in the stream that this Poller has not yet
// delivered, parents' shards before their children's, and returns how many
// it delivered. A record is counted once however often it was retried;
// the records of a skipped batch count too.
func (p *Poller) Drain(ctx context.Context) (int, error) { return p.pass(ctx, true) }

// pass delivers what is new, listing the stream's shards first when
// describe is set, when none are known, or when the list is due.
func (p *Poller) pass(ctx context.Context, describe bool) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if describe || p.listed == nil || time.Since(p.described) >= describeEvery {
		shards, err := p.shards(ctx)
		if err != nil {
			return 0, err
		}
		p.listed, p.described = shards, time.Now()
	}
	shards := p.listed
	listed := make(map[string]bool, len(shards))
	for _, sh := range shards {
		listed[aws.ToString(sh.ShardId)] = true
	}
	total := 0
	for _, sh := range shards {
		id, parent := aws.ToString(sh.ShardId), aws.ToString(sh.ParentShardId)
		if p.finished[id] {
			continue
		}
		if parent != "" && listed[parent] && !p.finished[parent] {
			continue // the parent still has records to deliver first
		}
		n, err := p.drainShard(ctx, sh)
		total += n
		if err != nil {
			return total, err
		}
		if p.finished[id] {
			p.listed = nil // its successor is listed now
		}
	}
	return total, nil
}

// shards lists the stream's shards, each after its parent.
func (p *Poller) shards(ctx context.Context) ([]st.Shard, error) {
	var all []st.Shard
	var start *string
	for {
		out, err := p.client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.arn), ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		if out.StreamDescription == nil {
			return nil, errors.New("describe stream: no stream description")
		}
		all = append(all, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return parentsFirst(all)
		}
	}
}

// parentsFirst orders shards so that each comes after its parent, when the
// parent is listed; a shard whose parent was trimmed away is a root.
func parentsFirst(all []st.Shard) ([]st.Shard, error) {
	listed := make(map[string]bool, len(all))
	for _, s := range all {
		listed[aws.ToString(s.ShardId)] = true
	}
	ordered := make([]st.Shard, 0, len(all))
	placed := make(map[string]bool, len(all))
	for len(ordered) < len(all) {
		progress := false
		for _, s := range all {
			id, parent := aws.ToString(s.ShardId), aws.ToString(s.ParentShardId)
			if placed[id] || (parent != "" && listed[parent] && !placed[parent]) {
				continue
			}
			ordered, placed[id], progress = append(ordered, s), true, true
		}
		if !progress {
			return nil, errors.New("describe stream: shards' parents form a cycle")
		}
	}
	return ordered, nil
}

// iterator returns an iterator just after the shard's last delivered
// record, or at its oldest record if none was delivered or the last one has
// been trimmed away.
func (p *Poller) iterator(ctx context.Context, shard string) (*string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.arn), ShardId: aws.String(shard), ShardIteratorType: st.ShardIteratorTypeTrimHorizon}
	seq, resume := p.last[shard]
	if resume {
		in.ShardIteratorType, in.SequenceNumber = st.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	}
	out, err := p.client.GetShardIterator(ctx, in)
	var trimmed *st.TrimmedDataAccessException
	if resume && errors.As(err, &trimmed) {
		p.o.Logger.LogAttrs(ctx, slog.LevelWarn, "stream position trimmed, resuming at the oldest record",
			slog.String("shard", shard), slog.String("afterSequenceNumber", seq))
		in.ShardIteratorType, in.SequenceNumber = st.ShardIteratorTypeTrimHorizon, nil
		out, err = p.client.GetShardIterator(ctx, in)
	}
	if err != nil {
		return nil, fmt.Errorf("get iterator of shard %s: %w", shard, err)
	}
	if out.ShardIterator == nil {
		return nil, fmt.Errorf("get iterator of shard %s: no iterator", shard)
	}
	return out.ShardIterator, nil
}

// stale tells whether err means the iterator can no longer be used.
func stale(err error) bool {
	var expired *st.ExpiredIteratorException
	var trimmed *st.TrimmedDataAccessException
	return errors.As(err, &expired) || errors.As(err, &trimmed)
}

// drainShard delivers a shard's records up to its current end, and marks
// the shard finished when it is closed and read to its end.
func (p *Poller) drainShard(ctx context.Context, sh st.Shard) (int, error) {
	id := aws.ToString(sh.ShardId)
	closed := sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil
	it := p.next[id]
	delete(p.next, id) // kept again only once caught up
	if it == nil {
		var err error
		if it, err = p.iterator(ctx, id); err != nil {
			return 0, err
		}
	}
	total, refreshes := 0, 0
	for {
		out, err := p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(getRecordsLimit)})
		if stale(err) && refreshes < maxIteratorRefreshes {
			refreshes++
			if it, err = p.iterator(ctx, id); err != nil {
				return total, err
			}
			continue
		}
		if err != nil {
			return total, fmt.Errorf("get records of shard %s: %w", id, err)
		}
		refreshes = 0
		n, err := p.deliverPage(ctx, id, out.Records)
		total += n
		if err != nil {
			return total, err
		}
		switch {
		case out.NextShardIterator == nil, closed && len(out.Records) == 0:
			p.finished[id] = true
			return total, nil
		case len(out.Records) == 0:
			p.next[id] = out.NextShardIterator // caught up with an open shard
			return total, nil
		}
		it = out.NextShardIterator
	}
}

// deliverPage delivers one GetRecords page in batches of at most BatchSize.
func (p *Poller) deliverPage(ctx context.Context, shard string, page []st.Record) (int, error) {
	recs := make([]events.DynamoDBEventRecord, len(page))
	for i, r := range page {
		recs[i] = p.toEvent(r)
	}
	total := 0
	for len(recs) > 0 {
		n := min(p.o.BatchSize, len(recs))
		if err := p.deliver(ctx, shard, recs[:n]); err != nil {
			return total, err
		}
		total += n
		recs = recs[n:]
	}
	return total, nil
}

// deliver hands a batch to the handler until it succeeds. After a partial
// failure it checkpoints just before the first failed record and delivers
// again from there, as Lambda does; a handler error retries the whole
// batch. After MaxAttempts failed deliveries from the same first record the
// rest of the batch is logged and skipped.
func (p *Poller) deliver(ctx context.Context, shard string, batch []events.DynamoDBEventRecord) error {
	attempts := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := p.h(ctx, events.DynamoDBEvent{Records: batch})
		failed := firstFailure(batch, resp, err)
		if failed < 0 {
			p.last[shard] = batch[len(batch)-1].Change.SequenceNumber
			return nil
		}
		if failed > 0 {
			p.last[shard] = batch[failed-1].Change.SequenceNumber
			batch, attempts = batch[failed:], 0
		}
		attempts++
		if attempts >= p.o.MaxAttempts {
			p.skip(ctx, shard, batch, attempts)
			return nil
		}
	}
}

// firstFailure returns the index of the first record the handler failed,
// or -1 when it handled them all. A handler error, or a failure naming no
// record of the batch, fails the whole batch, as on AWS.
func firstFailure(batch []events.DynamoDBEventRecord, resp events.DynamoDBEventResponse, err error) int {
	if err != nil {
		return 0
	}
	if len(resp.BatchItemFailures) == 0 {
		return -1
	}
	index := make(map[string]int, len(batch))
	for i, r := range batch {
		index[r.Change.SequenceNumber] = i
	}
	first := len(batch)
	for _, f := range resp.BatchItemFailures {
		i, ok := index[f.ItemIdentifier]
		if !ok {
			return 0
		}
		first = min(first, i)
	}
	return first
}

// skip gives up on a batch, logging where it was and how big, never what
// it held.
func (p *Poller) skip(ctx context.Context, shard string, batch []events.DynamoDBEventRecord, attempts int) {
	p.o.Logger.LogAttrs(ctx, slog.LevelError, "stream batch skipped after repeated failures",
		slog.String("streamArn", p.arn),
		slog.String("shard", shard),
		slog.String("firstSequenceNumber", batch[0].Change.SequenceNumber),
		slog.String("lastSequenceNumber", batch[len(batch)-1].Change.SequenceNumber),
		slog.Int("records", len(batch)),
		slog.Int("attempts", attempts))
	p.last[shard] = batch[len(batch)-1].Change.SequenceNumber
}

// toEvent converts a stream record into the record of a Lambda event.
func (p *Poller) toEvent(r st.Record) events.DynamoDBEventRecord {
	ev := events.DynamoDBEventRecord{
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    "aws:dynamodb",
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: p.arn,
		AWSRegion:      aws.ToString(r.AwsRegion),
	}
	if u := r.UserIdentity; u != nil {
		ev.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
	}
	if s := r.Dynamodb; s != nil {
		ev.Change = events.DynamoDBStreamRecord{
			Keys:           fromStream(s.Keys),
			NewImage:       fromStream(s.NewImage),
			OldImage:       fromStream(s.OldImage),
			SequenceNumber: aws.ToString(s.SequenceNumber),
			SizeBytes:      aws.ToInt64(s.SizeBytes),
			StreamViewType: string(s.StreamViewType),
		}
		if s.ApproximateCreationDateTime != nil {
			ev.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *s.ApproximateCreationDateTime}
		}
	}
	return ev
}

// NewClient returns a DynamoDB Streams client of DynamoDB Local at
// endpoint, which serves the Streams API on its own endpoint. On AWS,
// Lambda's event source mapping reads the stream instead.
func NewClient(cfg aws.Config, endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(endpoint) })
}
