package feeds

import "strings"

// Format is one of the three feed formats projblog serves.
type Format string

// The feed formats. The value is also the URL extension without its dot.
const (
	Atom Format = "atom" // Atom 1.0 (RFC 4287)
	RSS  Format = "rss"  // RSS 2.0 with the atom and dc namespaces
	JSON Format = "json" // JSON Feed 1.1
)

// ParseFormat returns the Format named by ext: "atom", "rss" or "json", with
// or without a leading dot, in any letter case. ok is false for anything
// else, so that a handler can answer 404 for an unknown extension.
func ParseFormat(ext string) (f Format, ok bool) {
	switch Format(strings.ToLower(strings.TrimPrefix(ext, "."))) {
	case Atom:
		return Atom, true
	case RSS:
		return RSS, true
	case JSON:
		return JSON, true
	}
	return "", false
}

// ContentType returns the media type, with charset, to send with a feed in
// format f: application/atom+xml, application/rss+xml or
// application/feed+json. It returns "" for an unknown Format.
func (f Format) ContentType() string {
	switch f {
	case Atom:
		return "application/atom+xml; charset=utf-8"
	case RSS:
		return "application/rss+xml; charset=utf-8"
	case JSON:
		return "application/feed+json; charset=utf-8"
	}
	return ""
}

// Ext returns the URL extension of format f with its leading dot (".atom",
// ".rss", ".json"); "" for an unknown Format.
func (f Format) Ext() string {
	if !f.valid() {
		return ""
	}
	return "." + string(f)
}

// valid reports whether f is exactly one of the three Format constants.
func (f Format) valid() bool {
	return f == Atom || f == RSS || f == JSON
}
