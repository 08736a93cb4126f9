package markdown

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// parseHTML parses rendered HTML as a browser would, inside a <body>.
func parseHTML(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse rendered HTML: %v\n%s", err, s)
	}
	return doc
}

// elements returns the elements named tag under n, in document order.
func elements(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == tag {
			out = append(out, d)
		}
	}
	return out
}

// only returns the single element named tag under n, failing the test unless
// there is exactly one.
func only(t testing.TB, n *html.Node, tag string) *html.Node {
	t.Helper()
	els := elements(n, tag)
	if len(els) != 1 {
		t.Fatalf("want one <%s>, got %d", tag, len(els))
	}
	return els[0]
}

// attr returns the value of n's attribute key, and whether n has it.
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// textOf returns the text content of n.
func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// forbiddenElements are elements that must never come out of Render.
var forbiddenElements = []string{
	"script", "iframe", "frame", "frameset", "style", "object", "embed", "applet",
	"svg", "math", "form", "button", "textarea", "select", "base", "link", "meta",
	"noscript", "template", "video", "audio", "source",
}

// urlAttributes are attributes whose value a browser follows or fetches.
var urlAttributes = []string{
	"href", "src", "srcset", "action", "formaction", "background", "poster",
	"cite", "longdesc", "xlink:href", "data", "codebase", "usemap",
}

// assertSafe fails the test if the rendered HTML s, parsed as a browser
// would, has a forbidden element, an event-handler or style attribute, a
// URL with the javascript:, vbscript: or data: scheme, or an input other
// than a disabled checkbox.
func assertSafe(t testing.TB, s string) {
	t.Helper()
	for n := range parseHTML(t, s).Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if slices.Contains(forbiddenElements, n.Data) {
			t.Errorf("forbidden element <%s> in output:\n%s", n.Data, s)
		}
		if n.Data == "input" {
			if typ, _ := attr(n, "type"); typ != "checkbox" {
				t.Errorf("<input type=%q> in output:\n%s", typ, s)
			}
			if _, ok := attr(n, "disabled"); !ok {
				t.Errorf("enabled <input> in output:\n%s", s)
			}
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			switch {
			case strings.HasPrefix(key, "on"):
				t.Errorf("event handler %s=%q on <%s> in output:\n%s", a.Key, a.Val, n.Data, s)
			case key == "style":
				t.Errorf("style=%q on <%s> in output:\n%s", a.Val, n.Data, s)
			case slices.Contains(urlAttributes, key) && dangerousScheme(a.Val):
				t.Errorf("%s=%q on <%s> in output:\n%s", a.Key, a.Val, n.Data, s)
			}
		}
	}
}

// dangerousScheme reports whether a browser would take the URL u, already
// entity-decoded by the HTML parser, as a javascript:, vbscript: or data:
// URL. Like a browser's URL parser, it strips leading and trailing C0
// controls and spaces and removes tabs and newlines anywhere; it also
// percent-decodes, to catch a scheme hidden from a naive check.
func dangerousScheme(u string) bool {
	u = strings.TrimFunc(u, func(r rune) bool { return r <= ' ' })
	u = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, u)
	if d, err := url.PathUnescape(u); err == nil {
		u = d
	}
	scheme, _, ok := strings.Cut(strings.ToLower(u), ":")
	if !ok {
		return false
	}
	return scheme == "javascript" || scheme == "vbscript" || scheme == "data"
}

// failRecorder is a testing.TB that records failures instead of reporting
// them, to test the assertions themselves.
type failRecorder struct {
	testing.TB
	failed bool
}

func (r *failRecorder) Helper()                        {}
func (r *failRecorder) Errorf(format string, a ...any) { r.failed = true }
func (r *failRecorder) Fatalf(format string, a ...any) { r.failed = true }

// TestAssertSafe checks that assertSafe catches what it is meant to, so that
// the XSS tests cannot pass by checking nothing.
func TestAssertSafe(t *testing.T) {
	tests := []struct {
		name string
		html string
		safe bool
	}{
		{"Plain", `<p><a href="https://example.com/x:y">x</a> <img src="/a.png" alt="a"></p>`, true},
		{"Checkbox", `<input type="checkbox" disabled checked>`, true},
		{"Script", `<p><script>x</script></p>`, false},
		{"SvgInParagraph", `<p><svg></svg></p>`, false},
		{"Iframe", `<iframe src="/x"></iframe>`, false},
		{"EventHandler", `<p onclick="x">x</p>`, false},
		{"EventHandlerUpperCase", `<p ONMOUSEOVER="x">x</p>`, false},
		{"Style", `<p style="color:red">x</p>`, false},
		{"Javascript", `<a href="javascript:x">x</a>`, false},
		{"JavascriptPadded", `<a href=" JaVaScRiPt:x">x</a>`, false},
		{"JavascriptTabEntity", `<a href="java&#x09;script:x">x</a>`, false},
		{"JavascriptPercentEncoded", `<a href="%6Aavascript:x">x</a>`, false},
		{"Vbscript", `<a href="vbscript:x">x</a>`, false},
		{"DataImage", `<img src="data:image/png;base64,AAAA">`, false},
		{"TextInput", `<input type="text" disabled>`, false},
		{"EnabledCheckbox", `<input type="checkbox">`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &failRecorder{TB: t}
			assertSafe(r, tt.html)
			if r.failed == tt.safe {
				t.Errorf("assertSafe(%q) failed = %v, want %v", tt.html, r.failed, !tt.safe)
			}
		})
	}
}
