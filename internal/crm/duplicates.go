package crm

import (
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Likely duplicates are the pairs of customers that the uniqueness claims
// cannot catch: the same person entered twice with a different phone or
// e-mail. A pair needs a name equal or near once normalized (NormalizeName)
// and at least one corroborating signal. The signals are only those the
// table holds in plain by design (name, company) or as keyed hashes written
// beside the sealed fields (e-mail domain, phone tail): finding candidates
// never opens a sealed field.
//
// Candidates are found through blocking keys (BlockingKeys): two customers
// are compared only when they share one. The stream consumer keeps the
// members of every key and the pairs they form, so a request reads pairs
// and never compares customers.

// DupSignals is what a customer is compared on.
type DupSignals struct {
	ID string `json:"id"`
	// Name is NormalizeName of the customer's name.
	Name string `json:"name"`
	// Company is NormalizeName of the customer's company.
	Company string `json:"company,omitempty"`
	// Domain and Tail are keyed hashes of the e-mail domain and the last
	// four digits of the phone, comparable only under the same KeyVersion.
	Domain     string `json:"domain,omitempty"`
	Tail       string `json:"tail,omitempty"`
	KeyVersion int    `json:"keyVersion,omitempty"`
}

// Reasons a pair is a likely duplicate.
const (
	ReasonSameName      = "same_name"
	ReasonReorderedName = "reordered_name"
	ReasonSimilarName   = "similar_name"
	ReasonSameCompany   = "same_company"
	ReasonSameDomain    = "same_email_domain"
	ReasonSamePhoneTail = "same_phone_tail"
)

// LikelyDuplicate is one pair: A sorts before B.
type LikelyDuplicate struct {
	A       string   `json:"a"`
	B       string   `json:"b"`
	Score   float64  `json:"score"`
	Reasons []string `json:"reasons"`
}

// NormalizeName is the form names and companies are compared in:
// full-width forms folded to their ASCII counterparts, lower case,
// punctuation dropped and runs of spaces collapsed to one. Traditional and
// simplified Chinese variants are not folded (see docs/architecture.md).
func NormalizeName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == 0x3000:
			r = ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		}
		switch {
		case unicode.IsSpace(r) || r == '-' || r == '_' || r == '.' || r == ',' || r == '·' || r == '・':
			space = b.Len() > 0
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// minDeletionRunes is the shortest name that gets single-deletion keys:
// on shorter names (most Chinese names are two or three characters) one
// character less leaves too common a key.
const minDeletionRunes = 5

// BlockingKeys are the keys a normalized name is filed under: the name
// without spaces, its words sorted (when it has several), and, for names
// long enough, the name with each one character deleted, so that names
// one insertion, deletion or substitution apart share a key.
func BlockingKeys(name string) []string {
	if name == "" {
		return nil
	}
	flat := strings.ReplaceAll(name, " ", "")
	keys := []string{"n:" + flat}
	if words := strings.Fields(name); len(words) > 1 {
		slices.Sort(words)
		keys = append(keys, "w:"+strings.Join(words, " "))
	}
	runes := []rune(flat)
	if len(runes) >= minDeletionRunes {
		keys = append(keys, "d:"+flat)
		for i := range runes {
			keys = append(keys, "d:"+string(runes[:i])+string(runes[i+1:]))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Signal weights. A name match alone never makes a pair; with one signal
// it scores at least 0.65.
const (
	weightSameName    = 0.5
	weightReordered   = 0.45
	weightSimilarName = 0.4
	weightCompany     = 0.3
	weightDomain      = 0.25
	weightTail        = 0.25
	// DuplicateThreshold is the least score a pair is kept with.
	DuplicateThreshold = 0.6
)

// ScorePair compares two customers; ok is false when they are not a likely
// duplicate.
func ScorePair(a, b DupSignals) (LikelyDuplicate, bool) {
	if a.ID == b.ID || a.Name == "" || b.Name == "" {
		return LikelyDuplicate{}, false
	}
	if b.ID < a.ID {
		a, b = b, a
	}
	p := LikelyDuplicate{A: a.ID, B: b.ID}
	fa, fb := strings.ReplaceAll(a.Name, " ", ""), strings.ReplaceAll(b.Name, " ", "")
	switch {
	case fa == fb:
		p.Score, p.Reasons = weightSameName, []string{ReasonSameName}
	case sortedWords(a.Name) == sortedWords(b.Name):
		p.Score, p.Reasons = weightReordered, []string{ReasonReorderedName}
	case utf8.RuneCountInString(fa) >= minDeletionRunes && withinOneEdit([]rune(fa), []rune(fb)):
		p.Score, p.Reasons = weightSimilarName, []string{ReasonSimilarName}
	default:
		return LikelyDuplicate{}, false
	}
	signals := 0
	if a.Company != "" && a.Company == b.Company {
		p.Score += weightCompany
		p.Reasons = append(p.Reasons, ReasonSameCompany)
		signals++
	}
	sameKey := a.KeyVersion == b.KeyVersion
	if sameKey && a.Domain != "" && a.Domain == b.Domain {
		p.Score += weightDomain
		p.Reasons = append(p.Reasons, ReasonSameDomain)
		signals++
	}
	if sameKey && a.Tail != "" && a.Tail == b.Tail {
		p.Score += weightTail
		p.Reasons = append(p.Reasons, ReasonSamePhoneTail)
		signals++
	}
	p.Score = min(p.Score, 1)
	// Rounded so that the same pair always reads the same.
	p.Score = float64(int(p.Score*100+0.5)) / 100
	if signals == 0 || p.Score < DuplicateThreshold {
		return LikelyDuplicate{}, false
	}
	return p, true
}

// webmailDomains are public mail services: sharing one says nothing about
// being the same person, so they give no signal.
var webmailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "live.com": true,
	"msn.com": true, "yahoo.com": true, "yahoo.com.cn": true, "icloud.com": true, "me.com": true,
	"aol.com": true, "proton.me": true, "protonmail.com": true, "gmx.com": true, "mail.com": true,
	"qq.com": true, "foxmail.com": true, "163.com": true, "126.com": true, "yeah.net": true,
	"sina.com": true, "sina.cn": true, "sohu.com": true, "aliyun.com": true, "139.com": true, "189.cn": true,
}

// EmailDomainSignal is the part of an e-mail address compared for likely
// duplicates: its domain, lower case, unless it is a public mail service.
func EmailDomainSignal(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	d := strings.ToLower(strings.TrimSpace(email[at+1:]))
	if d == "" || webmailDomains[d] {
		return ""
	}
	return d
}

// PhoneTailSignal is the part of a phone number compared for likely
// duplicates: its last four digits.
func PhoneTailSignal(phone string) string {
	var digits []byte
	for i := len(phone) - 1; i >= 0 && len(digits) < 4; i-- {
		if phone[i] >= '0' && phone[i] <= '9' {
			digits = append(digits, phone[i])
		}
	}
	if len(digits) < 4 {
		return ""
	}
	slices.Reverse(digits)
	return string(digits)
}

func sortedWords(s string) string {
	w := strings.Fields(s)
	slices.Sort(w)
	return strings.Join(w, " ")
}

// withinOneEdit reports whether a and b are at most one insertion,
// deletion or substitution apart.
func withinOneEdit(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true
	}
	if len(a) == len(b) {
		return slices.Equal(a[i+1:], b[i+1:])
	}
	return slices.Equal(a[i:], b[i+1:])
}

// DuplicateStore reads the likely-duplicate pairs the stream keeps.
type DuplicateStore interface {
	// LikelyDuplicates returns the open pairs, best first, at most limit.
	LikelyDuplicates(ctx context.Context, limit int) ([]LikelyDuplicate, error)
}

// Duplicates serves GET /customers/duplicates.
type Duplicates struct {
	Store DuplicateStore
}

// MaxDuplicates bounds one answer.
const MaxDuplicates = 500

// List returns the likely duplicates. The pairs name ids only, so the
// roles the route admits (admin, service: both see every customer) need
// no filtering.
func (d *Duplicates) List(ctx context.Context, a Actor) ([]LikelyDuplicate, error) {
	if a.OwnScopeOnly() {
		return nil, Errorf(EFORBIDDEN, "likely duplicates are for administrators and service agents")
	}
	return d.Store.LikelyDuplicates(ctx, MaxDuplicates)
}

// MergeChangesBilling reports whether merging from into survivor, with
// prefer naming the fields taken from the merged-away record, would change
// the survivor's billing: the four-eyes rule holds such a merge for
// approval. Billing comes from from when preferred, or when the survivor
// has none; an empty value never replaces one.
func MergeChangesBilling(survivor, from Customer, prefer map[string]string) bool {
	next := survivor.Billing
	if (prefer[FieldBilling] == "from" || next == nil) && from.Billing != nil {
		next = from.Billing
	}
	return !billingEqual(survivor.Billing, next)
}

func billingEqual(a, b *Billing) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

const likelyDuplicateCount = "likelyDuplicate"

// LikelyDuplicateContribution is what a customer in an open likely-duplicate
// pair counts for, overall and for its owner.
func LikelyDuplicateContribution(owner string) Contribution {
	out := Contribution{}
	out.add(AggCustomers, likelyDuplicateCount, 1)
	out.add(AggOwner(owner), likelyDuplicateCount, 1)
	return out
}
