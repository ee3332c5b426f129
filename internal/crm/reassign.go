package crm

import "context"

// RevokeLinks revokes every open self-service link of a customer the actor
// may see (a sales rep: their own), as when a link went to the wrong
// person. It returns how many it revoked.
func (p *Portal) RevokeLinks(ctx context.Context, actor Actor, customerID string) (int, error) {
	if _, err := p.Customers.Get(ctx, actor, customerID); err != nil {
		return 0, err
	}
	a := NewAudit(ctx, actor, "customer.portal_links_revoke", "customer", customerID, "portalLinks")
	return p.Store.RevokePortalLinks(ctx, customerID, p.Customers.now(), a)
}

// currentScope keeps, of a page of complaints, those about customers the
// actor owns now. The store's owner index follows a reassignment from the
// table's stream, a moment later; a list item must pass the same scope
// check as a single read meanwhile.
func (s *Complaints) currentScope(ctx context.Context, actor Actor, cs []Complaint) ([]Complaint, error) {
	if !actor.OwnScopeOnly() {
		return cs, nil
	}
	owners := map[string]string{}
	out := cs[:0]
	for _, c := range cs {
		owner, ok := owners[c.CustomerID]
		if !ok {
			cust, err := s.Customers.GetCustomer(ctx, c.CustomerID)
			if err != nil && ErrorCode(err) != ENOTFOUND && ErrorCode(err) != EGONE {
				return nil, err
			}
			owner = cust.OwnerID
			owners[c.CustomerID] = owner
		}
		if owner == actor.ID {
			out = append(out, c)
		}
	}
	return out, nil
}
