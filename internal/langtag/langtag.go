// Package langtag canonicalizes BCP 47 language tags with
// golang.org/x/text/language. It is its own package because the
// language tables are large: only the functions that write customers'
// languages link them; the others check a stored tag by its form
// (crm.CanonicalLanguageForm).
package langtag

import "golang.org/x/text/language"

// Canonical returns the canonical form of a BCP 47 language tag, and false
// for anything that is not one.
func Canonical(s string) (string, bool) {
	tag, err := language.Parse(s)
	if err != nil {
		return "", false
	}
	return tag.String(), true
}
