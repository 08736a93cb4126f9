package users

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"projblog/internal/apperr"
)

// Limits, as documented in the package comment.
const (
	MaxEmailBytes     = 254 // longest email, in bytes
	MaxNameRunes      = 100 // longest display name, in characters (runes)
	MinPasswordBytes  = 10  // shortest password, in bytes
	MaxPasswordBytes  = 72  // longest password, in bytes: the most bcrypt reads
	maxHandleBytes    = 30
	maxUserAgentBytes = 256
)

// normalizeEmail is how an email is stored and looked up.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// validEmail returns the normalized email or an Invalid error for "email".
func validEmail(email string) (string, error) {
	if !utf8.ValidString(email) {
		return "", apperr.FieldErr("email", "The email address contains invalid characters.")
	}
	e := normalizeEmail(email)
	if e == "" {
		return "", apperr.FieldErr("email", "Enter an email address.")
	}
	if len(e) > MaxEmailBytes {
		return "", apperr.FieldErr("email", "The email address is too long; it can have at most %d characters.", MaxEmailBytes)
	}
	// A bare address only: "Name <a@b>", comments and quoted local parts
	// parse, but they are not what a person types into an email field.
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", apperr.FieldErr("email", "Enter a valid email address, like name@example.com.")
	}
	return e, nil
}

// validName returns the trimmed name or an Invalid error for "name".
func validName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", apperr.FieldErr("name", "The name contains invalid characters.")
	}
	n := strings.TrimSpace(name)
	if n == "" {
		return "", apperr.FieldErr("name", "Enter a name.")
	}
	if utf8.RuneCountInString(n) > MaxNameRunes {
		return "", apperr.FieldErr("name", "The name is too long; it can have at most %d characters.", MaxNameRunes)
	}
	for _, r := range n {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return "", apperr.FieldErr("name", "The name cannot contain line breaks, tabs or other control characters.")
		}
	}
	return n, nil
}

// validPassword returns an Invalid error for "password" unless the password
// is 10 to 72 bytes of valid UTF-8. It is not trimmed.
func validPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return apperr.FieldErr("password", "The password contains invalid characters.")
	}
	if len(pw) < MinPasswordBytes {
		return apperr.FieldErr("password", "The password is too short; use at least %d characters.", MinPasswordBytes)
	}
	if len(pw) > MaxPasswordBytes {
		return apperr.FieldErr("password", "The password is too long. bcrypt, which protects stored passwords, reads at most %d bytes: %d plain letters and digits, fewer accented or other characters.", MaxPasswordBytes, MaxPasswordBytes)
	}
	return nil
}

// validTimeZone returns the trimmed zone name or an Invalid error for
// "timezone".
func validTimeZone(tz string) (string, error) {
	if !utf8.ValidString(tz) {
		return "", apperr.FieldErr("timezone", "The time zone contains invalid characters.")
	}
	tz = strings.TrimSpace(tz)
	if tz == "" {
		return "", nil
	}
	if tz == "Local" {
		return "", apperr.FieldErr("timezone", "Choose a time zone by name, like Europe/Paris.")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "", apperr.FieldErr("timezone", "Unknown time zone %q; use a name like Europe/Paris.", tz)
	}
	return tz, nil
}

// validLanguage returns an Invalid error for "language" unless lang is "",
// "en" or "fr".
func validLanguage(lang string) (string, error) {
	if !utf8.ValidString(lang) {
		return "", apperr.FieldErr("language", "The language contains invalid characters.")
	}
	lang = strings.TrimSpace(lang)
	switch lang {
	case "", "en", "fr":
		return lang, nil
	}
	return "", apperr.FieldErr("language", "The language must be English (en) or French (fr), or left empty to follow the browser.")
}

// baseHandle derives the handle stem from a normalized email, before any
// "-2" suffix: see the package comment.
func baseHandle(email string) string {
	local := email
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(local) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
			dash = r == '-'
		default:
			if !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	h := strings.Trim(b.String(), "._-")
	if len(h) > maxHandleBytes {
		h = strings.TrimRight(h[:maxHandleBytes], "._-")
	}
	if h == "" {
		h = "user"
	}
	return h
}

// validHandle reports whether h could be a handle; lookups of anything else
// are NotFound without touching the database.
func validHandle(h string) bool {
	if h == "" || len(h) > maxHandleBytes+12 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// cleanUserAgent keeps a bounded, valid-UTF-8 copy of a User-Agent header.
func cleanUserAgent(ua string) string {
	ua = strings.ToValidUTF8(strings.TrimSpace(ua), "\uFFFD")
	if len(ua) <= maxUserAgentBytes {
		return ua
	}
	cut := maxUserAgentBytes
	for cut > 0 && !utf8.RuneStart(ua[cut]) {
		cut--
	}
	return ua[:cut]
}

// ValidEmail returns email normalised (trimmed, lower-case) as accounts
// store it, or an Invalid error with Field "email" for what is not one
// bare address: for other packages that take e-mail addresses from a
// form (notify's guest subscribers).
func ValidEmail(email string) (string, error) { return validEmail(email) }
