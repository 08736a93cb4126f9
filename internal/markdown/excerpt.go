package markdown

import (
	"bufio"
	"bytes"
	stdhtml "html"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// Excerpt returns the plain text of the first paragraph of src, cut at a
// word boundary to at most maxRunes runes (with "…" when cut). Markdown
// syntax (emphasis, links, code) is removed: the text a person reads.
//
// Headings, code blocks, tables and footnotes are skipped: the first
// paragraph is the first one, at any depth (in a block quote, a list item),
// that has text once images, raw HTML, footnote references and task
// checkboxes are left out. A first paragraph that is only a salutation
// ("Hi all,", "Bonjour à tous," — at most five words ending with a comma)
// is passed over for the next one, as a mail-style update starts with one
// that says nothing of it. Entities and backslash escapes are resolved, and
// runs of white space become one space. The "…" counts towards maxRunes, and
// a first word longer than that is cut inside. Each run of invalid UTF-8 in
// src becomes one U+FFFD. Excerpt returns "" when maxRunes < 1 or src has no
// paragraph. It is safe for concurrent use.
func Excerpt(src string, maxRunes int) string {
	if maxRunes < 1 {
		return ""
	}
	source := []byte(strings.ToValidUTF8(src, "\uFFFD"))
	doc := md.Parser().Parse(text.NewReader(source))
	var excerpt, greeting string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case extast.KindFootnoteList:
			return ast.WalkSkipChildren, nil
		case ast.KindParagraph, ast.KindTextBlock:
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			writePlain(w, n, source)
			_ = w.Flush()
			// goldmark's writer escapes for HTML as it resolves Markdown's
			// escapes and entities; undoing the former leaves the text.
			excerpt = strings.Join(strings.Fields(stdhtml.UnescapeString(buf.String())), " ")
			if greeting == "" && isSalutation(excerpt) {
				greeting, excerpt = excerpt, ""
				return ast.WalkSkipChildren, nil
			}
			if excerpt != "" {
				return ast.WalkStop, nil
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	if excerpt == "" {
		excerpt = greeting // nothing follows it: it is all there is
	}
	return cut(excerpt, maxRunes)
}

// isSalutation reports whether a paragraph's text is a greeting such as
// "Hi all," or "Dear Ada,": at most five words, ending with a comma.
func isSalutation(text string) bool {
	return strings.HasSuffix(text, ",") && len(strings.Fields(text)) <= 5
}

// writePlain writes the text of n's inline children as goldmark's HTML
// renderer would, without any of the tags.
func writePlain(w *bufio.Writer, n ast.Node, source []byte) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			if c.IsRaw() {
				html.DefaultWriter.RawWrite(w, c.Value(source))
			} else {
				html.DefaultWriter.Write(w, c.Value(source))
			}
			if c.SoftLineBreak() || c.HardLineBreak() {
				_ = w.WriteByte(' ')
			}
		case *ast.String:
			if c.IsCode() || c.IsRaw() {
				html.DefaultWriter.RawWrite(w, c.Value)
			} else {
				html.DefaultWriter.Write(w, c.Value)
			}
		case *ast.CodeSpan:
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if t, ok := t.(*ast.Text); ok {
					html.DefaultWriter.RawWrite(w, t.Value(source))
				}
			}
		case *ast.AutoLink:
			html.DefaultWriter.RawWrite(w, c.Label(source))
		case *ast.Image, *ast.RawHTML, *extast.FootnoteLink, *extast.TaskCheckBox:
			// Not read as part of the sentence.
		default:
			writePlain(w, c, source)
		}
	}
}

// cut shortens s, whose white space is single spaces, to at most max runes,
// "…" included, ending at a word boundary when the first word fits.
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	end := 0
	for i := 0; i < max-1; i++ {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	kept := s[:end]
	if s[end] != ' ' {
		if i := strings.LastIndexByte(kept, ' '); i > 0 {
			kept = kept[:i]
		}
	}
	return strings.TrimRight(kept, " ,;:-–—") + "…"
}
