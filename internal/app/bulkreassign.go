package app

import (
	"context"

	"github.com/clientele-crm/clientele/internal/consumer"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// reassignView runs bulk reassignments, one page of customers per step:
// each step writes the job's next step number, whose record brings the
// next step here.
type reassignView struct{ customers *dynamo.Customers }

func (reassignView) Name() string { return "reassign" }

// Apply runs the step a job record asks for.
func (v reassignView) Apply(ctx context.Context, r consumer.Record) error {
	from, ok := dynamo.ReassignStepDue(r.Keys, r.Old, r.New)
	if !ok {
		return nil
	}
	return v.customers.ReassignStep(ctx, from)
}
