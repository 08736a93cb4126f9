package markdown

import (
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// taskLabels is a goldmark extension that wraps a task-list item's
// checkbox and its text in a label:
//
//	<li><label class="task"><input checked="" disabled="" type="checkbox"> Ship it</label></li>
//
// so the checkbox has an accessible name (the item's own words, in the
// language they were written in) and screen readers say "Ship it, checkbox,
// checked" instead of an unnamed checkbox.
var taskLabels goldmark.Extender = taskLabelExtension{}

var kindTaskLabel = ast.NewNodeKind("TaskLabel")

// taskLabel is the inline container that holds the checkbox and the text
// after it.
type taskLabel struct{ ast.BaseInline }

// Kind implements ast.Node.
func (n *taskLabel) Kind() ast.NodeKind { return kindTaskLabel }

// Dump implements ast.Node.
func (n *taskLabel) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

type taskLabelTransformer struct{}

// Transform implements parser.ASTTransformer.
func (taskLabelTransformer) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var boxes []*east.TaskCheckBox
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if cb, ok := n.(*east.TaskCheckBox); ok && entering {
			boxes = append(boxes, cb)
		}
		return ast.WalkContinue, nil
	})
	for _, cb := range boxes {
		parent := cb.Parent()
		if parent == nil {
			continue
		}
		label := &taskLabel{}
		parent.InsertBefore(parent, cb, label)
		for n := ast.Node(cb); n != nil; {
			next := n.NextSibling()
			parent.RemoveChild(parent, n)
			label.AppendChild(label, n)
			n = next
		}
	}
}

type taskLabelRenderer struct{}

// RegisterFuncs implements renderer.NodeRenderer.
func (taskLabelRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindTaskLabel, func(w util.BufWriter, _ []byte, _ ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			_, _ = w.WriteString(`<label class="task">`)
		} else {
			_, _ = w.WriteString(`</label>`)
		}
		return ast.WalkContinue, nil
	})
}

type taskLabelExtension struct{}

// Extend implements goldmark.Extender.
func (taskLabelExtension) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithASTTransformers(util.Prioritized(taskLabelTransformer{}, 1000)))
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(taskLabelRenderer{}, 1000)))
}
