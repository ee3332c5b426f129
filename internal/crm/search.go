package crm

import "strings"

// MaxSearch bounds a search query, in characters.
const MaxSearch = 100

// SearchKey is the form names and companies are searched in: lower case,
// white space trimmed and collapsed, so that "li  WEI" finds "Li Wei".
func SearchKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}
