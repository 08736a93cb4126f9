package markdown

import (
	"flag"
	stdhtml "html"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestRenderGFM(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, doc *html.Node)
	}{
		{
			name: "Table",
			src:  "| Left | Centre | Right |\n|:-----|:------:|------:|\n| a | *b* | 3 |\n| d | e | 6 |\n",
			check: func(t *testing.T, doc *html.Node) {
				table := only(t, doc, "table")
				head := only(t, table, "thead")
				body := only(t, table, "tbody")
				wantAlign := []string{"left", "center", "right"}
				ths := elements(head, "th")
				if len(ths) != 3 {
					t.Fatalf("got %d <th>, want 3", len(ths))
				}
				for i, th := range ths {
					if got, _ := attr(th, "align"); got != wantAlign[i] {
						t.Errorf("th %d align = %q, want %q", i, got, wantAlign[i])
					}
				}
				if got := textOf(ths[1]); got != "Centre" {
					t.Errorf("th 1 = %q, want Centre", got)
				}
				rows := elements(body, "tr")
				if len(rows) != 2 {
					t.Fatalf("got %d body rows, want 2", len(rows))
				}
				tds := elements(rows[0], "td")
				if len(tds) != 3 {
					t.Fatalf("got %d cells in row 0, want 3", len(tds))
				}
				if em := only(t, tds[1], "em"); textOf(em) != "b" {
					t.Errorf("cell (0,1) <em> = %q, want b", textOf(em))
				}
				if got, _ := attr(tds[2], "align"); got != "right" {
					t.Errorf("cell (0,2) align = %q, want right", got)
				}
			},
		},
		{
			name: "TaskList",
			src:  "- [x] done\n- [ ] to do\n",
			check: func(t *testing.T, doc *html.Node) {
				inputs := elements(doc, "input")
				if len(inputs) != 2 {
					t.Fatalf("got %d <input>, want 2", len(inputs))
				}
				for i, want := range []bool{true, false} {
					if typ, _ := attr(inputs[i], "type"); typ != "checkbox" {
						t.Errorf("input %d type = %q, want checkbox", i, typ)
					}
					if _, ok := attr(inputs[i], "disabled"); !ok {
						t.Errorf("input %d is not disabled", i)
					}
					if _, checked := attr(inputs[i], "checked"); checked != want {
						t.Errorf("input %d checked = %v, want %v", i, checked, want)
					}
				}
				if got := textOf(elements(doc, "li")[1]); got != " to do" {
					t.Errorf("second item = %q, want \" to do\"", got)
				}
			},
		},
		{
			name: "Strikethrough",
			src:  "~~gone~~ and ~kept~\n",
			check: func(t *testing.T, doc *html.Node) {
				if got := textOf(elements(doc, "del")[0]); got != "gone" {
					t.Errorf("<del> = %q, want gone", got)
				}
			},
		},
		{
			name: "Autolink",
			src:  "See https://example.com/a?b=c, www.example.org and <https://example.net/>.\n",
			check: func(t *testing.T, doc *html.Node) {
				links := elements(doc, "a")
				want := []string{"https://example.com/a?b=c", "http://www.example.org", "https://example.net/"}
				if len(links) != len(want) {
					t.Fatalf("got %d links, want %d", len(links), len(want))
				}
				for i, a := range links {
					if href, _ := attr(a, "href"); href != want[i] {
						t.Errorf("link %d href = %q, want %q", i, href, want[i])
					}
					if rel, _ := attr(a, "rel"); rel != "nofollow noreferrer" {
						t.Errorf("link %d rel = %q, want \"nofollow noreferrer\"", i, rel)
					}
				}
			},
		},
		{
			name: "AutolinkEmail",
			src:  "Write to ana@example.com.\n",
			check: func(t *testing.T, doc *html.Node) {
				if href, _ := attr(only(t, doc, "a"), "href"); href != "mailto:ana@example.com" {
					t.Errorf("href = %q, want mailto:ana@example.com", href)
				}
			},
		},
		{
			name: "RelativeLinkAndFragment",
			src:  "[post](/p/42) and [section](#setup)\n",
			check: func(t *testing.T, doc *html.Node) {
				for i, want := range []string{"/p/42", "#setup"} {
					a := elements(doc, "a")[i]
					if href, _ := attr(a, "href"); href != want {
						t.Errorf("link %d href = %q, want %q", i, href, want)
					}
					if rel, ok := attr(a, "rel"); ok {
						t.Errorf("link %d to our own site has rel=%q", i, rel)
					}
				}
			},
		},
		{
			name: "TitleAndAltText",
			src:  "[runbook](/r \"Step 2: rebuild? \\\"now\\\"\") ![Lag: <5 events, \"mostly\"](/lag.png)\n",
			check: func(t *testing.T, doc *html.Node) {
				if title, _ := attr(only(t, doc, "a"), "title"); title != `Step 2: rebuild? "now"` {
					t.Errorf("link title = %q", title)
				}
				if alt, _ := attr(only(t, doc, "img"), "alt"); alt != `Lag: <5 events, "mostly"` {
					t.Errorf("image alt = %q", alt)
				}
			},
		},
		{
			name: "Footnote",
			src:  "Claim[^src].\n\n[^src]: The source.\n",
			check: func(t *testing.T, doc *html.Node) {
				sup := only(t, doc, "sup")
				if id, _ := attr(sup, "id"); id != "fnref:1" {
					t.Errorf("<sup> id = %q, want fnref:1", id)
				}
				if href, _ := attr(only(t, sup, "a"), "href"); href != "#fn:1" {
					t.Errorf("footnote link href = %q, want #fn:1", href)
				}
				var note *html.Node
				for _, li := range elements(doc, "li") {
					if id, _ := attr(li, "id"); id == "fn:1" {
						note = li
					}
				}
				if note == nil {
					t.Fatal("no <li id=\"fn:1\">")
				}
				if !strings.Contains(textOf(note), "The source.") {
					t.Errorf("footnote text = %q", textOf(note))
				}
				if href, _ := attr(only(t, note, "a"), "href"); href != "#fnref:1" {
					t.Errorf("back link href = %q, want #fnref:1", href)
				}
			},
		},
		{
			name: "HeadingIDAndAnchor",
			src:  "# Set *up* now\n\n# Set up now\n", // one level down: the post title is the h1
			check: func(t *testing.T, doc *html.Node) {
				for i, want := range []string{"set-up-now", "set-up-now-1"} {
					h := elements(doc, "h2")[i]
					if id, _ := attr(h, "id"); id != want {
						t.Errorf("heading %d id = %q, want %q", i, id, want)
					}
					a := only(t, h, "a")
					if href, _ := attr(a, "href"); href != "#"+want {
						t.Errorf("anchor %d href = %q, want #%s", i, href, want)
					}
					if class, _ := attr(a, "class"); class != "anchor" {
						t.Errorf("anchor %d class = %q, want anchor", i, class)
					}
					if hidden, _ := attr(a, "aria-hidden"); hidden != "true" {
						t.Errorf("anchor %d aria-hidden = %q, want true", i, hidden)
					}
				}
			},
		},
		{
			name: "HeadingsOneLevelDown",
			src:  "# One\n\n## Two\n\n###### Six\n",
			check: func(t *testing.T, doc *html.Node) {
				if n := len(elements(doc, "h1")); n != 0 {
					t.Errorf("%d h1 elements; the post title is the page's only h1", n)
				}
				if len(elements(doc, "h2")) != 1 || len(elements(doc, "h3")) != 1 || len(elements(doc, "h6")) != 1 {
					t.Error("headings not moved one level down (h6 stays h6)")
				}
			},
		},
		{
			name: "HeadingIDNonASCII",
			src:  "# Über uns\n\n# 日本語\n",
			check: func(t *testing.T, doc *html.Node) {
				for i, want := range []string{"über-uns", "日本語"} {
					h := elements(doc, "h2")[i]
					if id, _ := attr(h, "id"); id != want {
						t.Errorf("heading %d id = %q, want %q", i, id, want)
					}
					href, _ := attr(only(t, h, "a"), "href")
					if u, err := url.Parse(href); err != nil || u.Fragment != want {
						t.Errorf("anchor %d href = %q, want a fragment of %q", i, href, want)
					}
				}
			},
		},
		{
			name: "FencedCodeHighlighted",
			src:  "```go\nfunc main() {}\n```\n",
			check: func(t *testing.T, doc *html.Node) {
				pre := only(t, doc, "pre")
				if class, _ := attr(pre, "class"); class != "chroma" {
					t.Errorf("<pre> class = %q, want chroma", class)
				}
				var keyword bool
				for _, span := range elements(pre, "span") {
					if class, _ := attr(span, "class"); class == "kd" && textOf(span) == "func" {
						keyword = true
					}
				}
				if !keyword {
					t.Errorf("no <span class=\"kd\">func</span> in %q", textOf(pre))
				}
				if got := textOf(pre); got != "func main() {}\n" {
					t.Errorf("code text = %q", got)
				}
			},
		},
		{
			name: "FencedCodeUnknownLanguage",
			src:  "```nosuchlang\n<b>x</b> & y\n```\n",
			check: func(t *testing.T, doc *html.Node) {
				code := only(t, only(t, doc, "pre"), "code")
				if class, _ := attr(code, "class"); class != "language-nosuchlang" {
					t.Errorf("<code> class = %q, want language-nosuchlang", class)
				}
				if len(elements(code, "span")) != 0 || len(elements(code, "b")) != 0 {
					t.Errorf("unknown language got markup inside <code>")
				}
				if got := textOf(code); got != "<b>x</b> & y\n" {
					t.Errorf("code text = %q", got)
				}
			},
		},
		{
			name: "FencedCodeNoLanguage",
			src:  "```\nplain <text>\n```\n",
			check: func(t *testing.T, doc *html.Node) {
				code := only(t, only(t, doc, "pre"), "code")
				if _, ok := attr(code, "class"); ok {
					t.Errorf("<code> without a language has a class")
				}
				if got := textOf(code); got != "plain <text>\n" {
					t.Errorf("code text = %q", got)
				}
			},
		},
		{
			name: "InlineCode",
			src:  "Use `a < b && c` here.\n",
			check: func(t *testing.T, doc *html.Node) {
				if got := textOf(only(t, doc, "code")); got != "a < b && c" {
					t.Errorf("<code> = %q", got)
				}
			},
		},
		{
			name: "QuotesAsTyped",
			src:  "\"Double\" and 'single' -- and ...\n",
			check: func(t *testing.T, doc *html.Node) {
				if got := textOf(only(t, doc, "p")); got != "\"Double\" and 'single' -- and ..." {
					t.Errorf("text = %q, want it as typed", got)
				}
			},
		},
		{
			name: "RawHTMLNotRendered",
			src:  "Some <b>bold</b> text.\n\n<div class=\"x\">block</div>\n",
			check: func(t *testing.T, doc *html.Node) {
				if len(elements(doc, "b")) != 0 {
					t.Error("inline raw HTML was rendered")
				}
				for _, div := range elements(doc, "div") {
					t.Errorf("block raw HTML was rendered: <div> %q", textOf(div))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render(tt.src)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			assertSafe(t, out)
			tt.check(t, parseHTML(t, out))
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestRenderInvalidUTF8 checks that Render's output is valid UTF-8 whatever
// the input, since it ends up in feeds and e-mail.
func TestRenderInvalidUTF8(t *testing.T) {
	out, err := Render("caf\xe9 *\xff*\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "<p>caf\uFFFD <em>\uFFFD</em></p>\n"; out != want {
		t.Errorf("Render = %q, want %q", out, want)
	}
}

// TestGolden renders each testdata/golden/*.md and compares the result with
// the .html beside it; highlight.css holds HighlightCSS. Run
// `go test ./internal/markdown -update` to rewrite them, and read the diff.
func TestGolden(t *testing.T) {
	sources, err := filepath.Glob(filepath.Join("testdata", "golden", "*.md"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no golden sources: %v", err)
	}
	for _, src := range sources {
		name := strings.TrimSuffix(filepath.Base(src), ".md")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Render(string(in))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			assertSafe(t, out)
			compareGolden(t, strings.TrimSuffix(src, ".md")+".html", out)
		})
	}
	t.Run("highlight.css", func(t *testing.T) {
		compareGolden(t, filepath.Join("testdata", "golden", "highlight.css"), HighlightCSS())
	})
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to rewrite it, then read the diff)\ngot:\n%s", path, got)
	}
}

// TestRenderConcurrent renders from many goroutines at once; with -race it
// checks that the shared goldmark instance and policy are safe for that.
func TestRenderConcurrent(t *testing.T) {
	doc := goldenPost(t)
	want, err := Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				got, err := Render(doc)
				if err != nil {
					t.Error(err)
					return
				}
				if got != want {
					t.Error("concurrent Render gave a different result")
					return
				}
				_ = Excerpt(doc, 200)
			}
		})
	}
	wg.Wait()
}

func goldenPost(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "post.md"))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// BenchmarkRender renders testdata/golden/post.md, a realistic post of about
// 5 KB with headings, lists, a table, code blocks and links.
func BenchmarkRender(b *testing.B) {
	doc := goldenPost(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStripAnchors(t *testing.T) {
	html, err := Render("# Plan\n\nText with a [link](#plan).\n\n## Next\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `class="anchor"`) {
		t.Fatal("no anchors to strip; the test would prove nothing")
	}
	got := StripAnchors(html)
	if strings.Contains(got, `class="anchor"`) || strings.Contains(got, ">#</a>") {
		t.Errorf("anchors left: %s", got)
	}
	if !strings.Contains(got, `<a href="#plan">link</a>`) || !strings.Contains(got, `<h2 id="plan">Plan</h2>`) {
		t.Errorf("stripped too much: %s", got)
	}
}

func TestEscapeText(t *testing.T) {
	for _, name := range []string{"a_b*c*.png", "[x](y)", "<script>", "`code`", "!&amp;", "plain name.pdf", `back\slash`} {
		html, err := Render("[" + EscapeText(name) + "](/f)")
		if err != nil {
			t.Fatal(err)
		}
		want := "<p><a href=\"/f\">" + stdhtml.EscapeString(name) + "</a></p>"
		if strings.TrimSpace(html) != want {
			t.Errorf("%q: %s, want %s", name, html, want)
		}
	}
}
