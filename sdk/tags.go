package sdk

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SanitizeTag maps s onto OpenTSDB's tag and metric character set: ASCII
// letters and digits, '-', '_', '.', '/' and Unicode letters are kept,
// anything else (spaces, ':', '=', control characters, invalid UTF-8)
// becomes '_'. The core applies it to probe tags and output plugins to
// what they send, so both agree on one definition. It allocates only when
// something changes.
func SanitizeTag(s string) string {
	ok := true
	for _, r := range s {
		if !validRune(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			b.WriteByte('_')
			i++
			continue
		}
		if validRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		i += n
	}
	return b.String()
}

func validRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r == '-' || r == '_' || r == '.' || r == '/':
		return true
	case r < utf8.RuneSelf:
		return false
	}
	return r != utf8.RuneError && unicode.IsLetter(r)
}
