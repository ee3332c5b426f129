package app

import (
	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// KeyGrant is what a function may do with the field-envelope key: seal
// (generate and unwrap data keys) for some purposes, only open (unwrap)
// for others. Every function may also seal and open the blind-index key.
type KeyGrant struct{ Seal, Open []string }

// FieldGrants returns the purposes each function's code seals and opens,
// by function. The stack grants exactly these (infra), and a test runs each
// function's work under a keyring that refuses anything else.
//
//   - customers seals customer fields, interaction notes and saved
//     responses, and opens complaint text for a customer's export.
//   - complaints seals complaint text and saved responses, and opens the
//     customer a complaint is filed for (scope, SLA, notifications).
//   - reminders opens customers for review reminders and their
//     self-service links, and seals complaint text because escalation
//     rewrites the complaint; marking a reminder done saves a response.
//   - reports consumes the stream: it re-validates stored customers and
//     counts their completeness from decoded values, and names root causes
//     from the resolution text, so it opens customer fields and complaint
//     text; it seals only the labels of its root-cause counters. Counting
//     from flags the writer stored would spare it that, at the price of
//     trusting the writer's validation; it does not write what it reads.
//   - webhooks seals the endpoints' signing secrets and opens them to
//     sign deliveries; no other function can open them.
func FieldGrants() map[string]KeyGrant {
	return map[string]KeyGrant{
		api.FnCustomers: {
			Seal: []string{dynamo.PurposeCustomerFields, dynamo.PurposeInteractionNotes, dynamo.PurposeSavedResponses},
			Open: []string{dynamo.PurposeComplaintText},
		},
		api.FnComplaints: {
			Seal: []string{dynamo.PurposeComplaintText, dynamo.PurposeSavedResponses},
			Open: []string{dynamo.PurposeCustomerFields},
		},
		api.FnReminders: {
			Seal: []string{dynamo.PurposeComplaintText, dynamo.PurposeSavedResponses},
			Open: []string{dynamo.PurposeCustomerFields},
		},
		// imports creates customers from rows it opens, both customer
		// fields.
		api.FnImports: {
			Seal: []string{dynamo.PurposeCustomerFields},
		},
		api.FnWebhooks: {
			Seal: []string{dynamo.PurposeWebhookSecrets},
			Open: []string{dynamo.PurposeWebhookSecrets},
		},
		api.FnReports: {
			Seal: []string{dynamo.PurposeReportLabels},
			Open: []string{dynamo.PurposeCustomerFields, dynamo.PurposeComplaintText},
		},
	}
}
