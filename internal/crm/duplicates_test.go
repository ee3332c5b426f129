package crm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"  Li   WEI ":      "li wei",
		"Ｌｉ　Ｗｅｉ":           "li wei",
		"O'Brien, Mary-Jo": "obrien mary jo",
		"张伟":               "张伟",
		"张　伟":              "张 伟",
		"ＡＣＭＥ Ltd.":        "acme ltd",
		"":                 "",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithinOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"jonathan", "jonathan", true}, {"jonathan", "jonathon", true}, {"jonathan", "jnothan", false},
		{"jonathan", "jonathann", true}, {"jonathan", "onathan", true}, {"jonathan", "jon", false},
		{"abcde", "abxdf", false}, {"", "a", true},
	} {
		if got := withinOneEdit([]rune(c.a), []rune(c.b)); got != c.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestScorePair(t *testing.T) {
	a := DupSignals{ID: "c_a", Name: "li wei", Company: "acme"}
	if _, ok := ScorePair(a, DupSignals{ID: "c_b", Name: "li wei"}); ok {
		t.Error("a name alone made a pair")
	}
	p, ok := ScorePair(DupSignals{ID: "c_b", Name: "wei li", Company: "acme"}, a)
	if !ok || p.A != "c_a" || p.B != "c_b" || !slices.Equal(p.Reasons, []string{ReasonReorderedName, ReasonSameCompany}) {
		t.Errorf("reordered name, same company: %+v %v", p, ok)
	}
	x := DupSignals{ID: "c_x", Name: "jonathan smith", Domain: "d1", Tail: "t1", KeyVersion: 1}
	p, ok = ScorePair(x, DupSignals{ID: "c_y", Name: "jonathon smith", Domain: "d1", Tail: "t1", KeyVersion: 1})
	if !ok || p.Score != 0.9 || !slices.Equal(p.Reasons, []string{ReasonSimilarName, ReasonSameDomain, ReasonSamePhoneTail}) {
		t.Errorf("similar name, domain and tail: %+v %v", p, ok)
	}
	// Hashes under different key versions say nothing.
	if _, ok := ScorePair(x, DupSignals{ID: "c_y", Name: "jonathan smith", Domain: "d1", Tail: "t1", KeyVersion: 2}); ok {
		t.Error("signals under different keys were compared")
	}
	if _, ok := ScorePair(x, DupSignals{ID: "c_y", Name: "mary smith", Domain: "d1", Tail: "t1", KeyVersion: 1}); ok {
		t.Error("different names made a pair")
	}
}

func TestMergeChangesBilling(t *testing.T) {
	b1, b2 := &Billing{TaxID: "1"}, &Billing{TaxID: "2"}
	for _, c := range []struct {
		s, f   *Billing
		prefer map[string]string
		want   bool
	}{
		{b1, b2, nil, false}, {b1, b2, map[string]string{FieldBilling: "from"}, true},
		{nil, b2, nil, true}, {b1, nil, map[string]string{FieldBilling: "from"}, false},
		{b1, &Billing{TaxID: "1"}, map[string]string{FieldBilling: "from"}, false}, {nil, nil, nil, false},
	} {
		if got := MergeChangesBilling(Customer{Billing: c.s}, Customer{Billing: c.f}, c.prefer); got != c.want {
			t.Errorf("MergeChangesBilling(%v, %v, %v) = %v", c.s, c.f, c.prefer, got)
		}
	}
}

// DuplicateCorpus is a generated population with planted near-duplicates:
// Planted holds the pairs (original, copy) by id.
type duplicateCorpus struct {
	Customers []DupSignals
	Planted   map[[2]string]bool
}

// genDuplicateCorpus makes n customers and planted near-duplicates of
// random ones among them: the copy's name varies (case, spacing,
// full-width, word order, one typo), its phone and e-mail differ, and it
// keeps each corroborating signal only sometimes, as real re-entries do.
func genDuplicateCorpus(rng *rand.Rand, n, planted int) duplicateCorpus {
	latinFirst := strings.Fields("james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin amanda brian melissa george deborah timothy stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan kathleen jacob amy gary angela nicholas shirley eric anna jonathan brenda")
	latinLast := strings.Fields("smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez")
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given := []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国玉红文辉鹏飞宇浩然子涵欣怡梓轩一诺雨桐思远俊杰佳琪晓东志强海燕春梅秋云")
	domains := []string{"gmail.com", "qq.com", "163.com", "outlook.com", "126.com", "yahoo.com", "sina.com", "hotmail.com"}
	var corpus duplicateCorpus
	corpus.Planted = map[[2]string]bool{}
	raw := make([]string, 0, n+planted)
	for i := range n {
		var name string
		if rng.IntN(2) == 0 {
			name = latinFirst[rng.IntN(len(latinFirst))] + " " + latinLast[rng.IntN(len(latinLast))]
			if rng.IntN(3) == 0 {
				name = strings.ToUpper(name[:1]) + name[1:]
			}
		} else {
			name = string(surnames[rng.IntN(len(surnames))]) + string(given[rng.IntN(len(given))])
			if rng.IntN(2) == 0 {
				name += string(given[rng.IntN(len(given))])
			}
		}
		s := DupSignals{ID: fmt.Sprintf("c_%05d", i), Name: NormalizeName(name), KeyVersion: 1,
			Tail: fmt.Sprintf("%04d", rng.IntN(10000))}
		if rng.IntN(10) < 6 {
			s.Company = fmt.Sprintf("company %d", rng.IntN(3000))
		}
		// Most people use a webmail domain; some their company's.
		if s.Company != "" && rng.IntN(3) == 0 {
			s.Domain = strings.ReplaceAll(s.Company, " ", "") + ".com"
		} else if rng.IntN(10) < 9 {
			s.Domain = domains[rng.IntN(len(domains))]
		}
		s.Domain = EmailDomainSignal("x@" + s.Domain)
		corpus.Customers = append(corpus.Customers, s)
		raw = append(raw, name)
	}
	for j := range planted {
		k := rng.IntN(n)
		orig := corpus.Customers[k]
		name := raw[k]
		switch rng.IntN(5) {
		case 0:
			name = strings.ToUpper(name)
		case 1:
			name = "  " + strings.ReplaceAll(name, " ", "   ") + " "
		case 2:
			var b strings.Builder
			for _, r := range name {
				if r > ' ' && r < 0x7F {
					r += 0xFEE0
				}
				b.WriteRune(r)
			}
			name = b.String()
		case 3:
			if w := strings.Fields(name); len(w) == 2 {
				name = w[1] + " " + w[0]
			}
		case 4:
			if r := []rune(name); len(r) >= minDeletionRunes+1 {
				i := 1 + rng.IntN(len(r)-2)
				r[i] = 'x'
				name = string(r)
			}
		}
		cp := DupSignals{ID: fmt.Sprintf("c_p%04d", j), Name: NormalizeName(name), KeyVersion: 1,
			Tail: fmt.Sprintf("%04d", rng.IntN(10000))}
		if orig.Company != "" && rng.IntN(10) < 7 {
			cp.Company = orig.Company
		}
		if rng.IntN(10) < 5 {
			cp.Domain = orig.Domain
		} else {
			cp.Domain = domains[rng.IntN(len(domains))]
		}
		cp.Domain = EmailDomainSignal("x@" + cp.Domain)
		if rng.IntN(10) < 3 {
			cp.Tail = orig.Tail // a new number on the same line, or a typo elsewhere
		}
		corpus.Customers = append(corpus.Customers, cp)
		corpus.Planted[[2]string{min(orig.ID, cp.ID), max(orig.ID, cp.ID)}] = true
	}
	return corpus
}

// candidates runs the blocking and scoring the stream consumer runs, in
// memory: every pair sharing a key, scored.
func candidates(cs []DupSignals) map[[2]string]LikelyDuplicate {
	blocks := map[string][]int{}
	for i, c := range cs {
		for _, k := range BlockingKeys(c.Name) {
			blocks[k] = append(blocks[k], i)
		}
	}
	out := map[[2]string]LikelyDuplicate{}
	for _, members := range blocks {
		for x, i := range members {
			for _, j := range members[x+1:] {
				if p, ok := ScorePair(cs[i], cs[j]); ok {
					out[[2]string{p.A, p.B}] = p
				}
			}
		}
	}
	return out
}

// TestLikelyDuplicatePrecisionRecall plants 500 near-duplicates among
// 10 000 customers and measures the candidate list against them. A pair
// counts as true only if it was planted: two different people of the same
// name at the same company count against precision, as an agent reviewing
// the list would find them.
func TestLikelyDuplicatePrecisionRecall(t *testing.T) {
	corpus := genDuplicateCorpus(rand.New(rand.NewPCG(2026, 11)), 10000, 500)
	found := candidates(corpus.Customers)
	tp := 0
	for k := range found {
		if corpus.Planted[k] {
			tp++
		}
	}
	// A planted copy that kept no signal at all cannot be told from a
	// namesake: recall is also given over those that kept one.
	byID := map[string]DupSignals{}
	for _, c := range corpus.Customers {
		byID[c.ID] = c
	}
	findable, foundFindable := 0, 0
	for k := range corpus.Planted {
		a, b := byID[k[0]], byID[k[1]]
		if a.Company != "" && a.Company == b.Company || a.Domain != "" && a.Domain == b.Domain || a.Tail == b.Tail {
			findable++
			if _, ok := found[k]; ok {
				foundFindable++
			}
		}
	}
	precision := float64(tp) / float64(len(found))
	recall := float64(tp) / float64(len(corpus.Planted))
	recallFindable := float64(foundFindable) / float64(findable)
	t.Logf("customers %d, planted %d (%d with a signal), candidates %d, true %d: precision %.3f, recall %.3f (%.3f of those with a signal)",
		len(corpus.Customers), len(corpus.Planted), findable, len(found), tp, precision, recall, recallFindable)
	if precision < 0.9 || recallFindable < 0.95 {
		t.Errorf("precision %.3f, recall with a signal %.3f: below 0.9 and 0.95", precision, recallFindable)
	}
}
