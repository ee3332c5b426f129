// Package api turns API Gateway HTTP API (payload 2.0) requests into service
// calls. Its route table is the one description of the HTTP surface: the
// Lambda dispatch, the local gateway, the CDK stack's routes and the OpenAPI
// document are all checked against it.
package api

import (
	"slices"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Functions, one Lambda each.
const (
	FnCustomers  = "customers"
	FnComplaints = "complaints"
	FnReminders  = "reminders"
	FnReports    = "reports"
	// FnImports serves no route: it processes the background import's
	// queue.
	FnImports = "imports"
)

// Route is one method and path of the API.
type Route struct {
	Method string
	// Path is an API Gateway route path; {name} is a path parameter.
	Path string
	// Function names the Lambda that serves the route.
	Function string
	// Roles may call the route. None means the route needs no token.
	Roles []crm.Role
	// Scopes let a machine client call the route: it needs any one of
	// them. None means no machine client may. The function checks them
	// (staff tokens carry no scopes, so API Gateway cannot), and the CDK
	// stack and the OpenAPI document derive from them.
	Scopes []string
	// Idempotent routes honour the Idempotency-Key header.
	Idempotent bool
	// Sensitive routes record denied attempts in the audit trail.
	Sensitive bool
}

// Key returns the API Gateway route key, "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// AllowsClient reports whether a machine client holding scopes may call
// the route.
func (r Route) AllowsClient(scopes []string) bool {
	for _, s := range r.Scopes {
		if slices.Contains(scopes, s) {
			return true
		}
	}
	return false
}

// Public reports whether the route is served without a token.
func (r Route) Public() bool { return len(r.Roles) == 0 }

var (
	all           = crm.Roles
	customerWrite = []crm.Role{crm.RoleAdmin, crm.RoleSales, crm.RoleService}
	// Finance may patch too, but the field table lets it change only
	// billing, which only it and admins read.
	customerPatch = []crm.Role{crm.RoleAdmin, crm.RoleSales, crm.RoleService, crm.RoleFinance}
	complaintRead = []crm.Role{crm.RoleAdmin, crm.RoleService, crm.RoleSales, crm.RoleAuditor}
	complaintWork = []crm.Role{crm.RoleAdmin, crm.RoleService}
	admin         = []crm.Role{crm.RoleAdmin}

	// Machine clients' scopes: billing.read reads customers too, as
	// finance does.
	customersRead   = []string{crm.ScopeCustomersRead, crm.ScopeBillingRead}
	complaintsWrite = []string{crm.ScopeComplaintsWrite}
	complaintsRead  = []string{crm.ScopeComplaintsRead}
)

// Routes returns the route table: what each route is, not how it is
// served; each function's Makers (makers.go) serve its routes.
func Routes() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Function: FnCustomers},
		{Method: "GET", Path: "/openapi.json", Function: FnCustomers},

		{Method: "POST", Path: "/customers", Function: FnCustomers, Roles: customerWrite, Idempotent: true},
		{Method: "GET", Path: "/customers", Function: FnCustomers, Roles: all, Scopes: customersRead},
		{Method: "GET", Path: "/customers/{id}", Function: FnCustomers, Roles: all, Scopes: customersRead},
		{Method: "PATCH", Path: "/customers/{id}", Function: FnCustomers, Roles: customerPatch, Sensitive: true},
		{Method: "DELETE", Path: "/customers/{id}", Function: FnCustomers, Roles: admin, Sensitive: true},
		{Method: "GET", Path: "/customers/{id}/export", Function: FnCustomers, Roles: admin, Sensitive: true},
		{Method: "POST", Path: "/customers/{id}/verify", Function: FnCustomers, Roles: customerWrite, Idempotent: true},
		{Method: "POST", Path: "/customers/{id}/interactions", Function: FnCustomers, Roles: customerWrite, Idempotent: true},
		{Method: "GET", Path: "/customers/{id}/interactions", Function: FnCustomers, Roles: customerWrite},
		{Method: "POST", Path: "/customers/import", Function: FnCustomers, Roles: admin, Idempotent: true},
		{Method: "POST", Path: "/customers/{id}/portal-links", Function: FnCustomers, Roles: customerWrite, Idempotent: true},
		{Method: "DELETE", Path: "/customers/{id}/portal-links", Function: FnCustomers, Roles: customerWrite},
		// Outcome KPIs: a staff member marks a customer lost.
		{Method: "POST", Path: "/customers/{id}/lost", Function: FnCustomers, Roles: customerWrite, Idempotent: true},
		// The portal answers the customer, who has no account: the signed,
		// expiring, single-use token in the path is the credential.
		{Method: "GET", Path: "/portal/{token}", Function: FnCustomers},
		{Method: "PUT", Path: "/portal/{token}", Function: FnCustomers},

		// Background bulk import: the customers function takes the file
		// and queues it; the imports function processes it.
		{Method: "POST", Path: "/imports", Function: FnCustomers, Roles: admin},
		{Method: "GET", Path: "/imports/{id}", Function: FnCustomers, Roles: admin},
		{Method: "GET", Path: "/imports/{id}/rows", Function: FnCustomers, Roles: admin},
		// Data stewardship: likely duplicates.
		{Method: "GET", Path: "/customers/duplicates", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleService}},
		// Data stewardship: merging customers, and undoing a merge.
		{Method: "POST", Path: "/customers/{id}/merge", Function: FnCustomers, Roles: admin, Idempotent: true, Sensitive: true},
		{Method: "POST", Path: "/merges/{mergeId}/undo", Function: FnCustomers, Roles: admin, Idempotent: true, Sensitive: true},
		// Data stewardship: bulk reassignment of a departing rep's customers.
		{Method: "POST", Path: "/owners/{userId}/reassign", Function: FnCustomers, Roles: admin},
		{Method: "GET", Path: "/owners/{userId}/reassign", Function: FnCustomers, Roles: admin},
		// Consent history and four-eyes approvals.
		{Method: "GET", Path: "/customers/{id}/consents", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleSales, crm.RoleService, crm.RoleAuditor}},
		{Method: "GET", Path: "/approvals", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleFinance}},
		{Method: "POST", Path: "/approvals/{id}/approve", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleFinance}, Idempotent: true, Sensitive: true},
		{Method: "POST", Path: "/approvals/{id}/reject", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleFinance}, Idempotent: true, Sensitive: true},

		{Method: "GET", Path: "/audit", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}, Sensitive: true},
		// Web console: the latest verification of the audit trail.
		{Method: "GET", Path: "/audit/verify", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}},

		{Method: "POST", Path: "/complaints", Function: FnComplaints, Roles: customerWrite, Scopes: complaintsWrite, Idempotent: true},
		{Method: "GET", Path: "/complaints", Function: FnComplaints, Roles: complaintRead, Scopes: complaintsRead},
		{Method: "GET", Path: "/complaints/{id}", Function: FnComplaints, Roles: complaintRead, Scopes: complaintsRead},
		{Method: "POST", Path: "/complaints/{id}/transitions", Function: FnComplaints, Roles: complaintWork, Idempotent: true},
		// Channel intake: an agent links a complaint filed without a
		// matching customer.
		{Method: "POST", Path: "/complaints/{id}/link", Function: FnComplaints, Roles: complaintWork, Idempotent: true},
		{Method: "POST", Path: "/complaints/{id}/notes", Function: FnComplaints, Roles: complaintWork, Idempotent: true},
		// Satisfaction surveys: the customer, who has no account, answers
		// through the signed, expiring link a resolution sent; the token in
		// the path is the credential, as for the portal.
		{Method: "GET", Path: "/surveys/{token}", Function: FnComplaints},
		{Method: "POST", Path: "/surveys/{token}", Function: FnComplaints},

		{Method: "GET", Path: "/reminders", Function: FnReminders, Roles: all},
		// Marking done again answers the done reminder and changes nothing.
		{Method: "GET", Path: "/reports/data-quality", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor, crm.RoleSales}},
		{Method: "GET", Path: "/reports/complaints", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor, crm.RoleService}},
		{Method: "GET", Path: "/reports/customers", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}},
		{Method: "GET", Path: "/reports/access", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}},
		{Method: "POST", Path: "/reminders/{id}/done", Function: FnReminders, Roles: all, Idempotent: true},

		// Events and webhooks. Creating one is not idempotent by key: its
		// answer holds the secret, which no saved response may keep.
		{Method: "POST", Path: "/webhooks", Function: FnWebhooks, Roles: admin},
		{Method: "GET", Path: "/webhooks", Function: FnWebhooks, Roles: admin},
		{Method: "DELETE", Path: "/webhooks/{id}", Function: FnWebhooks, Roles: admin},
		{Method: "POST", Path: "/webhooks/{id}/rotate-secret", Function: FnWebhooks, Roles: admin},
		{Method: "POST", Path: "/webhooks/{id}/enable", Function: FnWebhooks, Roles: admin},
		{Method: "GET", Path: "/webhooks/{id}/deliveries", Function: FnWebhooks, Roles: admin},
	}
}
