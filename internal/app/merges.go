package app

import (
	"context"

	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// mergeView finishes what a merge or its undo left: the request moves the
// children itself, but a crash half way leaves some where they were, and
// the profile turning into a redirect (or back) is on the stream either
// way. It moves complaints, reminders and consent records; interactions,
// whose notes must be sealed anew, are moved by the request or its retry.
// Moving is idempotent, so a redelivery or the request's own run having
// finished moves nothing more.
type mergeView struct{ customers *dynamo.Customers }

func (mergeView) Name() string { return "merges" }

// Apply moves the children of a merged-away customer to the survivor, or
// back after an undo.
func (v mergeView) Apply(ctx context.Context, r consumer.Record) error {
	m, undone, ok := dynamo.MergeChange(r.Old, r.New)
	if !ok {
		return nil
	}
	return v.customers.FollowMerge(ctx, m, undone)
}
