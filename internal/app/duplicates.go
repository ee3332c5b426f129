package app

import (
	"context"

	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// duplicateView keeps the likely-duplicate pairs: a customer whose name,
// company, owner or comparison signals changed, or that was created or
// erased, is compared anew with the customers it shares a blocking key
// with.
type duplicateView struct{ customers *dynamo.Customers }

func (duplicateView) Name() string { return "duplicates" }

// Apply refreshes the pairs of a customer whose signals changed. It reads
// the customer's current profile rather than the record's image, so a
// redelivered or reordered record converges on the present state.
func (v duplicateView) Apply(ctx context.Context, r consumer.Record) error {
	id, ok := dynamo.DuplicateSignalsChanged(r.Keys, r.Old, r.New)
	if !ok {
		return nil
	}
	return v.customers.RefreshDuplicates(ctx, id)
}
