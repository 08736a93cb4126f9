package markdown

import (
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// headingsBelowTitle is a goldmark extension that moves every heading one
// level down (# becomes <h2>, ###### stays <h6>). A post is shown under
// its title, the page's one <h1>; a "# Heading" in the text would
// otherwise make a second one and break the outline that screen-reader
// users navigate by.
var headingsBelowTitle goldmark.Extender = headingLevelExtension{}

type headingLevelTransformer struct{}

// Transform implements parser.ASTTransformer.
func (headingLevelTransformer) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(h.Level+1, 6)
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
}

type headingLevelExtension struct{}

// Extend implements goldmark.Extender.
func (headingLevelExtension) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithASTTransformers(util.Prioritized(headingLevelTransformer{}, 900)))
}
