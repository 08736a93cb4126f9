package feeds

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestAbsHTML(t *testing.T) {
	entry, err := url.Parse("https://blog.example.com/p/apollo/launch-window")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"RootRelativeLink", `<a href="/p/x/y">y</a>`, `<a href="https://blog.example.com/p/x/y">y</a>`},
		{"Image", `<img src="/static/a.png" alt="A">`, `<img src="https://blog.example.com/static/a.png" alt="A">`},
		{"Fragment", `<a href="#fn:1">1</a>`, `<a href="https://blog.example.com/p/apollo/launch-window#fn:1">1</a>`},
		{"PathRelative", `<a href="checklist">c</a>`, `<a href="https://blog.example.com/p/apollo/checklist">c</a>`},
		{"DotDot", `<a href="../../x">x</a>`, `<a href="https://blog.example.com/x">x</a>`},
		{"QueryOnly", `<a href="?page=2">2</a>`, `<a href="https://blog.example.com/p/apollo/launch-window?page=2">2</a>`},
		{"SelfClosing", `<img src="a.png" />`, `<img src="https://blog.example.com/p/apollo/a.png"/>`},
		{"ProtocolRelative", `<img src="//cdn.example.net/a.png">`, `<img src="https://cdn.example.net/a.png">`},
		{"Absolute", `<a href="https://ext.example.org/a?b=1&amp;c=2">e</a>`, `<a href="https://ext.example.org/a?b=1&amp;c=2">e</a>`},
		{"HTTPAbsolute", `<a href="http://ext.example.org/">e</a>`, `<a href="http://ext.example.org/">e</a>`},
		{"Mailto", `<a href="mailto:ops@example.com">ops</a>`, `<a href="mailto:ops@example.com">ops</a>`},
		{"DataURI", `<img src="data:image/png;base64,iVBORw0KGgo=">`, `<img src="data:image/png;base64,iVBORw0KGgo=">`},
		{"Unparsable", `<a href="http://[::1">x</a>`, `<a href="http://[::1">x</a>`},
		{"Whitespace", `<a href=" /p/x ">x</a>`, `<a href="https://blog.example.com/p/x">x</a>`},
		{"SrcsetDensities", `<img srcset="/a.png 1x, /a@2x.png 2x">`, `<img srcset="https://blog.example.com/a.png 1x, https://blog.example.com/a@2x.png 2x">`},
		{"SrcsetWidthsNoSpace", `<img srcset="/a.png 480w,/b.png 800w">`, `<img srcset="https://blog.example.com/a.png 480w, https://blog.example.com/b.png 800w">`},
		{"SrcsetCommaInURL", `<img srcset="/img,1.png 1x, https://x.example/b.png 2x">`, `<img srcset="https://blog.example.com/img,1.png 1x, https://x.example/b.png 2x">`},
		{"SrcsetAbsoluteOnly", `<img srcset="https://x.example/a.png 1x">`, `<img srcset="https://x.example/a.png 1x">`},
		{"VideoPoster", `<video src="/v.mp4" poster="/v.jpg"></video>`, `<video src="https://blog.example.com/v.mp4" poster="https://blog.example.com/v.jpg"></video>`},
		{"BlockquoteCite", `<blockquote cite="/p/other">q</blockquote>`, `<blockquote cite="https://blog.example.com/p/other">q</blockquote>`},
		{"OtherAttributesKept", `<a class="x" title="a &amp; b" href="/y" rel="nofollow">y</a>`, `<a class="x" title="a &amp; b" href="https://blog.example.com/y" rel="nofollow">y</a>`},
		{"TextUntouched", `<p>see href="/x" and &lt;a href=&#34;/y&#34;&gt;</p>`, `<p>see href="/x" and &lt;a href=&#34;/y&#34;&gt;</p>`},
		{"CodeUntouched", `<pre><code>&lt;img src="/z.png"&gt;</code></pre>`, `<pre><code>&lt;img src="/z.png"&gt;</code></pre>`},
		{"NonURLAttribute", `<div data-href="/x" id="/y">d</div>`, `<div data-href="/x" id="/y">d</div>`},
		{"PlainText", `no tags & no links`, `no tags & no links`},
		{"Empty", ``, ``},
		{"EscapedPath", `<a href="/p/caf%C3%A9?q=a%20b">c</a>`, `<a href="https://blog.example.com/p/caf%C3%A9?q=a%20b">c</a>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := absHTML(tt.in, entry)
			if got != tt.want {
				t.Errorf("absHTML(%s)\n got: %s\nwant: %s", tt.in, got, tt.want)
			}
			// The result is still the same HTML, only with other URLs.
			if a, b := countTokens(t, got), countTokens(t, tt.in); a != b {
				t.Errorf("%d tokens after rewriting, %d before", a, b)
			}
		})
	}
}

// countTokens counts the HTML tokens of s.
func countTokens(t *testing.T, s string) int {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(s))
	n := 0
	for z.Next() != html.ErrorToken {
		n++
	}
	return n
}
