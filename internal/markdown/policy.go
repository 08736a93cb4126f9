package markdown

import (
	"regexp"
	"slices"
	"strings"

	"github.com/alecthomas/chroma/v2"
	"github.com/microcosm-cc/bluemonday"
)

// policy is the last word on what Render may return. It starts from
// bluemonday's UGCPolicy (no script, style, iframe, object, embed, form or
// svg; no style or event-handler attributes; URLs only relative or http,
// https and mailto, so no javascript:, vbscript: or data:, not even for
// images) and adds exactly what this package's renderer writes:
//
//   - chroma's class names on pre, span, div, table and td, and
//     class="language-…" on code;
//   - heading ids in any script (UGCPolicy's id rule wants an ASCII letter
//     or digit in the id, which the footnotes' "fn:1" have), and the
//     heading permalink's class, aria-hidden and tabindex;
//   - class="mention" on the links of @mentions (mention.go);
//   - class and role on the footnote elements;
//   - the disabled task-list checkbox: input type="checkbox" with checked
//     and disabled, and nothing else;
//   - any text in a link's or image's title and an image's alt: UGCPolicy
//     drops them when they hold a colon, a question mark or a quote, and
//     the policy escapes attribute values anyway;
//   - rel="nofollow noreferrer" on links to other hosts, but not on relative
//     links and #fragments, which are ours.
//
// A bluemonday.Policy is safe for concurrent use once built.
var policy = newPolicy()

func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()

	p.RequireNoFollowOnLinks(false)
	p.RequireNoFollowOnFullyQualifiedLinks(true)
	p.RequireNoReferrerOnFullyQualifiedLinks(true)

	p.AllowAttrs("class").Matching(chromaClasses).OnElements("span")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^chroma$`)).OnElements("pre")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(chroma|footnotes)$`)).OnElements("div")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^lntable$`)).OnElements("table")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^lntd$`)).OnElements("td")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\p{L}\p{N}_.+#-]+$`)).OnElements("code")

	p.AllowAttrs("title").OnElements("a", "img")
	p.AllowAttrs("alt").OnElements("img")

	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[\p{L}\p{N}\p{M}_-]+$`)).OnElements("h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(anchor|footnote-ref|footnote-backref|mention)$`)).OnElements("a")
	p.AllowAttrs("role").Matching(regexp.MustCompile(`^(doc-noteref|doc-backlink)$`)).OnElements("a")
	p.AllowAttrs("role").Matching(regexp.MustCompile(`^doc-endnotes$`)).OnElements("div")
	p.AllowAttrs("aria-hidden").Matching(regexp.MustCompile(`^true$`)).OnElements("a")
	p.AllowAttrs("tabindex").Matching(regexp.MustCompile(`^-1$`)).OnElements("a")

	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^$`)).OnElements("input")
	// A task item's checkbox and text sit in a label (tasklabel.go).
	p.AllowElements("label")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^task$`)).OnElements("label")

	return p
}

// chromaClasses matches the class attribute of the spans that chroma
// writes: one or more of its token and line class names, separated by
// spaces ("line hl").
var chromaClasses = func() *regexp.Regexp {
	var names []string
	for _, c := range chroma.StandardTypes {
		if c != "" {
			names = append(names, regexp.QuoteMeta(c))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	alt := "(?:" + strings.Join(names, "|") + ")"
	return regexp.MustCompile("^" + alt + "(?: " + alt + ")*$")
}()
