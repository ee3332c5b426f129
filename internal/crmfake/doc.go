// Package crmfake holds in-memory implementations of the store interfaces
// of package crm, for tests that exercise the domain services without
// DynamoDB. Each fake follows the documented contract of its interface and
// mirrors what the DynamoDB store does where the domain relies on it:
// uniqueness claims, version conditions, cursors bound to their filter, due
// marks, notification leases. They favour being obviously correct over
// being fast; every method takes one lock, so each call is atomic like the
// transaction it stands for.
package crmfake
