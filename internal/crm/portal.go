package crm

import (
	"context"
	"strings"
	"sync"
	"time"
)

// PortalLink is a self-service link a customer uses to review and correct
// their own contact details.
type PortalLink struct {
	ID         string `json:"-"`
	CustomerID string `json:"-"`
	// OwnerID is the customer's owner when the link was sent, whose
	// self-service rate it counts for.
	OwnerID   string    `json:"-"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// PortalView is what the customer sees through the link: their own name and
// contact details, nothing else.
type PortalView struct {
	Name    string   `json:"name"`
	Phone   string   `json:"phone,omitempty"`
	Email   string   `json:"email,omitempty"`
	Address *Address `json:"address,omitempty"`
	Consent *Consent `json:"consent,omitempty"`
}

// PortalInput is a customer's correction. A field left out stays as it is;
// null removes it.
type PortalInput struct {
	Phone   *string  `json:"phone"`
	Email   *string  `json:"email"`
	Address *Address `json:"address"`
	// Consent, when sent, replaces both consents.
	Consent *Consent `json:"consent"`
	// RemoveAddress is set when the client sent "address": null.
	RemoveAddress bool `json:"-"`
}

// PortalStore keeps portal links.
type PortalStore interface {
	// CreatePortalLink records a link that is valid until it expires or is
	// used.
	CreatePortalLink(ctx context.Context, l PortalLink, a Audit) error
	// PortalLink returns a link still valid at now, ENOTFOUND otherwise.
	PortalLink(ctx context.Context, id string, now time.Time) (PortalLink, error)
	// UpdateCustomerByLink stores a customer's own correction and uses up
	// the link in one write: ENOTFOUND if the link was used or expired
	// meanwhile, EPRECONDITION or ECONFLICT as UpdateCustomer.
	UpdateCustomerByLink(ctx context.Context, linkID string, prev, next Customer, now time.Time, a Audit, notes []Notification) error
	// RevokePortalLinks revokes every link of the customer still open at
	// now, records a in the audit trail, and says how many it revoked.
	RevokePortalLinks(ctx context.Context, customerID string, now time.Time, a Audit) (int, error)
	// Allow counts one request against a limit of max per window for key,
	// returning false once the limit is spent.
	Allow(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error)
}

// TokenSigner signs and checks portal tokens.
type TokenSigner interface {
	// SignPortal returns the token for a link.
	SignPortal(linkID, customerID string, expires time.Time) string
	// OpenPortal returns the link id and customer id of a token it signed.
	OpenPortal(token string) (linkID, customerID string, expires time.Time, ok bool)
	// LimitKey returns a keyed digest of value, for a rate limiter to
	// count by without storing value.
	LimitKey(value string) string
}

// Portal rate limits, per hour: enough for a customer to look and correct a
// few times, too few to hammer the service. PortalPerToken counts per link.
const (
	PortalPerToken   = 30
	PortalPerAddress = 120
)

// PortalUpdatesPerLink is how many corrections a link accepts over its whole
// life, refused ones included: a customer fixing a typo needs a few, and
// each refusal for a duplicate tells the holder that a contact is someone
// else's, so that answer must stay scarce.
const PortalUpdatesPerLink = 5

// MaxPortalToken is the longest token the portal looks at; the tokens it
// issues are far shorter. A longer one is refused before any I/O.
const MaxPortalToken = 512

// Portal runs the customer self-service links.
type Portal struct {
	Customers *Customers
	Store     PortalStore
	Tokens    TokenSigner
	// BaseURL is the address of the self-service page; a link is BaseURL
	// followed by "#" and the token.
	BaseURL string
	// TTL is how long a link is valid (default 7 days).
	TTL time.Duration

	// spent remembers, until its window ends, each limiter key this
	// process saw refused, so a throttled client is turned away without
	// a write.
	spentMu sync.Mutex
	spent   map[string]time.Time
}

// errLink is the one answer to any link that is not valid: tampered,
// expired, used, revoked or unknown look alike to whoever holds it.
func errLink() error { return Errorf(ENOTFOUND, "this link is not valid; ask for a new one") }

// CreateLink makes a link for a customer the actor may see. Returns
// ENOTFOUND for another rep's customer.
func (p *Portal) CreateLink(ctx context.Context, actor Actor, customerID string) (PortalLink, error) {
	c, err := p.Customers.Get(ctx, actor, customerID)
	if err != nil {
		return PortalLink{}, err
	}
	return p.issue(ctx, c.ID, c.OwnerID, NewAudit(ctx, actor, "customer.portal_link", "customer", c.ID))
}

func (p *Portal) issue(ctx context.Context, customerID, ownerID string, a Audit) (PortalLink, error) {
	l := p.link(p.Customers.NewID("p"), customerID, ownerID, p.Customers.now())
	if err := p.Store.CreatePortalLink(ctx, l, a); err != nil {
		return PortalLink{}, err
	}
	return l, nil
}

// link makes, without storing it, the link id names for a customer, valid
// from now for the configured time.
func (p *Portal) link(id, customerID, ownerID string, now time.Time) PortalLink {
	ttl := p.TTL
	if ttl <= 0 {
		ttl = 7 * 24 * time.Hour
	}
	l := PortalLink{ID: id, CustomerID: customerID, OwnerID: ownerID, ExpiresAt: now.Add(ttl)}
	l.URL = p.url(l.ID, l.CustomerID, l.ExpiresAt)
	return l
}

// url signs a link's token into the address the customer opens: the
// self-service page with the token in its fragment, which browsers never
// send, so no CDN, proxy or server log records it.
func (p *Portal) url(id, customerID string, expires time.Time) string {
	return strings.TrimSuffix(p.BaseURL, "#") + "#" + p.Tokens.SignPortal(id, customerID, expires)
}

// open checks the token and the link, cheapest first: its length and
// signature without I/O, then the rate limits, keyed on a digest of the
// client address and on the link id (never on the token, which must not be
// stored), then the link's record.
func (p *Portal) open(ctx context.Context, token, clientAddr string) (PortalLink, error) {
	now := p.Customers.now()
	if len(token) > MaxPortalToken {
		return PortalLink{}, errLink()
	}
	linkID, customerID, expires, ok := p.Tokens.OpenPortal(token)
	if !ok || !now.Before(expires) {
		return PortalLink{}, errLink()
	}
	if err := p.allow(ctx, now, time.Hour, limit{"portal#addr#" + p.Tokens.LimitKey(clientAddr), PortalPerAddress},
		limit{"portal#link#" + linkID, PortalPerToken}); err != nil {
		return PortalLink{}, err
	}
	l, err := p.Store.PortalLink(ctx, linkID, now)
	if err != nil || l.CustomerID != customerID {
		return PortalLink{}, errLink()
	}
	return l, nil
}

type limit struct {
	key string
	max int
}

// allow counts one request against each limit in turn, refusing at the
// first that is spent. A key this process already saw refused is refused
// again without asking the store until its window ends.
func (p *Portal) allow(ctx context.Context, now time.Time, window time.Duration, limits ...limit) error {
	throttled := Errorf(ETHROTTLED, "too many requests; try again later")
	for _, lim := range limits {
		if p.isSpent(lim.key, now) {
			return throttled
		}
	}
	for _, lim := range limits {
		ok, err := p.Store.Allow(ctx, lim.key, lim.max, window, now)
		if err != nil {
			return err
		}
		if !ok {
			p.markSpent(lim.key, now.Truncate(window).Add(window))
			return throttled
		}
	}
	return nil
}

// maxSpent bounds the memory the memo of spent keys can take; past it the
// store answers, as it would anyway.
const maxSpent = 10000

func (p *Portal) isSpent(key string, now time.Time) bool {
	p.spentMu.Lock()
	defer p.spentMu.Unlock()
	until, ok := p.spent[key]
	return ok && now.Before(until)
}

func (p *Portal) markSpent(key string, until time.Time) {
	p.spentMu.Lock()
	defer p.spentMu.Unlock()
	if p.spent == nil {
		p.spent = map[string]time.Time{}
	}
	if len(p.spent) >= maxSpent {
		now := p.Customers.now()
		for k, u := range p.spent {
			if !u.After(now) {
				delete(p.spent, k)
			}
		}
		if len(p.spent) >= maxSpent {
			return
		}
	}
	p.spent[key] = until
}

// View shows the customer their own details.
func (p *Portal) View(ctx context.Context, token, clientAddr string) (PortalView, error) {
	l, err := p.open(ctx, token, clientAddr)
	if err != nil {
		return PortalView{}, err
	}
	c, err := p.Customers.Store.GetCustomer(ctx, l.CustomerID)
	if err != nil {
		return PortalView{}, errLink()
	}
	// Every use of a link is on record, with a digest of where it came
	// from; the details are shown only once it is.
	a := NewAudit(ctx, Actor{ID: "customer:" + c.ID, Roles: []Role{"customer"}}, "customer.portal_view", "customer", c.ID)
	a.Client = p.Tokens.LimitKey(clientAddr)
	if err := p.Customers.Audit.AppendAudit(ctx, a); err != nil {
		return PortalView{}, err
	}
	return PortalView{Name: c.Name, Phone: c.Phone, Email: c.Email, Address: c.Address, Consent: &c.Consent}, nil
}

// Update applies the customer's correction, validated exactly as a staff
// edit (duplicates included), counts it as a verification, and uses up the
// link. The audit trail attributes it to the customer.
func (p *Portal) Update(ctx context.Context, token, clientAddr string, in PortalInput) (PortalView, error) {
	l, err := p.open(ctx, token, clientAddr)
	if err != nil {
		return PortalView{}, err
	}
	// The budget is counted in one window that holds the link's whole
	// life: a day-long window chosen by the link's expiry, not by now.
	if err := p.allow(ctx, l.ExpiresAt, 24*time.Hour, limit{"portal#update#" + l.ID, PortalUpdatesPerLink}); err != nil {
		return PortalView{}, err
	}
	prev, err := p.Customers.Store.GetCustomer(ctx, l.CustomerID)
	if err != nil {
		return PortalView{}, errLink()
	}
	cur := prev.Input()
	if in.Phone != nil {
		cur.Phone = *in.Phone
	}
	if in.Email != nil {
		cur.Email = *in.Email
	}
	if in.Address != nil || in.RemoveAddress {
		cur.Address = in.Address
	}
	if in.Consent != nil {
		cur.Consent = in.Consent
	}
	if err := checkMasked(cur); err != nil {
		return PortalView{}, err
	}
	std, err := p.Customers.Policy.Standardize(cur)
	if err != nil {
		return PortalView{}, err
	}
	now := p.Customers.now()
	next := prev
	next.apply(std, now, p.Customers.Policy)
	next.VerifiedAt = now
	next.Lost = nil
	next.Version = prev.Version + 1
	next.ReviewDueAt = p.Customers.Policy.ReviewDue(next)
	customer := Actor{ID: "customer:" + prev.ID, Roles: []Role{"customer"}}
	next.ConsentChanges = consentChanges(prev.Consent, next.Consent, false, now, ConsentByPortal, customer.ID)
	fields := append(changedFields(prev.Input(), std), "verifiedAt")
	a := NewAudit(ctx, customer, "customer.portal_update", "customer", prev.ID, fields...)
	a.Client = p.Tokens.LimitKey(clientAddr)
	// The owner hears of every change a customer makes themselves; the
	// notification is recorded with the change and sent by the next
	// delivery round.
	owner := Notification{ID: "n_" + l.ID + "_" + NotifySelfServiceUpdate, Kind: NotifySelfServiceUpdate, RecipientType: RecipientStaff,
		RecipientID: prev.OwnerID, SubjectType: "customer", SubjectID: prev.ID, At: now}
	err = p.Store.UpdateCustomerByLink(ctx, l.ID, prev, next, now, a, []Notification{owner})
	if ErrorCode(err) == ECONFLICT {
		// The holder of a link is not staff: no field, no customer, just
		// that the change cannot be made here.
		return PortalView{}, Errorf(ECONFLICT, "these details cannot be changed here; please contact us")
	}
	if err != nil {
		return PortalView{}, err
	}
	return PortalView{Name: next.Name, Phone: next.Phone, Email: next.Email, Address: next.Address, Consent: &next.Consent}, nil
}
