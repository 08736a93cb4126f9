package markdown

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"
)

// specExample is one example of the CommonMark spec.
//
// testdata/commonmark-spec.json holds the 652 examples of CommonMark 0.31.2
// (https://spec.commonmark.org/0.31.2/, by John MacFarlane, CC BY-SA 4.0).
// It was generated once from the npm package, in a scratch directory, with
// the "→" that the package shows for a tab turned back into a tab:
//
//	npm install commonmark-spec@0.31.2
//	node -e '
//	const tab = s => s.replace(/→/g, "\t");
//	const lines = require("commonmark-spec").tests.map(x => JSON.stringify({
//	  markdown: tab(x.markdown), html: tab(x.html), example: x.number, section: x.section}));
//	process.stdout.write("[\n" + lines.join(",\n") + "\n]\n");' > commonmark-spec.json
type specExample struct {
	Markdown string `json:"markdown"`
	HTML     string `json:"html"`
	Example  int    `json:"example"`
	Section  string `json:"section"`
}

func loadSpec(t *testing.T) []specExample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "commonmark-spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	var examples []specExample
	if err := json.Unmarshal(b, &examples); err != nil {
		t.Fatalf("parse commonmark-spec.json: %v", err)
	}
	if len(examples) != 652 {
		t.Fatalf("commonmark-spec.json has %d examples, want 652", len(examples))
	}
	return examples
}

// knownSpecFailures lists the spec examples that plain goldmark does not
// pass, with the reason. It is empty: goldmark passes all 652. An example
// added here must say why; one that starts passing fails the test until it is
// removed.
var knownSpecFailures = map[int]string{}

// TestCommonMarkSpec runs every spec example through goldmark as the spec
// means it, raw HTML allowed and no extensions, and compares the result with
// the expected HTML after normalizeHTML.
func TestCommonMarkSpec(t *testing.T) {
	plain := goldmark.New(goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	passed := 0
	for _, ex := range loadSpec(t) {
		t.Run(fmt.Sprintf("%s/%d", ex.Section, ex.Example), func(t *testing.T) {
			var buf bytes.Buffer
			if err := plain.Convert([]byte(ex.Markdown), &buf); err != nil {
				t.Fatalf("Convert: %v", err)
			}
			got, want := normalizeHTML(buf.String()), normalizeHTML(ex.HTML)
			reason, known := knownSpecFailures[ex.Example]
			switch {
			case got == want && known:
				t.Errorf("example %d passes now; remove it from knownSpecFailures (%s)", ex.Example, reason)
			case got == want:
				passed++
			case known:
				t.Skipf("known failure: %s", reason)
			default:
				t.Errorf("markdown:\n%s\ngot:\n%s\nwant:\n%s", ex.Markdown, buf.String(), ex.HTML)
			}
		})
	}
	t.Logf("%d of 652 CommonMark examples pass", passed)
}

// TestCommonMarkSpecSafe runs every spec example through Render: whatever the
// Markdown, the result must be safe.
func TestCommonMarkSpecSafe(t *testing.T) {
	for _, ex := range loadSpec(t) {
		t.Run(fmt.Sprintf("%s/%d", ex.Section, ex.Example), func(t *testing.T) {
			out, err := Render(ex.Markdown)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			assertSafe(t, out)
		})
	}
}

// blockElements are the elements around which normalizeHTML drops white
// space, as the spec's test/normalize.py does.
var blockElements = []string{
	"article", "aside", "blockquote", "body", "button", "canvas", "caption",
	"col", "colgroup", "dd", "div", "dl", "dt", "embed", "fieldset",
	"figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
	"h6", "header", "hgroup", "hr", "iframe", "li", "map", "object", "ol",
	"output", "p", "pre", "progress", "script", "section", "table", "tbody",
	"td", "textarea", "tfoot", "th", "thead", "tr", "ul", "video",
}

// normalizeHTML rewrites s so that HTML which differs only in ways the spec
// does not care about compares equal, after the spec's own
// test/normalize.py: white space between a block element's tags and its
// content is dropped, other runs of white space outside <pre> become one
// space, attributes are sorted, entities and character references are
// resolved (then the few characters that need it escaped again), and "<br />"
// is written "<br>".
func normalizeHTML(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var out []byte
	inPre := 0
	afterBlock := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(string(out))
		case html.TextToken:
			text := string(z.Text())
			if inPre == 0 {
				text = collapseSpace(text)
				if afterBlock {
					text = strings.TrimLeft(text, " ")
				}
			}
			out = append(out, html.EscapeString(text)...)
			if text != "" {
				afterBlock = false
			}
			afterBlock = afterBlock && text == ""
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			block := slices.Contains(blockElements, tok.Data)
			if block && inPre == 0 {
				out = bytes.TrimRight(out, " ")
			}
			if tt == html.EndTagToken {
				out = append(out, "</"+tok.Data+">"...)
				if tok.Data == "pre" && inPre > 0 {
					inPre--
				}
			} else {
				attrs := slices.Clone(tok.Attr)
				slices.SortFunc(attrs, func(a, b html.Attribute) int { return strings.Compare(a.Key, b.Key) })
				out = append(out, "<"+tok.Data...)
				for _, a := range attrs {
					out = append(out, " "+a.Key+`="`+html.EscapeString(a.Val)+`"`...)
				}
				out = append(out, '>')
				if tok.Data == "pre" && tt == html.StartTagToken {
					inPre++
				}
			}
			afterBlock = block
		case html.CommentToken, html.DoctypeToken:
			out = append(out, z.Raw()...)
			afterBlock = false
		}
	}
}

// collapseSpace turns each run of HTML white space in s into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if strings.ContainsRune(" \t\n\r\f", r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

func TestNormalizeHTML(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"SpaceBetweenBlocks", "<ul>\n<li>a</li>\n</ul>\n", "<ul><li>a</li></ul>", true},
		{"AttributeOrder", `<a title="t" href="/u">x</a>`, `<a href="/u" title="t">x</a>`, true},
		{"Entities", "<p>&quot;&#65;&amp;</p>", `<p>"A&amp;</p>`, true},
		{"SelfClosing", "<p>a<br />b</p>", "<p>a<br>b</p>", true},
		{"SpaceRuns", "<p>a  \n b</p>", "<p>a b</p>", true},
		{"SpaceInPre", "<pre><code>a  b\n</code></pre>", "<pre><code>a b\n</code></pre>", false},
		{"InlineSpace", "<p><em>a</em> b</p>", "<p><em>a</em>b</p>", false},
		{"Text", "<p>a</p>", "<p>b</p>", false},
		{"Tag", "<p><em>a</em></p>", "<p><strong>a</strong></p>", false},
		{"AttributeValue", `<a href="/u">x</a>`, `<a href="/v">x</a>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := normalizeHTML(tt.a), normalizeHTML(tt.b)
			if (a == b) != tt.same {
				t.Errorf("normalizeHTML(%q) = %q, normalizeHTML(%q) = %q; want equal: %v", tt.a, a, tt.b, b, tt.same)
			}
		})
	}
}
