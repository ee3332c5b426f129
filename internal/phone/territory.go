package phone

//go:generate go run ./internal/gen

import (
	"math/bits"
	"regexp"
	"sort"
	"sync"
)

// A territory is one numbering plan: a region, or a non-geographic entity
// (id "001") such as the international freephone service.
type territory struct {
	id                string // ISO 3166 region, or "001"
	code              int    // country calling code
	idd               string // international dialling prefix, a pattern
	nationalPrefix    string // national prefix (and carrier code) for parsing, a pattern
	nationalTransform string // rewrites the number after nationalPrefix ($1…), when set
	leading           string // leading digits that choose this territory among those sharing its code
	general           desc   // every number of the territory
	localOnly         uint32 // lengths diallable only within an area
	kinds             []desc // the number types, one of which a valid number matches
}

// A desc is a national significant number's pattern and possible lengths.
type desc struct {
	pattern string
	lengths uint32 // bit n set: n digits possible; 0: any length the pattern allows
}

type callingCode struct {
	code        int
	territories []uint16 // indexes into territories, the main one first
}

// patterns are a territory's compiled patterns. They are compiled when a
// number of that territory is first parsed, not at start-up.
type patterns struct {
	idd, nationalPrefix, leading, general *regexp.Regexp
	kinds                                 []*regexp.Regexp
}

var compiled [len(territories)]struct {
	once sync.Once
	p    patterns
}

// plan is a territory with its compiled patterns.
type plan struct {
	*territory
	re *patterns
}

func planAt(i uint16) plan {
	c := &compiled[i]
	t := &territories[i]
	c.once.Do(func() { c.p = compile(t) })
	return plan{t, &c.p}
}

func compile(t *territory) patterns {
	p := patterns{idd: prefix(t.idd), general: whole(t.general.pattern)}
	if t.nationalPrefix != "" {
		p.nationalPrefix = prefix(t.nationalPrefix)
	}
	if t.leading != "" {
		p.leading = prefix(t.leading)
	}
	for _, k := range t.kinds {
		p.kinds = append(p.kinds, whole(k.pattern))
	}
	return p
}

func prefix(p string) *regexp.Regexp { return regexp.MustCompile("^(?:" + p + ")") }
func whole(p string) *regexp.Regexp  { return regexp.MustCompile("^(?:" + p + ")$") }

// regionPlan is the plan of a supported region, by its upper-case code,
// or nil.
func regionPlan(region string) *plan {
	i := sort.Search(geographic, func(i int) bool { return territories[i].id >= region })
	if i == geographic || territories[i].id != region {
		return nil
	}
	p := planAt(uint16(i))
	return &p
}

// plansFor lists the territories that share a calling code, the main one first.
func plansFor(code int) []uint16 {
	i := sort.Search(len(callingCodes), func(i int) bool { return callingCodes[i].code >= code })
	if i == len(callingCodes) || callingCodes[i].code != code {
		return nil
	}
	return callingCodes[i].territories
}

func knownCode(code int) bool { return plansFor(code) != nil }

func lengthBit(n int) uint32 { return uint32(1) << uint(n) }

func (d desc) matches(re *regexp.Regexp, nsn string) bool {
	return (d.lengths == 0 || d.lengths&lengthBit(len(nsn)) != 0) && re.MatchString(nsn)
}

// typed reports whether nsn is a number of one of the plan's types.
func (p plan) typed(nsn string) bool {
	if !p.general.matches(p.re.general, nsn) {
		return false
	}
	for i, k := range p.kinds {
		if k.matches(p.re.kinds[i], nsn) {
			return true
		}
	}
	return false
}

type lengthFit int

const (
	possible lengthFit = iota
	possibleLocally
	tooShort
	tooLong
	impossible
)

// fit tells how a national number of n digits fits the plan's lengths.
func (p plan) fit(n int) lengthFit {
	all := p.general.lengths
	low, high := bits.TrailingZeros32(all), 31-bits.LeadingZeros32(all)
	switch {
	case p.localOnly&lengthBit(n) != 0:
		return possibleLocally
	case n < low:
		return tooShort
	case n > high:
		return tooLong
	case all&lengthBit(n) != 0:
		return possible
	}
	return impossible
}

// stripNationalPrefix removes a national prefix (a trunk prefix such as 0,
// perhaps with a carrier code) from the front of a normalized national
// number, unless that would turn a number that fits the plan into one that
// does not.
func (p plan) stripNationalPrefix(number string) string {
	if number == "" || p.re.nationalPrefix == nil {
		return number
	}
	m := p.re.nationalPrefix.FindStringSubmatchIndex(number)
	if m == nil {
		return number
	}
	viable := p.re.general.MatchString(number)
	if p.nationalTransform == "" || m[2*p.re.nationalPrefix.NumSubexp()] < 0 {
		rest := number[m[1]:]
		if viable && !p.re.general.MatchString(rest) {
			return number
		}
		return rest
	}
	transformed := p.re.nationalPrefix.ReplaceAllString(number, p.nationalTransform)
	if viable && !p.re.general.MatchString(transformed) {
		return number
	}
	return transformed
}

// valid reports whether a national significant number is a valid number
// behind the calling code: a number of one of the types of the territory it
// belongs to. Every territory listed under a code has that code (the
// generator checks it).
func valid(code int, nsn string) bool {
	p, ok := territoryOf(code, nsn)
	return ok && p.typed(nsn)
}

// territoryOf picks, among the territories sharing a calling code, the one
// a number belongs to: by its leading digits where the territory lists
// them, otherwise by the number being one of the territory's types.
func territoryOf(code int, nsn string) (plan, bool) {
	ids := plansFor(code)
	if len(ids) == 1 {
		return planAt(ids[0]), true
	}
	for _, i := range ids {
		p := planAt(i)
		if p.re.leading != nil {
			if p.re.leading.MatchString(nsn) {
				return p, true
			}
		} else if p.typed(nsn) {
			return p, true
		}
	}
	return plan{}, false
}
