// Package markdown turns a post's or comment's Markdown into sanitised HTML.
// STUB: being replaced by the full renderer (GFM, footnotes, anchors, chroma,
// bluemonday). The API below is the contract.
package markdown

import (
	"bytes"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
)

var policy = bluemonday.UGCPolicy()

// Render converts src to sanitised HTML. It is safe for concurrent use.
func Render(src string) (string, error) {
	var buf bytes.Buffer
	if err := goldmark.Convert([]byte(src), &buf); err != nil {
		return "", err
	}
	return policy.Sanitize(buf.String()), nil
}

// Excerpt returns the plain text of the first paragraph of src, cut at a
// word boundary to at most maxRunes runes (with an ellipsis when cut).
func Excerpt(src string, maxRunes int) string {
	p := strings.TrimSpace(strings.SplitN(strings.TrimSpace(src), "\n\n", 2)[0])
	r := []rune(p)
	if len(r) > maxRunes {
		return string(r[:maxRunes]) + "…"
	}
	return p
}
