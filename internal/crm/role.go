package crm

import "slices"

// Role is a staff member's role, carried in the token's cognito:groups claim.
type Role string

// The roles of API.md.
const (
	RoleAdmin   Role = "admin"
	RoleSales   Role = "sales"
	RoleService Role = "service"
	RoleFinance Role = "finance"
	RoleAuditor Role = "auditor"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleSales, RoleService, RoleFinance, RoleAuditor}

// Actor is the authenticated caller of an operation.
type Actor struct {
	ID    string
	Roles []Role
	// Client marks a machine client (ID "client:<client id>"): its Scopes,
	// not its Roles, say which routes it may call; its Roles only say how
	// it sees a customer's fields.
	Client bool
	Scopes []string
}

// Has reports whether the actor holds role.
func (a Actor) Has(role Role) bool { return slices.Contains(a.Roles, role) }

// HasAny reports whether the actor holds any of roles.
func (a Actor) HasAny(roles ...Role) bool {
	for _, r := range roles {
		if a.Has(r) {
			return true
		}
	}
	return false
}

// OwnScopeOnly reports whether the actor sees only the customers they own: a
// sales rep with no broader role.
func (a Actor) OwnScopeOnly() bool {
	return a.Has(RoleSales) && !a.HasAny(RoleAdmin, RoleService, RoleFinance, RoleAuditor)
}
