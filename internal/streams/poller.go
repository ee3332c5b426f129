// Package streams stands in, locally, for Lambda's DynamoDB Streams event
// source mapping: it reads a table's stream from DynamoDB Local and delivers
// the records, in order per shard and in batches, to the handler that runs
// on AWS, honouring partial batch responses (ReportBatchItemFailures).
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Handler is a Lambda DynamoDB stream handler with partial batch responses.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// API is the part of the DynamoDB Streams client the poller uses.
type API interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// Options tune a Poller as the event source mapping's settings do.
type Options struct {
	// BatchSize bounds the records per handler call (default 100).
	BatchSize int
	// PollInterval is the pause when the stream has nothing new (default 250ms).
	PollInterval time.Duration
	// MaxAttempts bounds the deliveries of one batch before it is skipped
	// and logged, as MaximumRetryAttempts would send it to the on-failure
	// destination (default 10).
	MaxAttempts int
	Logger      *slog.Logger
}

// Poller delivers a stream's records to a handler.
type Poller struct {
	client API
	arn    string
	h      Handler
	o      Options
	// last is the sequence number of the last record delivered, by shard;
	// closed marks shards read to their end.
	last   map[string]string
	closed map[string]bool
}

// New returns a Poller of the stream arn that starts at each shard's oldest
// record.
func New(client API, arn string, h Handler, o Options) *Poller {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Poller{client: client, arn: arn, h: h, o: o, last: map[string]string{}, closed: map[string]bool{}}
}

// StreamARN returns the ARN of table's current stream.
func StreamARN(ctx context.Context, db interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}, table string) (string, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		return "", fmt.Errorf("describe table %s: %w", table, err)
	}
	if out.Table.LatestStreamArn == nil {
		return "", fmt.Errorf("table %s has no stream", table)
	}
	return *out.Table.LatestStreamArn, nil
}

// Run delivers records as they arrive until ctx is done.
func (p *Poller) Run(ctx context.Context) error {
	for {
		n, err := p.Drain(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.o.Logger.LogAttrs(ctx, slog.LevelWarn, "stream poll failed", slog.String("error", err.Error()))
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(p.o.PollInterval):
			}
		}
	}
}

// Drain delivers every record in the stream not yet delivered, parents'
// shards before their children's, and returns how many it delivered.
func (p *Poller) Drain(ctx context.Context) (int, error) {
	shards, err := p.shards(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		if p.closed[id] {
			continue
		}
		n, err := p.drainShard(ctx, id)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// shards lists the stream's shards, each after its parent.
func (p *Poller) shards(ctx context.Context) ([]st.Shard, error) {
	var all []st.Shard
	var start *string
	for {
		out, err := p.client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &p.arn, ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		all = append(all, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			break
		}
	}
	ids := map[string]bool{}
	for _, s := range all {
		ids[aws.ToString(s.ShardId)] = true
	}
	var ordered []st.Shard
	placed := map[string]bool{}
	for len(ordered) < len(all) {
		progress := false
		for _, s := range all {
			id, parent := aws.ToString(s.ShardId), aws.ToString(s.ParentShardId)
			if placed[id] || (parent != "" && ids[parent] && !placed[parent]) {
				continue
			}
			ordered, placed[id], progress = append(ordered, s), true, true
		}
		if !progress {
			return nil, errors.New("stream shards form a cycle")
		}
	}
	return ordered, nil
}

func (p *Poller) iterator(ctx context.Context, shard string) (*string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: &p.arn, ShardId: &shard, ShardIteratorType: st.ShardIteratorTypeTrimHorizon}
	if seq, ok := p.last[shard]; ok {
		in.ShardIteratorType, in.SequenceNumber = st.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	}
	out, err := p.client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get shard iterator: %w", err)
	}
	return out.ShardIterator, nil
}

// drainShard delivers a shard's records up to its current end.
func (p *Poller) drainShard(ctx context.Context, shard string) (int, error) {
	it, err := p.iterator(ctx, shard)
	if err != nil {
		return 0, err
	}
	total := 0
	for it != nil {
		out, err := p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(1000)})
		var expired *st.ExpiredIteratorException
		var trimmed *st.TrimmedDataAccessException
		if errors.As(err, &expired) || errors.As(err, &trimmed) {
			if it, err = p.iterator(ctx, shard); err != nil {
				return total, err
			}
			continue
		}
		if err != nil {
			return total, fmt.Errorf("get records: %w", err)
		}
		recs := make([]events.DynamoDBEventRecord, len(out.Records))
		for i, r := range out.Records {
			recs[i] = p.toEvent(r)
		}
		for len(recs) > 0 {
			n := min(p.o.BatchSize, len(recs))
			if err := p.deliver(ctx, shard, recs[:n]); err != nil {
				return total, err
			}
			total += n
			recs = recs[n:]
		}
		if out.NextShardIterator == nil {
			p.closed[shard] = true
			break
		}
		if len(out.Records) == 0 {
			break // caught up with an open shard
		}
		it = out.NextShardIterator
	}
	return total, nil
}

// deliver hands a batch to the handler until it succeeds, resuming after a
// partial failure from the first failed record, as Lambda does; a batch
// that fails MaxAttempts times is skipped and logged.
func (p *Poller) deliver(ctx context.Context, shard string, batch []events.DynamoDBEventRecord) error {
	for attempt := 1; len(batch) > 0; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := p.h(ctx, events.DynamoDBEvent{Records: batch})
		failed := -1
		if err == nil {
			for _, f := range resp.BatchItemFailures {
				i := slices.IndexFunc(batch, func(r events.DynamoDBEventRecord) bool { return r.Change.SequenceNumber == f.ItemIdentifier })
				if i < 0 {
					i = 0 // an unknown identifier fails the whole batch, as on AWS
				}
				if failed < 0 || i < failed {
					failed = i
				}
			}
		} else {
			failed = 0
		}
		if failed < 0 {
			p.last[shard] = batch[len(batch)-1].Change.SequenceNumber
			return nil
		}
		if failed > 0 {
			p.last[shard] = batch[failed-1].Change.SequenceNumber
			batch, attempt = batch[failed:], 0
			continue
		}
		if attempt >= p.o.MaxAttempts {
			p.o.Logger.LogAttrs(ctx, slog.LevelError, "stream batch skipped after repeated failures",
				slog.String("shard", shard), slog.String("firstSequenceNumber", batch[0].Change.SequenceNumber), slog.Int("records", len(batch)))
			p.last[shard] = batch[len(batch)-1].Change.SequenceNumber
			return nil
		}
	}
	return nil
}

func (p *Poller) toEvent(r st.Record) events.DynamoDBEventRecord {
	ev := events.DynamoDBEventRecord{
		EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventSource: "aws:dynamodb",
		EventSourceArn: p.arn, EventVersion: aws.ToString(r.EventVersion), AWSRegion: aws.ToString(r.AwsRegion),
	}
	if s := r.Dynamodb; s != nil {
		ev.Change = events.DynamoDBStreamRecord{
			Keys: fromStream(s.Keys), NewImage: fromStream(s.NewImage), OldImage: fromStream(s.OldImage),
			SequenceNumber: aws.ToString(s.SequenceNumber), SizeBytes: aws.ToInt64(s.SizeBytes), StreamViewType: string(s.StreamViewType),
		}
		if s.ApproximateCreationDateTime != nil {
			ev.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *s.ApproximateCreationDateTime}
		}
	}
	return ev
}
