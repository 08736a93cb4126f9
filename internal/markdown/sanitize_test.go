package markdown

import (
	"strings"
	"testing"
)

// xssPayloads are Markdown and HTML attacks; Render must turn every one into
// harmless HTML (see assertSafe). Most come from the OWASP XSS filter evasion
// cheat sheet, adapted to Markdown where it has its own way in.
var xssPayloads = []struct {
	name string
	src  string
}{
	{"ScriptTag", "<script>alert(1)</script>"},
	{"ScriptTagUpperCaseSrc", "<SCRIPT SRC=//evil.test/x.js></SCRIPT>"},
	{"ScriptInParagraph", "Hello <script>alert(1)</script> world"},
	{"ImgOnerror", "<img src=x onerror=alert(1)>"},
	{"ImgOnerrorInline", "text <img src=x onerror=alert(1)> text"},
	{"LinkJavascript", "[x](javascript:alert(1))"},
	{"LinkJavascriptMixedCase", "[x](JaVaScRiPt:alert(1))"},
	{"LinkJavascriptDecimalEntities", "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))"},
	{"LinkJavascriptHexEntitiesAndColon", "[x](&#x6A;avascript&colon;alert(1))"},
	{"LinkJavascriptEntityTab", "[x](java&#09;script:alert(1))"},
	{"LinkJavascriptPercentEncoded", "[x](%6Aavascript:alert(1))"},
	{"LinkJavascriptAngleBrackets", "[x](<javascript:alert(1)>)"},
	{"LinkJavascriptLeadingSpaceEntity", "[x](&#32;javascript:alert(1))"},
	{"ReferenceLinkJavascript", "[click][x]\n\n[x]: javascript:alert(1)"},
	{"LinkVbscript", "[x](vbscript:msgbox(1))"},
	{"LinkDataHTML", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"},
	{"ImageDataSVG", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"},
	{"ImageDataPNG", "![x](data:image/png;base64,iVBORw0KGgo=)"},
	{"ImageJavascript", "![x](javascript:alert(1))"},
	{"AutolinkJavascript", "<javascript:alert(1)>"},
	{"AutolinkVbscript", "<vbscript:msgbox(1)>"},
	{"AutolinkData", "<data:text/html,<script>alert(1)</script>>"},
	{"LinkTitleBreakout", "[x](https://example.com \"t\\\" onmouseover=\\\"alert(1)\")"},
	{"LinkTitleBreakoutSingleQuote", "[x](https://example.com 't\\' onmouseover=alert(1) x=\\'')"},
	{"LinkURLBreakout", "[x](https://example.com/\"onmouseover=\"alert(1))"},
	{"ImageAltBreakout", "![x\" onerror=\"alert(1)](https://example.com/a.png)"},
	{"ImageTitleBreakout", "![x](https://example.com/a.png \"t\\\" onerror=\\\"alert(1)\")"},
	{"LinkifyBreakout", "https://example.com/\"onmouseover=\"alert(1)"},
	{"LinkifyScript", "www.example.com/?q=<script>alert(1)</script>"},
	{"SvgOnload", "<svg onload=alert(1)>"},
	{"SvgScript", "<svg><script>alert(1)</script></svg>"},
	{"Iframe", "<iframe src=\"javascript:alert(1)\"></iframe>"},
	{"IframeSrcdoc", "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>"},
	{"StyleTag", "<style>body{display:none}</style>"},
	{"StyleAttributeFixed", "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">x</div>"},
	{"StyleAttributeInline", "Hi <span style=\"position:fixed;inset:0\">x</span>"},
	{"AnchorVbscript", "<a href=\"vbscript:msgbox(1)\">x</a>"},
	{"AnchorJavascriptEntityColon", "<a href=\"javascript&colon;alert(1)\">x</a>"},
	{"AnchorJavascriptPaddedEntities", "<a href=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)\">x</a>"},
	{"AnchorJavascriptTabEntity", "<a href=\"jav&#x09;ascript:alert(1)\">x</a>"},
	{"UnclosedAnchor", "<a href=\"javascript:alert(1)\""},
	{"UnclosedImg", "<img src=x onerror=alert(1)"},
	{"NestedScript", "<scr<script>ipt>alert(1)</scr</script>ipt>"},
	{"MathMXSS", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"},
	{"MathHref", "<math href=\"javascript:alert(1)\">CLICK</math>"},
	{"HTMLComment", "<!-- <script>alert(1)</script> -->"},
	{"HTMLCommentBreakout", "<!--><script>alert(1)</script>-->"},
	{"NoscriptBreakout", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">"},
	{"Object", "<object data=\"javascript:alert(1)\"></object>"},
	{"Embed", "<embed src=\"javascript:alert(1)\">"},
	{"Form", "<form action=\"javascript:alert(1)\"><input type=submit></form>"},
	{"DetailsOntoggle", "<details open ontoggle=alert(1)>"},
	{"BodyOnload", "<body onload=alert(1)>"},
	{"MetaRefresh", "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">"},
	{"BaseHref", "<base href=\"javascript:alert(1)//\">"},
	{"CustomElementHandler", "<xss onpointerenter=alert(1)>x</xss>"},
	{"FenceInfoBreakout", "```\"><script>alert(1)</script>\ncode\n```"},
	{"FenceInfoHandler", "```go onload=alert(1)\ncode\n```"},
	{"FenceInfoAttributes", "```go {linenos=table,hl_lines=[\"1\\\"><script>alert(1)</script>\"],onclick=\"alert(1)\"}\nx := 1\n```"},
	{"HeadingScript", "# Heading <script>alert(1)</script>"},
	{"HeadingBreakout", "# \"><img src=x onerror=alert(1)>"},
	{"FootnoteScript", "x[^1]\n\n[^1]: <script>alert(1)</script>"},
	{"TableCells", "| <script>alert(1)</script> |\n|---|\n| <img src=x onerror=alert(1)> |"},
	{"TaskListInput", "- [x] <input type=\"text\" onfocus=alert(1) autofocus>"},
	{"NULByte", "\x00<script>alert(1)</script>"},
	{"ImgSrcEval", "<img src=\"x:alert(1)\" onerror=\"eval(src)\">"},
}

func TestRenderXSS(t *testing.T) {
	for _, p := range xssPayloads {
		t.Run(p.name, func(t *testing.T) {
			out, err := Render(p.src)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			assertSafe(t, out)
		})
	}
}

// TestPolicyXSS sends the raw HTML payloads straight through the policy, as
// if goldmark had let them through: the policy must hold on its own.
func TestPolicyXSS(t *testing.T) {
	for _, p := range xssPayloads {
		if !strings.Contains(p.src, "<") {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			assertSafe(t, policy.Sanitize(p.src))
		})
	}
}

// TestPolicyAllows checks that the policy keeps what the renderer needs and
// drops the same attributes with other values.
func TestPolicyAllows(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"ChromaPre", `<pre class="chroma"><code>x</code></pre>`, `<pre class="chroma"><code>x</code></pre>`},
		{"OtherPreClass", `<pre class="evil"><code>x</code></pre>`, `<pre><code>x</code></pre>`},
		{"ChromaSpans", `<span class="line hl"><span class="kd">func</span></span>`, `<span class="line hl"><span class="kd">func</span></span>`},
		{"OtherSpanClass", `<span class="kd evil">x</span>`, `<span>x</span>`},
		{"LanguageClass", `<code class="language-c++">x</code>`, `<code class="language-c++">x</code>`},
		{"OtherCodeClass", `<code class="hidden">x</code>`, `<code>x</code>`},
		{"HeadingID", `<h2 id="日本語">x</h2>`, `<h2 id="日本語">x</h2>`},
		{"Anchor", `<a class="anchor" href="#x" aria-hidden="true" tabindex="-1">#</a>`, `<a class="anchor" href="#x" aria-hidden="true" tabindex="-1">#</a>`},
		{"OtherTabindex", `<a href="#x" tabindex="1">x</a>`, `<a href="#x">x</a>`},
		{"Checkbox", `<input checked="" disabled="" type="checkbox">`, `<input checked="" disabled="" type="checkbox">`},
		{"TextInput", `<input type="text" value="x">`, ``},
		{"TableAlign", `<td align="right">1</td>`, `<td align="right">1</td>`},
		{"Footnotes", `<div class="footnotes" role="doc-endnotes">x</div>`, `<div class="footnotes" role="doc-endnotes">x</div>`},
		{"OtherDivClass", `<div class="modal" role="dialog">x</div>`, `<div>x</div>`},
		{"ExternalLink", `<a href="https://example.com/">x</a>`, `<a href="https://example.com/" rel="nofollow noreferrer">x</a>`},
		{"RelativeLink", `<a href="../p/1">x</a>`, `<a href="../p/1">x</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
