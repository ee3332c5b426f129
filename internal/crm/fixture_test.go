package crm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
	"github.com/clientele-crm/clientele/internal/phone"
)

// The services under test run on the in-memory fakes: these tests pin the
// domain's rules, the integration tests in internal/api the wiring to
// DynamoDB.

var (
	ctx = crm.WithRequestID(context.Background(), "req-1")
	// start is a Monday morning, so calendar arithmetic is easy to follow.
	start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

var (
	admin   = crm.Actor{ID: "admin1", Roles: []crm.Role{crm.RoleAdmin}}
	rep1    = crm.Actor{ID: "rep1", Roles: []crm.Role{crm.RoleSales}}
	rep2    = crm.Actor{ID: "rep2", Roles: []crm.Role{crm.RoleSales}}
	agent   = crm.Actor{ID: "agent1", Roles: []crm.Role{crm.RoleService}}
	finance = crm.Actor{ID: "fin1", Roles: []crm.Role{crm.RoleFinance}}
	auditor = crm.Actor{ID: "aud1", Roles: []crm.Role{crm.RoleAuditor}}
)

// Valid mainland mobile numbers, written as a client might and as E.164.
const (
	phoneA, phoneAE164 = "138 0013 8000", "+8613800138000"
	phoneB, phoneBE164 = "+86 139-0013-9000", "+8613900139000"
	phoneC, phoneCE164 = "13700137000", "+8613700137000"
)

// world is a set of services sharing one fake store, clock and notifier.
type world struct {
	store      *crmfake.Stores
	clock      *crmfake.Clock
	ids        *crmfake.IDs
	notifier   *crmfake.Notifier
	customers  *crm.Customers
	complaints *crm.Complaints
	portal     *crm.Portal
	reminders  *crm.Reminders
	reports    *crm.Reports
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	clock := crmfake.NewClock(start)
	policy := crm.DefaultPolicy(phone.E164)
	store := crmfake.New(policy, clock.Now)
	ids := &crmfake.IDs{}
	notifier := &crmfake.Notifier{}
	w := &world{store: store, clock: clock, ids: ids, notifier: notifier}
	w.customers = &crm.Customers{Store: store.Customers, Complaints: store.Complaints, Audit: store.Audit, Policy: policy,
		Now: clock.Now, NewID: ids.New, Writes: store.Aggregates}
	sla := crm.DefaultSLAPolicy()
	w.complaints = &crm.Complaints{Store: store.Complaints, Customers: store.Customers, SLA: sla, Assignment: crm.Assignment{Mode: crm.AssignOwner},
		Categories: crm.DefaultCategories, Notifier: notifier, Now: clock.Now, NewID: ids.New}
	w.portal = &crm.Portal{Customers: w.customers, Store: store.Portal, Tokens: crmfake.Signer{Key: []byte("portal-test-key")}, BaseURL: "https://portal.example/self-service"}
	w.reminders = &crm.Reminders{Store: store.Reminders, Customers: store.Customers, Portal: w.portal, SLA: sla, Notifier: notifier, Now: clock.Now}
	w.reports = &crm.Reports{Store: store.Aggregates, Targets: crm.DefaultTargets, Now: clock.Now}
	return w
}

// customer creates a customer as actor, failing the test on error.
func (w *world) customer(tb testing.TB, actor crm.Actor, in crm.CustomerInput) crm.Customer {
	tb.Helper()
	c, err := w.customers.Create(ctx, actor, in, false)
	if err != nil {
		tb.Fatalf("create customer: %v", err)
	}
	return c
}

// complaint files a complaint about customerID as actor.
func (w *world) complaint(tb testing.TB, actor crm.Actor, customerID, severity string) crm.Complaint {
	tb.Helper()
	k, err := w.complaints.File(ctx, actor, crm.ComplaintInput{CustomerID: customerID, Channel: "phone", Category: "billing",
		Severity: severity, Subject: "Charged twice", Description: "The March invoice was charged twice."})
	if err != nil {
		tb.Fatalf("file complaint: %v", err)
	}
	return k
}

// lastAudit returns the newest audit entry.
func (w *world) lastAudit(tb testing.TB) crm.AuditEntry {
	tb.Helper()
	es := w.store.Audit.Entries()
	if len(es) == 0 {
		tb.Fatal("no audit entries")
	}
	return es[len(es)-1]
}

// wantErr fails unless err carries code, and returns the *crm.Error.
func wantErr(tb testing.TB, err error, code string) *crm.Error {
	tb.Helper()
	if got := crm.ErrorCode(err); got != code {
		tb.Fatalf("error %v (code %q), want code %q", err, got, code)
	}
	var e *crm.Error
	errors.As(err, &e)
	return e
}

// wantFields fails unless err names exactly fields (in any order).
func wantFields(tb testing.TB, err error, code string, fields ...string) {
	tb.Helper()
	e := wantErr(tb, err, code)
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	slices.Sort(got)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Errorf("invalid fields %v, want %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// token returns the token a link's URL carries.
func token(l crm.PortalLink) string { return l.URL[strings.LastIndexByte(l.URL, '#')+1:] }
