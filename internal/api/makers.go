package api

import (
	"maps"
	"net/http"
)

// Makers make the http.Handler of each route a process serves, keyed by
// Route.Key. Each function's set is returned by a function of its own,
// never held in a package variable, so that a Lambda links only the
// handlers (and what they reach: the services behind them, the embedded
// OpenAPI document) of the routes it serves.
type Makers map[string]func(s *Services) http.Handler

// AllRoutes returns the makers of every route: the local gateway, the CLI
// and the tests serve everything from one process.
func AllRoutes() Makers {
	all := Makers{}
	for _, set := range makerSets() {
		maps.Copy(all, set())
	}
	return all
}

// makerSets returns each function's set of makers by function name.
func makerSets() map[string]func() Makers {
	return map[string]func() Makers{
		FnCustomers:  CustomersRoutes,
		FnComplaints: ComplaintsRoutes,
		FnReminders:  RemindersRoutes,
		FnReports:    ReportsRoutes,
		FnWebhooks:   WebhooksRoutes,
	}
}

// CustomersRoutes returns the makers of the customers function's routes.
func CustomersRoutes() Makers {
	return Makers{
		"GET /healthz":                        func(s *Services) http.Handler { return handleHealth(s.Health) },
		"GET /openapi.json":                   func(s *Services) http.Handler { return handleOpenAPI() },
		"POST /customers":                     func(s *Services) http.Handler { return handleCustomerCreate(s.Customers, s.Customers.Policy) },
		"GET /customers":                      func(s *Services) http.Handler { return handleCustomerList(s.Customers, s.Customers.Policy) },
		"GET /customers/{id}":                 func(s *Services) http.Handler { return handleCustomerGet(s.Customers, s.Customers.Policy) },
		"PATCH /customers/{id}":               func(s *Services) http.Handler { return handleCustomerPatch(s.Customers, s.Customers.Policy) },
		"DELETE /customers/{id}":              func(s *Services) http.Handler { return handleCustomerErase(s.Customers) },
		"GET /customers/{id}/export":          func(s *Services) http.Handler { return handleCustomerExport(s.Customers) },
		"POST /customers/{id}/verify":         func(s *Services) http.Handler { return handleCustomerVerify(s.Customers, s.Customers.Policy) },
		"POST /customers/{id}/interactions":   func(s *Services) http.Handler { return handleInteractionCreate(s.Customers) },
		"GET /customers/{id}/interactions":    func(s *Services) http.Handler { return handleCustomerSubList(s.Customers.Interactions) },
		"POST /customers/import":              func(s *Services) http.Handler { return handleCustomerImport(s.Customers, s.Customers.Policy) },
		"POST /customers/{id}/portal-links":   func(s *Services) http.Handler { return handlePortalLinkCreate(s.Portal) },
		"DELETE /customers/{id}/portal-links": func(s *Services) http.Handler { return handlePortalLinksRevoke(s.Portal) },
		// Outcome KPIs: a staff member marks a customer lost.
		"POST /customers/{id}/lost": func(s *Services) http.Handler { return handleCustomerLost(s.Customers, s.Customers.Policy) },
		// The portal answers the customer, who has no account.
		"GET /portal/{token}": func(s *Services) http.Handler { return handleTokenView(s.Portal.View) },
		"PUT /portal/{token}": func(s *Services) http.Handler { return handlePortalPut(s.Portal) },
		// Background bulk import: the customers function takes the file
		// and queues it; the imports function processes it.
		"POST /imports":          func(s *Services) http.Handler { return handleImportStart(s.Imports) },
		"GET /imports/{id}":      func(s *Services) http.Handler { return handleImportGet(s.Imports) },
		"GET /imports/{id}/rows": func(s *Services) http.Handler { return handleImportRows(s.Imports) },
		// Data stewardship: likely duplicates.
		"GET /customers/duplicates": func(s *Services) http.Handler { return handleDuplicateList(s.Duplicates) },
		// Data stewardship: merging customers, and undoing a merge.
		"POST /customers/{id}/merge": func(s *Services) http.Handler {
			return handleCustomerMerge(mergeService{s.Merges, s.Customers}, s.Customers.Policy)
		},
		"POST /merges/{mergeId}/undo": func(s *Services) http.Handler {
			return handleMergeUndo(mergeService{s.Merges, s.Customers}, s.Customers.Policy)
		},
		// Data stewardship: bulk reassignment of a departing rep's customers.
		"POST /owners/{userId}/reassign": func(s *Services) http.Handler { return handleReassignStart(s.BulkReassign) },
		"GET /owners/{userId}/reassign":  func(s *Services) http.Handler { return handleReassignProgress(s.BulkReassign) },
		// Consent history and four-eyes approvals.
		"GET /customers/{id}/consents": func(s *Services) http.Handler { return handleCustomerSubList(s.Customers.Consents) },
		"GET /approvals":               func(s *Services) http.Handler { return handleApprovalList(s.Approvals) },
		"POST /approvals/{id}/approve": func(s *Services) http.Handler {
			return handleApprovalApprove(approvalService{s.Approvals, s.Customers}, s.Customers.Policy)
		},
		"POST /approvals/{id}/reject": func(s *Services) http.Handler { return handleApprovalReject(approvalService{s.Approvals, s.Customers}) },
		"GET /audit":                  func(s *Services) http.Handler { return handleAuditList(s.Audit) },
		// Web console: the latest verification of the audit trail.
		"GET /audit/verify": func(s *Services) http.Handler { return handleAuditVerification(s.AuditVerifications) },
	}
}

// ComplaintsRoutes returns the makers of the complaints function's routes.
func ComplaintsRoutes() Makers {
	return Makers{
		"POST /complaints":                  func(s *Services) http.Handler { return handleComplaintCreate(s.Complaints, s.Now) },
		"GET /complaints":                   func(s *Services) http.Handler { return handleComplaintList(s.Complaints, s.Now) },
		"GET /complaints/{id}":              func(s *Services) http.Handler { return handleComplaintGet(s.Complaints, s.Now) },
		"POST /complaints/{id}/transitions": func(s *Services) http.Handler { return handleComplaintTransition(s.Complaints, s.Now) },
		// Channel intake: an agent links a complaint filed without a
		// matching customer.
		"POST /complaints/{id}/link":  func(s *Services) http.Handler { return handleComplaintLink(s.Complaints, s.Now) },
		"POST /complaints/{id}/notes": func(s *Services) http.Handler { return handleComplaintNote(s.Complaints, s.Now) },
		// Satisfaction surveys: the customer answers through the link a
		// resolution sent.
		"GET /surveys/{token}":  func(s *Services) http.Handler { return handleTokenView(s.Surveys.View) },
		"POST /surveys/{token}": func(s *Services) http.Handler { return handleSurveyPost(s.Surveys) },
	}
}

// RemindersRoutes returns the makers of the reminders function's routes.
func RemindersRoutes() Makers {
	return Makers{
		"GET /reminders":            func(s *Services) http.Handler { return handleReminderList(s.Reminders) },
		"POST /reminders/{id}/done": func(s *Services) http.Handler { return handleReminderDone(s.Reminders) },
	}
}

// ReportsRoutes returns the makers of the reports function's routes.
func ReportsRoutes() Makers {
	return Makers{
		"GET /reports/data-quality": func(s *Services) http.Handler { return handleReportDataQuality(s.Reports) },
		"GET /reports/complaints":   func(s *Services) http.Handler { return handleReportComplaints(s.Reports) },
		"GET /reports/customers":    func(s *Services) http.Handler { return handleReportCustomers(s.Reports) },
		"GET /reports/access":       func(s *Services) http.Handler { return handleReportAccess(s.Reports) },
	}
}

// WebhooksRoutes returns the makers of the webhooks function's routes.
func WebhooksRoutes() Makers {
	return Makers{
		// Events and webhooks.
		"POST /webhooks":                    func(s *Services) http.Handler { return handleWebhookCreate(s.Webhooks) },
		"GET /webhooks":                     func(s *Services) http.Handler { return handleWebhookList(s.Webhooks) },
		"DELETE /webhooks/{id}":             func(s *Services) http.Handler { return handleWebhookDelete(s.Webhooks) },
		"POST /webhooks/{id}/rotate-secret": func(s *Services) http.Handler { return handleWebhookRotate(s.Webhooks) },
		"POST /webhooks/{id}/enable":        func(s *Services) http.Handler { return handleWebhookEnable(s.Webhooks) },
		"GET /webhooks/{id}/deliveries":     func(s *Services) http.Handler { return handleWebhookDeliveries(s.Webhooks) },
	}
}
