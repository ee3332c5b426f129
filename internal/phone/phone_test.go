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
