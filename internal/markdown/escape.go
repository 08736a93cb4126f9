package markdown

import "strings"

// EscapeText keeps s literal inside Markdown text — a file name as a
// link's text or an image's alt text, a name in a sentence: it escapes the
// characters that open emphasis, links, images, code, raw HTML and
// entities.
func EscapeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\[]*_`<>!&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
