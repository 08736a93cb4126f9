// Package markdown turns the Markdown of posts and comments into sanitised
// HTML, and into plain-text excerpts.
//
// The dialect is CommonMark 0.31.2 with GitHub's extensions (tables, task
// lists, strikethrough, autolinks), footnotes, heading IDs with a small
// permalink per heading, and syntax highlighting of fenced code with
// chroma's CSS classes (see HighlightCSS), and @mentions that the caller
// may link to the person's page (see RenderWith and Mentions). Quotes stay
// as typed: there is no typographer.
//
// Raw HTML in the source is not rendered, and whatever goldmark writes then
// passes an allow-list policy (see policy.go), so the result can be stored and
// served as it is.
package markdown

import (
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

// md is shared by every call: a goldmark instance is safe for concurrent use
// once built, and building it is the expensive part.
// Version identifies the renderer's output. Bump it whenever a change
// here changes the HTML of existing text (a new extension, a policy
// change): stored posts made by an older version are then re-rendered by
// `projblog rerender` or in the background when the server starts.
// History: 1 first release; 2 task-list items wrapped in a label;
// 3 headings one level down (the post title is the page's h1);
// 4 @mentions (mention.go) linked to the person's page when the caller
// resolves them (RenderWith), and class="mention" kept on links.
const Version = 4

var md = goldmark.New(
	goldmark.WithExtensions(
		extension.GFM,
		extension.Footnote,
		codeHighlighting,
		headingAnchors,
		taskLabels,
		headingsBelowTitle,
		mentions,
	),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(
		// An align attribute rather than the default style attribute, which
		// the policy does not allow.
		extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute),
	),
)

// Render converts src (Markdown) to sanitised HTML. Raw HTML tags in src are
// left out (the text between them stays), and each run of invalid UTF-8
// becomes one U+FFFD. The error is non-nil only if goldmark fails, which it
// does not for any input known to date. Render is safe for concurrent use.
//
// Render is RenderWith with zero options: an @mention stays text.
func Render(src string) (string, error) {
	return RenderWith(src, RenderOptions{})
}
