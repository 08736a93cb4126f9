package markdown

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// mentions is a goldmark extension for @mentions. A mention is '@'
// followed by a handle:
//
//   - a handle is ASCII lower-case letters, digits, '.', '_' and '-',
//     starting with a letter or digit, at most MaxHandleBytes bytes; the
//     '.', '_' and '-' at its end are not part of it, so "@ada." and
//     "(@ada-)" mention ada (handles never end in punctuation);
//   - the '@' must start the text or follow a character that is not a
//     letter, digit, '.' or '_', so an e-mail address such as
//     ada@example.com mentions nobody;
//   - the handle may not run on into another letter or digit ("@Ada",
//     "@adaÉ" and "@ada.Lovelace" mention nobody: handles are lower-case);
//   - a mention is never found in code spans, fenced or indented code, raw
//     HTML, autolinks, or the text of a link or an image; a backslash
//     ("\@ada") escapes it.
//
// Whether a mention becomes a link is the caller's choice
// (RenderOptions.Mention): one that is linked renders as
//
//	<a class="mention" href="/people/ada">@ada</a>
//
// and every other one stays the text it was.
var mentions goldmark.Extender = mentionExtension{}

// MaxHandleBytes is the longest handle a mention may name; longer runs
// are not mentions. It is generous: account handles are at most 42 bytes.
const MaxHandleBytes = 64

// RenderOptions tune RenderWith. The zero value renders as Render does.
type RenderOptions struct {
	// Mention reports whether @handle names someone, who is then linked
	// (<a class="mention" href="/people/HANDLE">@HANDLE</a>). It is called
	// once per mention, with the handle without its '@'. Nil links nobody:
	// every "@ada" stays text.
	Mention func(handle string) bool
}

// RenderWith is Render with options. It is safe for concurrent use when
// opt.Mention is.
func RenderWith(src string, opt RenderOptions) (string, error) {
	source := []byte(strings.ToValidUTF8(src, "\uFFFD"))
	var buf bytes.Buffer
	buf.Grow(len(source) + len(source)/2)
	ctx := parser.NewContext(parser.WithIDs(newHeadingIDs()))
	ctx.Set(mentionKey, &mentionState{link: opt.Mention})
	if err := md.Convert(source, &buf, parser.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return string(policy.SanitizeBytes(buf.Bytes())), nil
}

// Mentions returns the handles that src mentions, by the rules of the
// mention extension, each once, in the order they first appear. It parses
// src but renders nothing, and is safe for concurrent use.
func Mentions(src string) []string {
	if !strings.Contains(src, "@") {
		return nil
	}
	source := []byte(strings.ToValidUTF8(src, "\uFFFD"))
	st := &mentionState{collect: true}
	ctx := parser.NewContext(parser.WithIDs(newHeadingIDs()))
	ctx.Set(mentionKey, st)
	md.Parser().Parse(text.NewReader(source), parser.WithContext(ctx))
	return st.handles
}

// mentionKey holds a *mentionState in the parser context of one document.
var mentionKey = parser.NewContextKey()

// mentionState is what one document's parse knows about mentions: which to
// link, and (for Mentions) the handles found.
type mentionState struct {
	link    func(handle string) bool
	collect bool
	handles []string
}

var kindMention = ast.NewNodeKind("Mention")

// mention is an @mention that will be rendered as a link.
type mention struct {
	ast.BaseInline
	handle  []byte
	segment text.Segment // "@handle" in the source
}

// Kind implements ast.Node.
func (n *mention) Kind() ast.NodeKind { return kindMention }

// Dump implements ast.Node.
func (n *mention) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Handle": string(n.handle)}, nil)
}

// mentionParser finds mentions as the inline parser reaches an '@'.
type mentionParser struct{}

// Trigger implements parser.InlineParser.
func (mentionParser) Trigger() []byte { return []byte{'@'} }

// Parse implements parser.InlineParser.
func (mentionParser) Parse(_ ast.Node, block text.Reader, _ parser.Context) ast.Node {
	if before := block.PrecendingCharacter(); isWordRune(before) {
		return nil
	}
	line, seg := block.PeekLine()
	if len(line) < 2 || line[0] != '@' {
		return nil
	}
	run := 1
	for run < len(line) && isHandleByte(line[run]) {
		run++
	}
	if run < len(line) {
		if r, _ := utf8.DecodeRune(line[run:]); unicode.IsLetter(r) || unicode.IsDigit(r) {
			return nil
		}
	}
	end := run
	for end > 1 && (line[end-1] == '.' || line[end-1] == '_' || line[end-1] == '-') {
		end--
	}
	if end == 1 || !isAlnumByte(line[1]) || end-1 > MaxHandleBytes {
		return nil
	}
	block.Advance(end)
	return &mention{handle: line[1:end:end], segment: text.NewSegment(seg.Start, seg.Start+end)}
}

func isAlnumByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isHandleByte(c byte) bool { return isAlnumByte(c) || c == '.' || c == '_' || c == '-' }

// isWordRune reports whether r, just before an '@', makes it part of a
// word (an e-mail address, "x.@y") rather than the start of a mention.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_'
}

// mentionTransformer turns back into text every mention that sits inside a
// link or an image, or that the document's options do not link, and
// collects the handles for Mentions.
type mentionTransformer struct{}

// Transform implements parser.ASTTransformer.
func (mentionTransformer) Transform(doc *ast.Document, _ text.Reader, pc parser.Context) {
	st, _ := pc.Get(mentionKey).(*mentionState)
	type found struct {
		m      *mention
		inLink bool
	}
	var all []found
	links := 0
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.Link, *ast.Image:
			if entering {
				links++
			} else {
				links--
			}
		case *mention:
			if entering {
				all = append(all, found{n, links > 0})
			}
		}
		return ast.WalkContinue, nil
	})
	for _, f := range all {
		h := string(f.m.handle)
		if !f.inLink && st != nil {
			if st.collect && !slices.Contains(st.handles, h) {
				st.handles = append(st.handles, h)
			}
			if st.link != nil && st.link(h) {
				continue
			}
		}
		parent := f.m.Parent()
		parent.ReplaceChild(parent, f.m, ast.NewTextSegment(f.m.segment))
	}
}

// mentionRenderer renders the mentions left in the tree as links.
type mentionRenderer struct{}

// RegisterFuncs implements renderer.NodeRenderer.
func (mentionRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindMention, renderMention)
}

func renderMention(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	h := n.(*mention).handle
	// A handle is [a-z0-9._-]: nothing in it needs escaping, but the
	// escapes keep that true whatever the parser lets through.
	_, _ = w.WriteString(`<a class="mention" href="/people/`)
	_, _ = w.Write(util.EscapeHTML(util.URLEscape(h, false)))
	_, _ = w.WriteString(`">@`)
	_, _ = w.Write(util.EscapeHTML(h))
	_, _ = w.WriteString(`</a>`)
	return ast.WalkSkipChildren, nil
}

type mentionExtension struct{}

// Extend implements goldmark.Extender.
func (mentionExtension) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(
		parser.WithInlineParsers(util.Prioritized(mentionParser{}, 500)),
		parser.WithASTTransformers(util.Prioritized(mentionTransformer{}, 1000)),
	)
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(mentionRenderer{}, 1000)))
}
