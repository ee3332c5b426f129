package phone

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
)

// The character classes of libphonenumber's grammar of written numbers.
const (
	plusChars = "+\uFF0B"
	// Punctuation allowed between digits: dashes, spaces, dots, slashes,
	// brackets, tildes, and x (a placeholder for a carrier code).
	punctuation = `\-x\x{2010}-\x{2015}\x{2212}\x{30FC}\x{FF0D}-\x{FF0F} \x{00A0}\x{00AD}\x{200B}\x{2060}\x{3000}()\x{FF08}\x{FF09}\x{FF3B}\x{FF3D}.\[\]/~\x{2053}\x{223C}\x{FF5E}`
	digit       = `\p{Nd}`
)

// extension is every way of writing an extension after a number, each with
// the extension's digits: RFC 3966's ";ext=", explicit labels ("ext.",
// "extensión", "доб", "anexo"), one-character and less common labels ("x",
// "#", "~", "int"), an American trailing "- 503#", and the dialling
// separators ",," and ";" or a single comma.
var extension = strings.Join([]string{
	`;ext=` + digit + `{1,20}`,
	`[ \x{00A0}\t,]*(?:e?xt(?:ensi(?:o\x{0301}?|\x{00F3}))?n?|\x{FF45}?\x{FF58}\x{FF54}\x{FF4E}?|\x{0434}\x{043E}\x{0431}|anexo)` + afterLabel + digit + `{1,20}#?`,
	`[ \x{00A0}\t,]*(?:[x\x{FF58}#\x{FF03}~\x{FF5E}]|int|\x{FF49}\x{FF4E}\x{FF54})` + afterLabel + digit + `{1,9}#?`,
	`[- ]+` + digit + `{1,6}#`,
	`[ \x{00A0}\t]*(?:,{2}|;)` + afterLabel + digit + `{1,15}#?`,
	`[ \x{00A0}\t]*,+` + afterLabel + digit + `{1,9}#?`,
}, "|")

const afterLabel = `[:.\x{FF0E}]?[ \x{00A0}\t,-]*`

// The grammar's patterns, compiled on first use.
var grammar = sync.OnceValue(compileGrammar)

type patternsOfGrammar struct {
	viable, extension, trailing, secondNumber, globalDigits, domain *regexp.Regexp
}

func compileGrammar() (g patternsOfGrammar) {
	// Two digits alone, or at least three digits among punctuation, after
	// any plus signs, then digits, punctuation and letters, then perhaps
	// an extension.
	g.viable = regexp.MustCompile(`(?i)^(?:` + digit + `{2}|[` + plusChars + `]*(?:[` + punctuation + `*]*` + digit + `){3,}[` +
		punctuation + `*a-zA-Z` + digit + `]*(?:` + extension + `)?)$`)
	g.extension = regexp.MustCompile(`(?i)(?:` + extension + `)$`)
	// libphonenumber's pattern for unwanted trailing characters, as Go's
	// regexp reads it (Go has no class intersection): any character, two
	// ampersands, a character other than #, and closing brackets at the end.
	g.trailing = regexp.MustCompile(`(?s).&&[^#]\]+$`)
	// The start of a second extension, as in "(530) 583-6985 x302/x2303".
	g.secondNumber = regexp.MustCompile(`[\\/] *x`)
	// RFC 3966 phone-context values: a global number or a domain name.
	g.globalDigits = regexp.MustCompile(`^\+[` + digit + `\-.()]*` + digit + `[` + digit + `\-.()]*$`)
	g.domain = regexp.MustCompile(`^(?:[a-zA-Z` + digit + `]+(?:-*[a-zA-Z` + digit + `])*\.)*[a-zA-Z]+(?:-*[a-zA-Z` + digit + `])*\.?$`)
	return g
}

// candidate is the part of raw that may be a number: the number of an RFC
// 3966 URI (with its phone-context prefix), or raw from its first digit or
// plus sign, without a second extension; either without an ISDN
// subaddress.
func candidate(raw string) (string, bool) {
	const context, uri, subaddress = ";phone-context=", "tel:", ";isub="
	at := strings.Index(raw, context)
	var value string // the phone-context
	if at >= 0 {
		value, _, _ = strings.Cut(raw[at+len(context):], ";")
		g := grammar()
		if value == "" || !(g.globalDigits.MatchString(value) || g.domain.MatchString(value)) {
			return "", false
		}
	}
	var number string
	if at > 0 {
		if value[0] == '+' {
			number = value
		}
		start := 0
		if t := strings.Index(raw, uri); t >= 0 && t < at {
			start = t + len(uri)
		}
		number += raw[start:at]
	} else {
		// Without a context, or with nothing before it, as libphonenumber
		// reads it.
		number = possibleNumber(raw)
	}
	if at := strings.Index(number, subaddress); at > 0 {
		number = number[:at]
	}
	return number, true
}

// possibleNumber is raw from its first digit or plus sign, without the
// trailing characters and second extension libphonenumber removes.
func possibleNumber(raw string) string {
	start := strings.IndexFunc(raw, func(r rune) bool { return unicode.IsDigit(r) || strings.ContainsRune(plusChars, r) })
	if start < 0 {
		return ""
	}
	number := raw[start:]
	g := grammar()
	if m := g.trailing.FindStringIndex(number); m != nil {
		number = number[:m[0]]
	}
	if m := g.secondNumber.FindStringIndex(number); m != nil {
		number = number[:m[0]]
	}
	return number
}

// viable reports whether number could be a phone number at all.
func viable(number string) bool {
	return len(number) >= minNSN && grammar().viable.MatchString(number)
}

// stripExtension removes an extension from the end of number, where what
// precedes it is a viable number.
func stripExtension(number string) string {
	if m := grammar().extension.FindStringIndex(number); m != nil && viable(number[:m[0]]) {
		return number[:m[0]]
	}
	return number
}

// plusRun finds the first run of plus signs in number.
func plusRun(number string) (start, end int, found bool) {
	start = strings.IndexAny(number, plusChars)
	if start < 0 {
		return 0, 0, false
	}
	end = len(number)
	if n := strings.IndexFunc(number[start:], func(r rune) bool { return !strings.ContainsRune(plusChars, r) }); n >= 0 {
		end = start + n
	}
	return start, end, true
}

// normalize reduces a number to its digits. A number with three or more
// letters (and no line break) is a vanity number: its letters become the
// digits of a telephone keypad (ITU E.161) and everything else but digits
// goes. Otherwise decimal digits stay and everything else goes.
func normalize(number string) string {
	if !vanity(number) {
		return digitsOnly(number)
	}
	var b strings.Builder
	for _, r := range number {
		switch u := unicode.ToUpper(r); {
		case u >= '0' && u <= '9':
			b.WriteRune(u)
		case u >= 'A' && u <= 'Z':
			b.WriteByte(keypad[u-'A'])
		}
	}
	return b.String()
}

const keypad = "22233344455566677778889999"

func vanity(number string) bool {
	if strings.IndexByte(number, '\n') >= 0 {
		return false
	}
	letters := 0
	for i := 0; i < len(number); i++ {
		if c := number[i] | 0x20; c >= 'a' && c <= 'z' {
			letters++
		}
	}
	return letters >= 3
}

// digitsOnly keeps the decimal digits of number: as ASCII digits where they
// are Arabic-Indic, Eastern Arabic-Indic or full-width, as written where
// they are of another script.
func digitsOnly(number string) string {
	var b strings.Builder
	for _, r := range number {
		if !unicode.IsDigit(r) {
			continue
		}
		switch {
		case r >= '\u0660' && r <= '\u0669':
			r = '0' + r - '\u0660'
		case r >= '\u06F0' && r <= '\u06F9':
			r = '0' + r - '\u06F0'
		case r >= '\uFF10' && r <= '\uFF19':
			r = '0' + r - '\uFF10'
		}
		b.WriteRune(r)
	}
	return b.String()
}
