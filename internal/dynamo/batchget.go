package dynamo

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// batchGetMax is the most keys one BatchGetItem may name.
const batchGetMax = 100

// batchGetStalls bounds the requests in a row that process none of a
// batch's keys: past it the table is too busy to answer, a 503.
const batchGetStalls = 8

// batchGet reads the items at keys from the main table, consistently, at
// most batchGetMax keys a request, and hands each item found to each, in no
// particular order; a key with no item is skipped. Keys DynamoDB leaves
// unprocessed (throttling, or an answer past 16 MB) are asked for again
// after an exponential, fully jittered back-off, as DynamoDB advises.
func (s *Table) batchGet(ctx context.Context, op string, keys []map[string]types.AttributeValue, each func(map[string]types.AttributeValue)) error {
	for start := 0; start < len(keys); start += batchGetMax {
		batch := keys[start:min(start+batchGetMax, len(keys))]
		for stalls := 0; len(batch) > 0; {
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{s.table: {Keys: batch, ConsistentRead: aws.Bool(true)}}})
			if err != nil {
				return wrap(err, op)
			}
			for _, it := range out.Responses[s.table] {
				each(it)
			}
			left := out.UnprocessedKeys[s.table].Keys
			if len(left) == 0 {
				break
			}
			if len(left) < len(batch) {
				stalls = 0
			} else if stalls++; stalls == batchGetStalls {
				return &crm.Error{Code: crm.EUNAVAILABLE, Message: "the database is unavailable or busy; retry shortly"}
			}
			select {
			case <-time.After(backoff(stalls + 1)):
			case <-ctx.Done():
				return wrap(ctx.Err(), op)
			}
			batch = left
		}
	}
	return nil
}

// backoff is the wait before the attempt-th retry: full jitter over an
// exponential ceiling from 20 ms, capped at one second.
func backoff(attempt int) time.Duration {
	ceiling := min(20*time.Millisecond<<min(attempt-1, 6), time.Second)
	return rand.N(ceiling) + time.Millisecond
}
