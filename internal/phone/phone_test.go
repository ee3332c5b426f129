package phone

import "testing"

func TestE164(t *testing.T) {
	tests := []struct {
		name, raw, region, want string
	}{
		{"ChinaMobileNational", "138 0013 8000", "CN", "+8613800138000"},
		{"ChinaWithCountryCode", "+86 138-0013-8000", "US", "+8613800138000"},
		{"USNational", "(415) 555-2671", "US", "+14155552671"},
		{"GermanyInternational", "+49 30 901820", "CN", "+4930901820"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := E164(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("E164: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "12", "not a phone", "+86 1380013800099999", "+1 555 0100"} {
		if _, err := E164(bad, "CN"); err == nil {
			t.Errorf("E164(%q) accepted an invalid number", bad)
		}
	}
}

// TestEveryTerritoryCompiles compiles every territory's patterns, which
// parsing otherwise does only for the territories it meets.
func TestEveryTerritoryCompiles(t *testing.T) {
	for i := range territories {
		p := planAt(uint16(i))
		if p.re.general == nil || len(p.re.kinds) != len(p.kinds) {
			t.Errorf("%s (+%d): patterns not compiled", p.id, p.code)
		}
	}
	if n := len(territories) - geographic; n < 5 {
		t.Errorf("%d non-geographic entities", n)
	}
}

// BenchmarkE164 compares a parse with libphonenumber's, warm, and prices
// what the first parse of a process pays instead of an init: compiling the
// grammar and the patterns of the region it reads.
func BenchmarkE164(b *testing.B) {
	const raw, region = "138 0013 8000", "CN"
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if _, err := E164(raw, region); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm-libphonenumber", func(b *testing.B) {
		for b.Loop() {
			if _, err := reference(raw, region); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first-use-compile", func(b *testing.B) {
		cn := regionPlan(region)
		if cn == nil {
			b.Fatal("no CN")
		}
		for b.Loop() {
			compileGrammar()
			compile(cn.territory)
		}
	})
}
