package markdown

import (
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// headingAnchors is a goldmark extension that ends every heading that has an
// id with a permalink to it:
//
//	<h2 id="setup">Setup <a class="anchor" href="#setup" aria-hidden="true" tabindex="-1">#</a></h2>
//
// The link is for the mouse: it is hidden from assistive technology and left
// out of the tab order, so that a heading's accessible name stays its text and
// the page does not gain one focus stop per heading. The theme styles
// a.anchor.
var headingAnchors goldmark.Extender = anchorExtension{}

// kindHeadingAnchor is the AST node kind of the permalink.
var kindHeadingAnchor = ast.NewNodeKind("HeadingAnchor")

// headingAnchor is the permalink node that anchorTransformer appends to a
// heading.
type headingAnchor struct {
	ast.BaseInline
	id []byte
}

// Kind implements ast.Node.
func (n *headingAnchor) Kind() ast.NodeKind { return kindHeadingAnchor }

// Dump implements ast.Node.
func (n *headingAnchor) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"ID": string(n.id)}, nil)
}

// anchorTransformer appends a headingAnchor to each heading with an id.
type anchorTransformer struct{}

// Transform implements parser.ASTTransformer.
func (anchorTransformer) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		if v, ok := h.AttributeString("id"); ok {
			if id, ok := v.([]byte); ok && len(id) > 0 {
				h.AppendChild(h, &headingAnchor{id: id})
			}
		}
		return ast.WalkSkipChildren, nil
	})
}

// anchorRenderer renders headingAnchor nodes.
type anchorRenderer struct{}

// RegisterFuncs implements renderer.NodeRenderer.
func (anchorRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindHeadingAnchor, renderHeadingAnchor)
}

func renderHeadingAnchor(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(` <a class="anchor" href="#`)
	_, _ = w.Write(util.EscapeHTML(util.URLEscape(n.(*headingAnchor).id, false)))
	_, _ = w.WriteString(`" aria-hidden="true" tabindex="-1">#</a>`)
	return ast.WalkContinue, nil
}

type anchorExtension struct{}

// Extend implements goldmark.Extender.
func (anchorExtension) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithASTTransformers(util.Prioritized(anchorTransformer{}, 1000)))
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(anchorRenderer{}, 1000)))
}

// anchorPattern matches the permalink renderHeadingAnchor writes (after the
// sanitiser, which keeps it byte for byte).
var anchorPattern = regexp.MustCompile(` <a class="anchor" href="#[^"<>]*" aria-hidden="true" tabindex="-1">#</a>`)

// StripAnchors removes the heading permalinks from rendered HTML, for
// places where they are clutter rather than help: feeds and e-mail, whose
// readers show the "#" without the page's style that hides it.
func StripAnchors(rendered string) string {
	if !strings.Contains(rendered, `class="anchor"`) {
		return rendered
	}
	return anchorPattern.ReplaceAllString(rendered, "")
}
