package markdown

import (
	"testing"
	"unicode/utf8"
)

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		maxRunes int
		want     string
	}{
		{"PlainParagraph", "Hello world.\n\nSecond paragraph.", 100, "Hello world."},
		{"SkipsSalutation", "Hi all,\n\nThe launch moves to *May*.", 100, "The launch moves to May."},
		{"SkipsFrenchSalutation", "Bonjour à tous,\n\nLa réunion est déplacée.", 100, "La réunion est déplacée."},
		{"SalutationAlone", "Hello team,", 100, "Hello team,"},
		{"LongSentenceWithCommaIsText", "We shipped the new exporter, the importer and the docs,\n\nThen more.", 100, "We shipped the new exporter, the importer and the docs,"},
		{"OnlyFirstSalutationSkipped", "Hi,\n\nThanks,\n\nMore.", 100, "Thanks,"},
		{"SkipsHeading", "# Week 12\n\nFirst paragraph.\n\nSecond.", 100, "First paragraph."},
		{"SkipsSetextHeading", "Week 12\n=======\n\nFirst paragraph.", 100, "First paragraph."},
		{"SkipsCodeAndTable", "```\ncode\n```\n\n| a |\n|---|\n| b |\n\nText.", 100, "Text."},
		{"StripsInlineSyntax", "Some *em*, **strong**, [a link](https://x.test \"title\"), `code`, ~~old~~ and <https://auto.test>.", 100,
			"Some em, strong, a link, code, old and https://auto.test."},
		{"ResolvesEntitiesAndEscapes", "AT&amp;T \\*not em\\* &copy; &#65;", 100, "AT&T *not em* © A"},
		{"JoinsLines", "one\ntwo  \nthree\\\nfour", 100, "one two three four"},
		{"DropsRawHTML", "Hello <b>there</b> <!-- note -->friend", 100, "Hello there friend"},
		{"SkipsImageOnlyParagraph", "![a diagram](d.png)\n\nThe text.", 100, "The text."},
		{"DropsFootnoteReference", "A claim[^1].\n\n[^1]: The source.", 100, "A claim."},
		{"InBlockQuote", "> Quoted *text*\n\nAfter.", 100, "Quoted text"},
		{"FirstListItem", "- [x] Ship *it*\n- Then rest", 100, "Ship it"},
		{"CutAtWordBoundary", "The quick brown fox jumps", 12, "The quick…"},
		{"CutWhereWordEnds", "The quick brown fox", 10, "The quick…"},
		{"CutDropsTrailingPunctuation", "Hello, world again", 8, "Hello…"},
		{"FitsExactly", "abc def", 7, "abc def"},
		{"LongFirstWord", "Supercalifragilistic words", 6, "Super…"},
		{"NoSpacesScript", "日本語の文章です", 5, "日本語の…"},
		{"OnlyEllipsisFits", "Hello world", 1, "…"},
		{"ZeroMax", "Hello", 0, ""},
		{"Empty", "", 10, ""},
		{"NoParagraph", "# Just a heading\n\n```\ncode\n```\n", 100, ""},
		{"InvalidUTF8", "caf\xe9 \xff\xfe ok", 100, "caf\uFFFD \uFFFD ok"},
		{"InvalidUTF8Cut", "caf\xe9 au lait", 6, "caf\uFFFD…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt(tt.src, tt.maxRunes)
			if got != tt.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.src, tt.maxRunes, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > max(tt.maxRunes, 0) {
				t.Errorf("Excerpt has %d runes, more than %d", n, tt.maxRunes)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Excerpt %q is not valid UTF-8", got)
			}
		})
	}
}
