// Package api turns API Gateway HTTP API (payload 2.0) requests into service
// calls. Its route table is the one description of the HTTP surface: the
// Lambda dispatch, the local gateway, the CDK stack's routes and the OpenAPI
// document are all checked against it.
package api

import (
	"net/http"
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
	handler   func(s *Services) http.Handler
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

// Routes returns the route table.
func Routes() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Function: FnCustomers, handler: func(s *Services) http.Handler { return handleHealth(s.Health) }},
		{Method: "GET", Path: "/openapi.json", Function: FnCustomers, handler: func(s *Services) http.Handler { return handleOpenAPI() }},

		{Method: "POST", Path: "/customers", Function: FnCustomers, Roles: customerWrite, Idempotent: true, handler: func(s *Services) http.Handler { return handleCustomerCreate(s.Customers, s.Customers.Policy) }},
		{Method: "GET", Path: "/customers", Function: FnCustomers, Roles: all, Scopes: customersRead, handler: func(s *Services) http.Handler { return handleCustomerList(s.Customers, s.Customers.Policy) }},
		{Method: "GET", Path: "/customers/{id}", Function: FnCustomers, Roles: all, Scopes: customersRead, handler: func(s *Services) http.Handler { return handleCustomerGet(s.Customers, s.Customers.Policy) }},
		{Method: "PATCH", Path: "/customers/{id}", Function: FnCustomers, Roles: customerPatch, Sensitive: true, handler: func(s *Services) http.Handler { return handleCustomerPatch(s.Customers, s.Customers.Policy) }},
		{Method: "DELETE", Path: "/customers/{id}", Function: FnCustomers, Roles: admin, Sensitive: true, handler: func(s *Services) http.Handler { return handleCustomerErase(s.Customers) }},
		{Method: "GET", Path: "/customers/{id}/export", Function: FnCustomers, Roles: admin, Sensitive: true, handler: func(s *Services) http.Handler { return handleCustomerExport(s.Customers) }},
		{Method: "POST", Path: "/customers/{id}/verify", Function: FnCustomers, Roles: customerWrite, Idempotent: true, handler: func(s *Services) http.Handler { return handleCustomerVerify(s.Customers, s.Customers.Policy) }},
		{Method: "POST", Path: "/customers/{id}/interactions", Function: FnCustomers, Roles: customerWrite, Idempotent: true, handler: func(s *Services) http.Handler { return handleInteractionCreate(s.Customers) }},
		{Method: "GET", Path: "/customers/{id}/interactions", Function: FnCustomers, Roles: customerWrite, handler: func(s *Services) http.Handler { return handleCustomerSubList(s.Customers.Interactions) }},
		{Method: "POST", Path: "/customers/import", Function: FnCustomers, Roles: admin, Idempotent: true, handler: func(s *Services) http.Handler { return handleCustomerImport(s.Customers, s.Customers.Policy) }},
		{Method: "POST", Path: "/customers/{id}/portal-links", Function: FnCustomers, Roles: customerWrite, Idempotent: true, handler: func(s *Services) http.Handler { return handlePortalLinkCreate(s.Portal) }},
		{Method: "DELETE", Path: "/customers/{id}/portal-links", Function: FnCustomers, Roles: customerWrite, handler: func(s *Services) http.Handler { return handlePortalLinksRevoke(s.Portal) }},
		// Outcome KPIs: a staff member marks a customer lost.
		{Method: "POST", Path: "/customers/{id}/lost", Function: FnCustomers, Roles: customerWrite, Idempotent: true, handler: func(s *Services) http.Handler { return handleCustomerLost(s.Customers, s.Customers.Policy) }},
		// The portal answers the customer, who has no account: the signed,
		// expiring, single-use token in the path is the credential.
		{Method: "GET", Path: "/portal/{token}", Function: FnCustomers, handler: func(s *Services) http.Handler { return handleTokenView(s.Portal.View) }},
		{Method: "PUT", Path: "/portal/{token}", Function: FnCustomers, handler: func(s *Services) http.Handler { return handlePortalPut(s.Portal) }},

		// Background bulk import: the customers function takes the file
		// and queues it; the imports function processes it.
		{Method: "POST", Path: "/imports", Function: FnCustomers, Roles: admin, handler: func(s *Services) http.Handler { return handleImportStart(s.Imports) }},
		{Method: "GET", Path: "/imports/{id}", Function: FnCustomers, Roles: admin, handler: func(s *Services) http.Handler { return handleImportGet(s.Imports) }},
		{Method: "GET", Path: "/imports/{id}/rows", Function: FnCustomers, Roles: admin, handler: func(s *Services) http.Handler { return handleImportRows(s.Imports) }},
		// Data stewardship: likely duplicates.
		{Method: "GET", Path: "/customers/duplicates", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleService}, handler: func(s *Services) http.Handler { return handleDuplicateList(s.Duplicates) }},
		// Data stewardship: merging customers, and undoing a merge.
		{Method: "POST", Path: "/customers/{id}/merge", Function: FnCustomers, Roles: admin, Idempotent: true, Sensitive: true, handler: func(s *Services) http.Handler {
			return handleCustomerMerge(mergeService{s.Merges, s.Customers}, s.Customers.Policy)
		}},
		{Method: "POST", Path: "/merges/{mergeId}/undo", Function: FnCustomers, Roles: admin, Idempotent: true, Sensitive: true, handler: func(s *Services) http.Handler {
			return handleMergeUndo(mergeService{s.Merges, s.Customers}, s.Customers.Policy)
		}},
		// Data stewardship: bulk reassignment of a departing rep's customers.
		{Method: "POST", Path: "/owners/{userId}/reassign", Function: FnCustomers, Roles: admin, handler: func(s *Services) http.Handler { return handleReassignStart(s.BulkReassign) }},
		{Method: "GET", Path: "/owners/{userId}/reassign", Function: FnCustomers, Roles: admin, handler: func(s *Services) http.Handler { return handleReassignProgress(s.BulkReassign) }},
		// Consent history and four-eyes approvals.
		{Method: "GET", Path: "/customers/{id}/consents", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleSales, crm.RoleService, crm.RoleAuditor}, handler: func(s *Services) http.Handler { return handleCustomerSubList(s.Customers.Consents) }},
		{Method: "GET", Path: "/approvals", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleFinance}, handler: func(s *Services) http.Handler { return handleApprovalList(s.Approvals) }},
		{Method: "POST", Path: "/approvals/{id}/approve", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleFinance}, Idempotent: true, Sensitive: true, handler: func(s *Services) http.Handler {
			return handleApprovalApprove(approvalService{s.Approvals, s.Customers}, s.Customers.Policy)
		}},
		{Method: "POST", Path: "/approvals/{id}/reject", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleFinance}, Idempotent: true, Sensitive: true, handler: func(s *Services) http.Handler {
			return handleApprovalReject(approvalService{s.Approvals, s.Customers})
		}},

		{Method: "GET", Path: "/audit", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}, Sensitive: true, handler: func(s *Services) http.Handler { return handleAuditList(s.Audit) }},
		// Web console: the latest verification of the audit trail.
		{Method: "GET", Path: "/audit/verify", Function: FnCustomers, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}, handler: func(s *Services) http.Handler { return handleAuditVerification(s.AuditVerifications) }},

		{Method: "POST", Path: "/complaints", Function: FnComplaints, Roles: customerWrite, Scopes: complaintsWrite, Idempotent: true, handler: func(s *Services) http.Handler { return handleComplaintCreate(s.Complaints, s.Now) }},
		{Method: "GET", Path: "/complaints", Function: FnComplaints, Roles: complaintRead, Scopes: complaintsRead, handler: func(s *Services) http.Handler { return handleComplaintList(s.Complaints, s.Now) }},
		{Method: "GET", Path: "/complaints/{id}", Function: FnComplaints, Roles: complaintRead, Scopes: complaintsRead, handler: func(s *Services) http.Handler { return handleComplaintGet(s.Complaints, s.Now) }},
		{Method: "POST", Path: "/complaints/{id}/transitions", Function: FnComplaints, Roles: complaintWork, Idempotent: true, handler: func(s *Services) http.Handler { return handleComplaintTransition(s.Complaints, s.Now) }},
		// Channel intake: an agent links a complaint filed without a
		// matching customer.
		{Method: "POST", Path: "/complaints/{id}/link", Function: FnComplaints, Roles: complaintWork, Idempotent: true, handler: func(s *Services) http.Handler { return handleComplaintLink(s.Complaints, s.Now) }},
		{Method: "POST", Path: "/complaints/{id}/notes", Function: FnComplaints, Roles: complaintWork, Idempotent: true, handler: func(s *Services) http.Handler { return handleComplaintNote(s.Complaints, s.Now) }},
		// Satisfaction surveys: the customer, who has no account, answers
		// through the signed, expiring link a resolution sent; the token in
		// the path is the credential, as for the portal.
		{Method: "GET", Path: "/surveys/{token}", Function: FnComplaints, handler: func(s *Services) http.Handler { return handleTokenView(s.Surveys.View) }},
		{Method: "POST", Path: "/surveys/{token}", Function: FnComplaints, handler: func(s *Services) http.Handler { return handleSurveyPost(s.Surveys) }},

		{Method: "GET", Path: "/reminders", Function: FnReminders, Roles: all, handler: func(s *Services) http.Handler { return handleReminderList(s.Reminders) }},
		// Marking done again answers the done reminder and changes nothing.
		{Method: "GET", Path: "/reports/data-quality", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor, crm.RoleSales}, handler: func(s *Services) http.Handler { return handleReportDataQuality(s.Reports) }},
		{Method: "GET", Path: "/reports/complaints", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor, crm.RoleService}, handler: func(s *Services) http.Handler { return handleReportComplaints(s.Reports) }},
		{Method: "GET", Path: "/reports/customers", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}, handler: func(s *Services) http.Handler { return handleReportCustomers(s.Reports) }},
		{Method: "GET", Path: "/reports/access", Function: FnReports, Roles: []crm.Role{crm.RoleAdmin, crm.RoleAuditor}, handler: func(s *Services) http.Handler { return handleReportAccess(s.Reports) }},
		{Method: "POST", Path: "/reminders/{id}/done", Function: FnReminders, Roles: all, Idempotent: true, handler: func(s *Services) http.Handler { return handleReminderDone(s.Reminders) }},

		// Events and webhooks. Creating one is not idempotent by key: its
		// answer holds the secret, which no saved response may keep.
		{Method: "POST", Path: "/webhooks", Function: FnWebhooks, Roles: admin, handler: func(s *Services) http.Handler { return handleWebhookCreate(s.Webhooks) }},
		{Method: "GET", Path: "/webhooks", Function: FnWebhooks, Roles: admin, handler: func(s *Services) http.Handler { return handleWebhookList(s.Webhooks) }},
		{Method: "DELETE", Path: "/webhooks/{id}", Function: FnWebhooks, Roles: admin, handler: func(s *Services) http.Handler { return handleWebhookDelete(s.Webhooks) }},
		{Method: "POST", Path: "/webhooks/{id}/rotate-secret", Function: FnWebhooks, Roles: admin, handler: func(s *Services) http.Handler { return handleWebhookRotate(s.Webhooks) }},
		{Method: "POST", Path: "/webhooks/{id}/enable", Function: FnWebhooks, Roles: admin, handler: func(s *Services) http.Handler { return handleWebhookEnable(s.Webhooks) }},
		{Method: "GET", Path: "/webhooks/{id}/deliveries", Function: FnWebhooks, Roles: admin, handler: func(s *Services) http.Handler { return handleWebhookDeliveries(s.Webhooks) }},
	}
}
