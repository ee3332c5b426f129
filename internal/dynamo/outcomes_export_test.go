package dynamo

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// SeedActivity writes activity items directly, as the stream's outcome
// view would have, for the report benchmark's bulk loads.
func (s *Table) SeedActivity(ctx context.Context, acts []crm.Activity) error {
	var reqs []types.WriteRequest
	for _, a := range acts {
		it := activityItem{PK: "ACTIVITY#" + a.CustomerID, SK: "ACTIVITY", Type: entityActivity, CustomerID: a.CustomerID,
			OwnerID: a.OwnerID, Segment: a.Segment, Spans: a.Spans, Version: a.Version, Rev: 1}
		if len(a.Cycles) > 0 {
			it.Cycles = map[string]int64{}
			for b, n := range a.Cycles {
				it.Cycles[strconv.Itoa(b)] = n
			}
		}
		item, err := attributevalue.MarshalMap(it)
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return s.batchPut(ctx, reqs)
}
