package markdown

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// mentionLinks returns the handles of the a.mention links in rendered
// HTML, checking that each link's text and href agree.
func mentionLinks(t *testing.T, rendered string) []string {
	t.Helper()
	var out []string
	for _, a := range elements(parseHTML(t, rendered), "a") {
		if class, _ := attr(a, "class"); class != "mention" {
			continue
		}
		href, _ := attr(a, "href")
		h, ok := strings.CutPrefix(href, "/people/")
		if !ok {
			t.Errorf("mention href = %q, want /people/HANDLE", href)
		}
		if got := textOf(a); got != "@"+h {
			t.Errorf("mention text = %q, want %q", got, "@"+h)
		}
		if len(a.Attr) != 2 {
			t.Errorf("mention link has attributes %v, want class and href only", a.Attr)
		}
		out = append(out, h)
	}
	return out
}

func TestMentions(t *testing.T) {
	known := map[string]bool{"ada": true, "bob.smith": true, "c-3po": true, "x_y": true}
	tests := []struct {
		name string
		src  string
		want []string // handles linked (and returned by Mentions, unique)
		text string   // the text of the rendered document, trimmed; "" to skip
	}{
		{"Start", "@ada, please review.", []string{"ada"}, "@ada, please review."},
		{"AfterSpace", "Thanks @ada!", []string{"ada"}, "Thanks @ada!"},
		{"TrailingDot", "Ask @ada.", []string{"ada"}, "Ask @ada."},
		{"TrailingHyphenAndUnderscore", "(@ada-) and @ada_", []string{"ada", "ada"}, "(@ada-) and @ada_"},
		{"DotsInside", "cc @bob.smith.", []string{"bob.smith"}, "cc @bob.smith."},
		{"DigitsAndHyphen", "@c-3po:", []string{"c-3po"}, ""},
		{"UnderscoreInside", "_cc @x_y_", []string{"x_y"}, "cc @x_y"},
		{"Emphasis", "**@ada** and *@bob.smith*", []string{"ada", "bob.smith"}, "@ada and @bob.smith"},
		{"AfterPunctuation", "(@ada) [@ada] \"@ada\" a-@ada", []string{"ada", "ada", "ada", "ada"}, ""},
		{"Repeated", "@ada @bob.smith @ada", []string{"ada", "bob.smith", "ada"}, ""},
		{"Heading", "# Hello @ada", []string{"ada"}, ""},
		{"ListAndTable", "- @ada\n\n| who |\n|-----|\n| @c-3po |\n", []string{"ada", "c-3po"}, ""},
		{"Footnote", "See[^1].\n\n[^1]: Ask @ada.\n", []string{"ada"}, ""},

		{"Email", "Write to ada@example.com or bob.smith@example.com.", nil, ""},
		{"EmailNoAutolink", "x:ada@example", nil, "x:ada@example"},
		{"AfterDotOrUnderscore", "a.@ada a_@ada", nil, "a.@ada a_@ada"},
		{"UpperCase", "@Ada @ADA", nil, "@Ada @ADA"},
		{"RunsIntoLetter", "@adaé @ada.Lovelace", nil, "@adaé @ada.Lovelace"},
		{"PunctuationFirst", "@.ada @-ada @_ada", nil, "@.ada @-ada @_ada"},
		{"Alone", "@ and @. and @@", nil, "@ and @. and @@"},
		{"TooLong", "@" + strings.Repeat("a", MaxHandleBytes+1), nil, ""},
		{"Escaped", `\@ada`, nil, "@ada"},
		{"CodeSpan", "Run `@ada` now", nil, "Run @ada now"},
		{"FencedCode", "```\n@ada\n```\n", nil, "@ada\n"},
		{"IndentedCode", "    @ada\n", nil, "@ada\n"},
		{"LinkText", "[@ada](https://example.com/)", nil, "@ada"},
		{"ReferenceLink", "[ask @ada][r]\n\n[r]: /x\n", nil, "ask @ada"},
		{"ImageAlt", "![@ada at work](a.png)", nil, ""},
		{"Autolink", "<https://example.com/@ada>", nil, "https://example.com/@ada"},
		{"BareURL", "See https://example.com/@ada today", nil, "See https://example.com/@ada today"},
		{"UnknownHandle", "@nobody here", nil, "@nobody here"},
		{"UnknownNextToKnown", "@nobody @ada", []string{"ada"}, "@nobody @ada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			got, err := RenderWith(tt.src, RenderOptions{Mention: func(h string) bool {
				asked = append(asked, h)
				return known[h]
			}})
			if err != nil {
				t.Fatal(err)
			}
			if links := mentionLinks(t, got); !slices.Equal(links, tt.want) {
				t.Errorf("linked %q, want %q\n%s", links, tt.want, got)
			}
			if tt.text != "" {
				if txt := strings.TrimSpace(textOf(parseHTML(t, got))); txt != strings.TrimSpace(tt.text) {
					t.Errorf("text = %q, want %q\n%s", txt, tt.text, got)
				}
			}
			// Mentions lists what the renderer would ask about, once each.
			var uniq []string
			for _, h := range asked {
				if !slices.Contains(uniq, h) {
					uniq = append(uniq, h)
				}
			}
			hs := Mentions(tt.src)
			if !slices.Equal(hs, uniq) {
				t.Errorf("Mentions = %q, want %q (the handles RenderWith asked about)", hs, uniq)
			}
			for _, h := range tt.want {
				if !slices.Contains(hs, h) {
					t.Errorf("Mentions lacks %q", h)
				}
			}

			// Without a resolver nothing is linked, and the output is
			// Render's.
			plain, err := Render(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if links := mentionLinks(t, plain); len(links) != 0 {
				t.Errorf("Render linked %q", links)
			}
			if nilOpt, _ := RenderWith(tt.src, RenderOptions{}); nilOpt != plain {
				t.Errorf("RenderWith(zero) = %q, Render = %q", nilOpt, plain)
			}
		})
	}
}

func TestMentionsOrder(t *testing.T) {
	got := Mentions("@bob then @ada, again @bob and `@carol` and [@dan](/x) and @erin.")
	want := []string{"bob", "ada", "erin"}
	if !slices.Equal(got, want) {
		t.Errorf("Mentions = %q, want %q", got, want)
	}
	if got := Mentions("no at sign"); got != nil {
		t.Errorf("Mentions without @ = %q, want nil", got)
	}
}

// TestMentionSanitised checks that only the renderer's own mention links
// keep their class: a raw <a class="mention"> in the source is dropped
// like any raw HTML, and the class is allowed on nothing but <a>.
func TestMentionSanitised(t *testing.T) {
	got, err := RenderWith(`<a class="mention" href="javascript:alert(1)">@ada</a> <span class="mention">x</span>`,
		RenderOptions{Mention: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, got)
	for d := range doc.Descendants() {
		if d.Type != html.ElementNode {
			continue
		}
		if d.Data == "a" || d.Data == "span" {
			t.Errorf("raw HTML survived: %s", got)
		}
	}
	if strings.Contains(got, "javascript") {
		t.Errorf("dangerous URL survived: %s", got)
	}
}
