package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

// mergedIndex reads several partitions of one index as one, newest (highest
// sort key) first: a k-way merge that Queries each partition a page at a
// time, only once its buffered items are used up. It serves an index whose
// partition key is spread over shards so that no one partition takes every
// write; sort keys must be unique across the partitions.
type mergedIndex struct {
	s      *Table
	index  string
	skAttr string
	parts  []*mergePart
}

type mergePart struct {
	in   *dynamodb.QueryInput
	buf  []map[string]types.AttributeValue
	done bool
}

// mergeIndex merges the partitions pks of index on table, keeping the items
// whose sort key is below below ("" for all), reading about want items in
// all from the first pages.
func (s *Table) mergeIndex(table, index, pkAttr, skAttr string, pks []string, below string, want int) *mergedIndex {
	cond := "#pk = :pk"
	names := map[string]string{"#pk": pkAttr}
	if below != "" {
		cond += " AND #sk < :sk"
		names["#sk"] = skAttr
	}
	// Each partition's first page holds twice its share, so that an
	// uneven spread rarely needs a second round trip.
	limit := int32(max(2*want/len(pks), 2) + 1)
	m := &mergedIndex{s: s, index: index, skAttr: skAttr}
	for _, pk := range pks {
		values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}
		if below != "" {
			values[":sk"] = &types.AttributeValueMemberS{Value: below}
		}
		m.parts = append(m.parts, &mergePart{in: &dynamodb.QueryInput{
			TableName: aws.String(table), IndexName: aws.String(index), KeyConditionExpression: aws.String(cond),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ScanIndexForward: aws.Bool(false), Limit: aws.Int32(limit),
		}})
	}
	return m
}

// peek returns the next item without taking it, nil at the end.
func (m *mergedIndex) peek(ctx context.Context) (map[string]types.AttributeValue, error) {
	p, err := m.head(ctx)
	if p == nil || err != nil {
		return nil, err
	}
	return p.buf[0], nil
}

// next takes the next item, nil at the end.
func (m *mergedIndex) next(ctx context.Context) (map[string]types.AttributeValue, error) {
	p, err := m.head(ctx)
	if p == nil || err != nil {
		return nil, err
	}
	it := p.buf[0]
	p.buf = p.buf[1:]
	return it, nil
}

// head refills every partition whose buffer is empty, at once, and returns
// the one whose first item comes next.
func (m *mergedIndex) head(ctx context.Context) (*mergePart, error) {
	for {
		var empty []*mergePart
		for _, p := range m.parts {
			if len(p.buf) == 0 && !p.done {
				empty = append(empty, p)
			}
		}
		if len(empty) == 0 {
			break
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, p := range empty {
			g.Go(func() error {
				out, err := m.s.db.Query(gctx, p.in)
				if err != nil {
					return wrap(err, "query "+m.index)
				}
				p.buf, p.in.ExclusiveStartKey, p.done = out.Items, out.LastEvaluatedKey, out.LastEvaluatedKey == nil
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	var best *mergePart
	for _, p := range m.parts {
		if len(p.buf) > 0 && (best == nil || strAttr(p.buf[0], m.skAttr) > strAttr(best.buf[0], m.skAttr)) {
			best = p
		}
	}
	return best, nil
}
