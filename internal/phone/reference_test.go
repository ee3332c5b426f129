package phone

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// reference is E164 as libphonenumber's Go port answers it: the answer this
// package must give for every input.
func reference(raw, region string) (string, error) {
	if len(raw) > 64 {
		return "", ErrInvalid
	}
	n, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", ErrInvalid
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// same fails t where E164 and the reference disagree about raw.
func same(t testing.TB, raw, region string) bool {
	t.Helper()
	want, wantErr := reference(raw, region)
	got, err := E164(raw, region)
	if got != want || (err == nil) != (wantErr == nil) {
		t.Errorf("E164(%q, %q) = %q, %v; libphonenumber: %q, %v", raw, region, got, err, want, wantErr)
		return false
	}
	return true
}

var numberTypes = []phonenumbers.PhoneNumberType{
	phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE,
	phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER,
	phonenumbers.UAN, phonenumbers.VOICEMAIL,
}

// examples are libphonenumber's example number of every type of every
// territory, and the regions they belong to.
func examples() (numbers []*phonenumbers.PhoneNumber, regions []string) {
	regions = slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions()))
	for _, r := range regions {
		for _, typ := range numberTypes {
			if n := phonenumbers.GetExampleNumberForType(r, typ); n != nil {
				numbers = append(numbers, n)
			}
		}
	}
	for _, code := range slices.Sorted(maps.Keys(phonenumbers.GetSupportedGlobalNetworkCallingCodes())) {
		if n := phonenumbers.GetExampleNumberForNonGeoEntity(code); n != nil {
			numbers = append(numbers, n)
		}
	}
	return numbers, regions
}

// writings are the ways people write n: as libphonenumber formats it for
// each audience, and variants of those a form receives.
func writings(n *phonenumbers.PhoneNumber, home string) []string {
	intl := phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	national := phonenumbers.Format(n, phonenumbers.NATIONAL)
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	w := []string{
		e164, intl, national, nsn,
		phonenumbers.Format(n, phonenumbers.RFC3966),
		phonenumbers.FormatOutOfCountryCallingNumber(n, "US"),
		phonenumbers.FormatOutOfCountryCallingNumber(n, "DE"),
		phonenumbers.FormatOutOfCountryCallingNumber(n, "CN"),
		phonenumbers.FormatOutOfCountryCallingNumber(n, "AU"),
		e164[1:],                           // the code without its plus
		"00" + e164[1:], "011 " + e164[1:], // international prefixes
		"0" + nsn, "1" + nsn, // national prefixes
		national + " ext. 1234", intl + " x12", // extensions
		national + ";ext=77", national + ",,123#", // dialling separators
		"Tel: " + intl + ".", "(" + national + ")",
		"tel:" + nsn + ";phone-context=" + e164[:3],                // RFC 3966 with a context
		"＋" + inScript(e164[1:], '\uFF10'),                         // full-width
		inScript(national, '\u0660'), inScript(national, '\u0966'), // Arabic-Indic, Devanagari
		nsn[:len(nsn)-1], nsn + "0", "+" + e164[1:len(e164)-1], e164 + "9", // one digit off
		strings.ReplaceAll(intl, " ", "-"), strings.ReplaceAll(intl, " ", ""),
	}
	if home != "" {
		w = append(w, phonenumbers.FormatOutOfCountryCallingNumber(n, home))
	}
	return w
}

// inScript writes the ASCII digits of s with the digits that start at zero.
func inScript(s string, zero rune) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + zero
		}
		return r
	}, s)
}

// TestMatchesLibphonenumber compares E164 with the library it follows on
// every territory's example numbers, written every way above, read from
// their own region and from others.
func TestMatchesLibphonenumber(t *testing.T) {
	numbers, regions := examples()
	if len(numbers) < 1000 {
		t.Fatalf("only %d example numbers", len(numbers))
	}
	readers := []string{"US", "GB", "DE", "CN", "BR", "IT", "RU", "", "ZZ", "001", "us"}
	step := 1
	if testing.Short() {
		readers, step = []string{"US"}, 4
	}
	compared, valid := 0, 0
	for i, n := range numbers {
		if i%step != 0 {
			continue
		}
		own := phonenumbers.GetRegionCodeForNumber(n)
		for _, raw := range writings(n, own) {
			for _, region := range append([]string{own}, readers...) {
				compared++
				if !same(t, raw, region) {
					continue
				}
				if _, err := E164(raw, region); err == nil {
					valid++
				}
			}
		}
	}
	// Every region's numbers read from every region.
	for i, n := range numbers {
		if i%(16*step) != 0 && testing.Short() {
			continue
		}
		nsn := phonenumbers.GetNationalSignificantNumber(n)
		for _, region := range regions {
			compared++
			same(t, nsn, region)
		}
	}
	t.Logf("%d examples, %d comparisons, %d valid", len(numbers), compared, valid)
	if valid < compared/10 {
		t.Errorf("only %d of %d comparisons were of valid numbers: the corpus tests little", valid, compared)
	}
}

// TestMatchesLibphonenumberOnOddInput covers the corners of the grammar:
// letters, extensions, RFC 3966 parameters, stray characters, several plus
// signs, scripts with their own digits.
func TestMatchesLibphonenumberOnOddInput(t *testing.T) {
	for _, raw := range oddInputs {
		for _, region := range []string{"US", "DE", "CN", "IT", "AR", "MX", "GB", "BR", "ZZ", ""} {
			same(t, raw, region)
		}
	}
}

var oddInputs = []string{
	"", "+", "++", "1", "12", "123", "+1", "+12", "+123", "0", "00", "000", "0000000000",
	"1-800-FLOWERS", "1 800 MY APPLE", "+1 650 253 ABCD", "0800 REVERSE", "CALL ME", "abc",
	"4155552671!", "415-555-2671 ", " 4155552671", "4155552671x&&y]", "4155552671&&&b]]", "4155552671 #",
	"(415) 555-2671 x302/x2303", "415 555 2671 ext 12", "415 555 2671 anexo 9", "415 555 2671 доб 5",
	"4155552671,,12", "4155552671;12", "4155552671, 12", "4155552671 - 503#", "4155552671 int 7",
	"tel:+1-415-555-2671", "tel:415-555-2671;phone-context=+1", "tel:2671;phone-context=+1-415-555",
	"tel:415-555-2671;phone-context=example.com", "tel:415-555-2671;phone-context=", "tel:4155552671;isub=12345",
	";phone-context=+14155552671", "4155552671;phone-context=+1;tel:x", "tel:4155552671;phone-context=a..b",
	"+++1 415 555 2671", "+＋1 415 555 2671", "＋44 20 7946 0958", "1+415 555 2671", "+0 415 555 2671",
	"+999 123 456", "+800 1234 5678", "+979 1 2345 6789", "+882 1234 5678 90", "00 800 1234 5678",
	"011 44 20 7946 0958", "0011 61 2 9876 5432", "00 0 44 20 7946 0958", "011 0", "0011",
	"٠٢٠ ٧٩٤٦ ٠٩٥٨", "۰۲۰ ۷۹۴۶ ۰۹۵۸", "+४४ २० ७९४६ ०९५८", "๐๘๑ ๒๓๔ ๕๖๗๘", "０２０ ７９４６ ０９５８",
	"+39 06 1234 5678", "06 1234 5678", "+39 0", "+39 00 1234", "+225 01 23 45 67 89", "+54 9 11 1234 5678",
	"011 15 1234 5678", "+52 1 55 1234 5678", "044 55 1234 5678", "+55 (11) 91234-5678", "0 21 11 91234-5678",
	"+1 (800) 555-0199", "+1 555 0100", "1 415 555 2671", "14155552671", "+14155552671",
	"+86 138 0013 8000", "86 138 0013 8000", "8613800138000", "+86 1380013800099999",
	"+7 912 345 67 89", "8 912 345 67 89", "8 10 44 20 7946 0958", "+49 30 901820", "030 901820",
	"+44 (0) 20 7946 0958", "+44 7700 900123\n", "07700\n900123", "0\u200B7700 900 123", "07700·900123",
	"+1 415 555 2671 ext. 1234567890123456789012", strings.Repeat("9", 17), strings.Repeat("9", 18),
	"+" + strings.Repeat("1", 40), strings.Repeat("x", 70), "\xff\xfe4155552671", "415\xff555\xff2671",
	"+1 ıſı 4155552671", "TEL 4155552671", "1-800-ıſk-ſıſſ", "4155552671 ext\t12", "4155552671\t",
}

// FuzzMatchesLibphonenumber compares E164 with the library on any input,
// read from any of a few regions (`make fuzz`).
func FuzzMatchesLibphonenumber(f *testing.F) {
	for i, raw := range oddInputs {
		f.Add(raw, uint8(i))
	}
	regions := append(slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions())), "", "ZZ", "001")
	f.Fuzz(func(t *testing.T, raw string, region uint8) {
		same(t, raw, regions[int(region)%len(regions)])
	})
}
