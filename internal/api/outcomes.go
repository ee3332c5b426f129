package api

import (
	"context"
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
)

// customerLoser marks customers lost.
type customerLoser interface {
	sensitiveReader
	MarkLost(ctx context.Context, a crm.Actor, id string, ifMatch *int64, in crm.LostInput) (crm.Customer, error)
}

var _ customerLoser = (*crm.Customers)(nil)

// handleCustomerLost serves POST /customers/{id}/lost: the customer comes
// back marked lost, as a verification answers.
func handleCustomerLost(svc customerLoser, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.LostInput
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		c, err := svc.MarkLost(r.Context(), actor(r.Context()), r.PathValue("id"), ifMatch(r), in)
		if err == nil {
			err = svc.SensitiveRead(r.Context(), actor(r.Context()), c, "customer.read_sensitive")
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeCustomer(w, r, p, http.StatusOK, c)
	})
}
