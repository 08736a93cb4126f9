package search

import (
	stdhtml "html"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"

	"projblog/internal/markdown"
)

// SnippetRunes is about how long a snippet is, in characters.
const SnippetRunes = 220

// plainText is the text a person reads in sanitised HTML: the text nodes,
// with white space between blocks and every run of white space made one
// space. Heading anchors are left out.
func plainText(rendered string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(markdown.StripAnchors(rendered)))
	space := func() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " ")
		case html.TextToken:
			b.Write(z.Text())
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			if !inlineTags[string(name)] {
				space()
			}
		}
	}
}

// inlineTags are the elements that do not separate words.
var inlineTags = map[string]bool{
	"a": true, "abbr": true, "b": true, "cite": true, "code": true, "del": true, "em": true, "i": true,
	"ins": true, "kbd": true, "mark": true, "q": true, "s": true, "small": true, "span": true,
	"strong": true, "sub": true, "sup": true, "u": true, "var": true,
}

// span is a match: a byte range of the text.
type span struct{ start, end int }

// mergeSpans sorts spans and joins the overlapping ones (the English and
// French fields often report the same word).
func mergeSpans(in []span, n int) []span {
	var out []span
	for _, s := range in {
		if s.start < 0 || s.end > n || s.start >= s.end {
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b span) int { return a.start - b.start })
	merged := out[:0]
	for _, s := range out {
		if k := len(merged) - 1; k >= 0 && s.start <= merged[k].end {
			merged[k].end = max(merged[k].end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// marked writes text[from:to] HTML-escaped, with the spans inside it in
// <mark>: the only markup it ever adds.
func marked(b *strings.Builder, text string, from, to int, spans []span) {
	at := from
	for _, s := range spans {
		if s.start < from || s.end > to {
			continue
		}
		b.WriteString(stdhtml.EscapeString(text[at:s.start]))
		b.WriteString("<mark>")
		b.WriteString(stdhtml.EscapeString(text[s.start:s.end]))
		b.WriteString("</mark>")
		at = s.end
	}
	b.WriteString(stdhtml.EscapeString(text[at:to]))
}

// highlight is the whole of text, escaped, with its matches marked.
func highlight(text string, spans []span) string {
	var b strings.Builder
	marked(&b, text, 0, len(text), mergeSpans(spans, len(text)))
	return b.String()
}

// snippet is the part of text, about maxRunes long, with the most matches,
// cut at word boundaries, escaped, with the matches in <mark> and "…" where
// the text goes on. Without matches it is the start of the text.
func snippet(text string, spans []span, maxRunes int) string {
	spans = mergeSpans(spans, len(text))
	maxBytes := byteLen(text, 0, maxRunes)
	// The window starts at a match and holds as many as fit.
	from, best := 0, 0
	for i, s := range spans {
		n := 0
		for _, t := range spans[i:] {
			if t.end-s.start > maxBytes {
				break
			}
			n++
		}
		if n > best {
			from, best = s.start, n
		}
	}
	if before := utf8.RuneCountInString(text[:from]); best > 0 && before <= maxRunes/3 {
		from = 0 // the start of the text is near: show it
	} else if best > 0 {
		// Some words of context before the first match.
		first := from
		for lead := maxRunes / 4; lead > 0; lead-- {
			_, size := utf8.DecodeLastRuneInString(text[:from])
			from -= size
		}
		from = min(wordStart(text, from), first)
	}
	to := from + byteLen(text, from, maxRunes)
	to = wordEnd(text, from, to)
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	marked(&b, text, from, to, spans)
	if to < len(text) {
		b.WriteString("…")
	}
	return b.String()
}

// byteLen is how many bytes the n runes of text from byte i take (fewer
// at the end of text).
func byteLen(text string, i, n int) int {
	j := i
	for ; n > 0 && j < len(text); n-- {
		_, size := utf8.DecodeRuneInString(text[j:])
		j += size
	}
	return j - i
}

// wordStart moves i forward to the start of a word, unless it already is
// at one (or the text's start).
func wordStart(text string, i int) int {
	if i == 0 {
		return 0
	}
	if r, _ := utf8.DecodeLastRuneInString(text[:i]); unicode.IsSpace(r) {
		return i
	}
	if j := strings.IndexFunc(text[i:], unicode.IsSpace); j >= 0 {
		return i + j + 1
	}
	return i
}

// wordEnd moves to back to the end of a word, unless the text ends there,
// keeping at least one word after from.
func wordEnd(text string, from, to int) int {
	if to >= len(text) {
		return len(text)
	}
	if r, _ := utf8.DecodeRuneInString(text[to:]); unicode.IsSpace(r) {
		return to
	}
	if j := strings.LastIndexFunc(text[from:to], unicode.IsSpace); j > 0 {
		return from + j
	}
	return to
}
