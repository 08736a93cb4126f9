package markdown

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/styles"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
)

// The chroma styles of HighlightCSS.
const (
	lightStyle = "github"
	darkStyle  = "github-dark"
)

// codeHighlighting colours fenced code blocks whose language chroma knows,
// with chroma's CSS classes (<pre class="chroma"><code><span class="line">…)
// rather than inline styles, so that the stored HTML does not depend on a
// colour scheme. A block without a language, or with one chroma does not
// know, stays plain escaped code: <pre><code class="language-xyz">.
var codeHighlighting = highlighting.NewHighlighting(
	highlighting.WithFormatOptions(chromahtml.WithClasses(true)),
)

// HighlightCSS returns the CSS for chroma's class names: a light style
// ("github"), and a dark style ("github-dark") wrapped in
// @media (prefers-color-scheme: dark). The theme serves it as a static asset.
// Each dark rule also resets what the light rule of its selector sets and the
// dark style leaves unset, so no light colour leaks into the dark scheme.
// HighlightCSS is safe for concurrent use; the CSS is built once.
func HighlightCSS() string {
	return highlightCSS()
}

var highlightCSS = sync.OnceValue(func() string {
	light, dark := styleRules(lightStyle), styleRules(darkStyle)
	var b strings.Builder
	fmt.Fprintf(&b, "/* Code highlighting: chroma style %q, and %q for a dark colour scheme. */\n", lightStyle, darkStyle)
	for _, r := range light {
		writeRule(&b, "", r.selector, r.decls)
	}
	b.WriteString("@media (prefers-color-scheme: dark) {\n")
	inDark := map[string]bool{}
	for _, r := range dark {
		inDark[r.selector] = true
		writeRule(&b, "  ", r.selector, append(r.decls, resets(light.find(r.selector), r.decls)...))
	}
	for _, r := range light {
		if !inDark[r.selector] {
			if decls := resets(r.decls, nil); len(decls) > 0 {
				writeRule(&b, "  ", r.selector, decls)
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
})

// cssRule is one rule of chroma's CSS: a selector and its declarations
// ("color: #fff").
type cssRule struct {
	selector string
	decls    []string
}

type cssRules []cssRule

func (rs cssRules) find(selector string) []string {
	for _, r := range rs {
		if r.selector == selector {
			return r.decls
		}
	}
	return nil
}

// styleRules returns the rules chroma writes for the named style, one per
// line as "selector { decl; decl }", without the rule for ".bg": that class
// is only on the <body> of chroma's standalone pages, which Render never
// writes, and the bare selector would style the theme's own ".bg" elements.
func styleRules(name string) cssRules {
	var buf bytes.Buffer
	f := chromahtml.New(chromahtml.WithClasses(true), chromahtml.WithCSSComments(false))
	// WriteCSS fails only when its writer does, and a bytes.Buffer does not.
	_ = f.WriteCSS(&buf, styles.Get(name))
	var rules cssRules
	for line := range strings.Lines(buf.String()) {
		selector, body, ok := strings.Cut(strings.TrimSpace(line), " { ")
		if !ok || selector == ".bg" {
			continue
		}
		var decls []string
		for d := range strings.SplitSeq(strings.TrimSuffix(body, "}"), ";") {
			if d = strings.TrimSpace(d); d != "" {
				decls = append(decls, d)
			}
		}
		rules = append(rules, cssRule{selector: selector, decls: decls})
	}
	return rules
}

// resetValues are neutral values for the properties that a chroma style
// entry can set.
var resetValues = map[string]string{
	"color":            "inherit",
	"background-color": "transparent",
	"font-weight":      "inherit",
	"font-style":       "inherit",
	"text-decoration":  "none",
}

// resets returns declarations that undo each property of light that a
// chroma style can set and that dark does not set.
func resets(light, dark []string) []string {
	set := map[string]bool{}
	for _, d := range dark {
		set[property(d)] = true
	}
	var out []string
	for _, d := range light {
		p := property(d)
		if v, ok := resetValues[p]; ok && !set[p] {
			out = append(out, p+": "+v)
		}
	}
	return out
}

func property(decl string) string {
	p, _, _ := strings.Cut(decl, ":")
	return strings.TrimSpace(p)
}

func writeRule(b *strings.Builder, indent, selector string, decls []string) {
	fmt.Fprintf(b, "%s%s { %s }\n", indent, selector, strings.Join(decls, "; "))
}
