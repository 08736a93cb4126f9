package markdown

import (
	"strings"
	"testing"

	"github.com/alecthomas/chroma/v2/styles"
)

func TestHighlightStylesExist(t *testing.T) {
	for _, name := range []string{lightStyle, darkStyle} {
		// styles.Get falls back to another style for an unknown name.
		if got := styles.Get(name).Name; got != name {
			t.Errorf("chroma has no style %q (got %q)", name, got)
		}
	}
}

// TestHighlightCSS checks the shape of HighlightCSS: the light rules, then the
// dark ones in one media query, where every selector of the light rules
// overrides each colour, weight, style and decoration the light rule sets.
func TestHighlightCSS(t *testing.T) {
	css := HighlightCSS()
	lightPart, darkPart, ok := strings.Cut(css, "@media (prefers-color-scheme: dark) {\n")
	if !ok {
		t.Fatalf("no dark media query in:\n%s", css)
	}
	if !strings.HasSuffix(darkPart, "\n}\n") || strings.Contains(darkPart, "@media") {
		t.Fatalf("dark media query not closed once at the end:\n%s", darkPart)
	}
	if strings.Contains(css, "style=") || strings.Count(css, "{") != strings.Count(css, "}") {
		t.Fatalf("malformed CSS:\n%s", css)
	}
	light, dark := parseCSSRules(t, lightPart), parseCSSRules(t, strings.TrimSuffix(darkPart, "}\n"))
	if len(light) < 20 || light[".chroma .k"] == nil || light[".chroma"] == nil {
		t.Fatalf("light rules look wrong: %d rules", len(light))
	}
	if _, ok := light[".bg"]; ok {
		t.Error(`CSS has a rule for ".bg", which Render never writes`)
	}
	for selector, props := range light {
		for _, p := range []string{"color", "background-color", "font-weight", "font-style", "text-decoration"} {
			if _, set := props[p]; !set {
				continue
			}
			if _, ok := dark[selector][p]; !ok {
				t.Errorf("dark scheme keeps the light %s of %q", p, selector)
			}
		}
	}
	if got := dark[".chroma .nx"]["color"]; got == "" || got == light[".chroma .nx"]["color"] {
		t.Errorf("dark .nx color = %q, want it different from the light one", got)
	}
}

// parseCSSRules parses lines of "selector { property: value; ... }".
func parseCSSRules(t *testing.T, css string) map[string]map[string]string {
	t.Helper()
	rules := map[string]map[string]string{}
	for line := range strings.Lines(css) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "/*") {
			continue
		}
		selector, body, ok := strings.Cut(line, " { ")
		if !ok || !strings.HasSuffix(body, " }") {
			t.Fatalf("unexpected CSS line %q", line)
		}
		props := map[string]string{}
		for decl := range strings.SplitSeq(strings.TrimSuffix(body, " }"), ";") {
			p, v, _ := strings.Cut(decl, ":")
			props[strings.TrimSpace(p)] = strings.TrimSpace(v)
		}
		rules[selector] = props
	}
	return rules
}
