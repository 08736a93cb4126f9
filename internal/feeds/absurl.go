package feeds

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// absHTML returns fragment, a piece of HTML, with every relative URL in the
// attributes href, src, poster, cite and srcset resolved against base, the
// entry's absolute permalink. A feed reader shows the content away from the
// page it came from, so "/p/x/y" must become "https://host/p/x/y" and a
// footnote's "#fn:1" must point into the post's page, not the reader's.
//
// URLs with a scheme (https:, mailto:, data:, ...) and values that do not
// parse as a URL are left exactly as they were. Tags without a URL attribute
// are copied byte for byte; a tag with one is written again, its attribute
// values quoted and escaped as golang.org/x/net/html does. The input is the
// sanitiser's output, so it holds no script for the rewriting to wake.
func absHTML(fragment string, base *url.URL) string {
	if !strings.Contains(fragment, "<") {
		return fragment
	}
	var b strings.Builder
	b.Grow(len(fragment) + len(fragment)/8)
	z := html.NewTokenizer(strings.NewReader(fragment))
	var raw []byte
	var attrs [][2][]byte
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// The only error a strings.Reader can give is io.EOF.
			return b.String()
		case html.StartTagToken, html.SelfClosingTagToken:
			// Most tags (<p>, <li>, <strong>) carry no URL: copy them as
			// they are, without asking the tokenizer for their attributes
			// (which costs as much as reading the tag). Copy Raw first:
			// TagName and TagAttr lower-case and unescape in the
			// tokenizer's buffer.
			raw = append(raw[:0], z.Raw()...)
			if !mayHaveURLAttr(raw) {
				b.Write(raw)
				continue
			}
			name, more := z.TagName()
			attrs = attrs[:0]
			hasURL := false
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				attrs = append(attrs, [2][]byte{k, v})
				hasURL = hasURL || isURLAttr(k)
			}
			if !hasURL {
				b.Write(raw)
				continue
			}
			// Write the tag again, as html.Token.String would, but into b.
			b.WriteByte('<')
			b.Write(name)
			for _, kv := range attrs {
				val := string(kv[1])
				switch {
				case string(kv[0]) == "srcset":
					val, _ = absSrcset(val, base)
				case isURLAttr(kv[0]):
					val, _ = absRef(val, base)
				}
				b.WriteByte(' ')
				b.Write(kv[0])
				b.WriteString(`="`)
				b.WriteString(html.EscapeString(val))
				b.WriteByte('"')
			}
			if tt == html.SelfClosingTagToken {
				b.WriteByte('/')
			}
			b.WriteByte('>')
		default:
			b.Write(z.Raw())
		}
	}
}

// mayHaveURLAttr reports whether the raw start tag tag may have an attribute
// that isURLAttr: false only when none of their names occurs in it, in any
// letter case.
func mayHaveURLAttr(tag []byte) bool {
	for _, c := range tag {
		if 'A' <= c && c <= 'Z' {
			tag = bytes.ToLower(tag)
			break
		}
	}
	// "src" also finds srcset.
	return bytes.Contains(tag, []byte("href")) || bytes.Contains(tag, []byte("src")) ||
		bytes.Contains(tag, []byte("poster")) || bytes.Contains(tag, []byte("cite"))
}

// isURLAttr reports whether an attribute named key holds URLs to rewrite.
func isURLAttr(key []byte) bool {
	switch string(key) {
	case "href", // a, area, link
		"src",    // img, source, video, audio, track, iframe
		"poster", // video
		"cite",   // blockquote, q, del, ins
		"srcset": // img, source: a list, see absSrcset
		return true
	}
	return false
}

// absRef resolves one URL reference against base. ok is false when ref is
// left as it is: it has a scheme, or it does not parse.
func absRef(ref string, base *url.URL) (abs string, ok bool) {
	// HTML strips leading and trailing ASCII whitespace from URL attributes.
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil || u.Scheme != "" {
		return ref, false
	}
	return base.ResolveReference(u).String(), true
}

// absSrcset resolves every URL of a srcset attribute ("a.png 1x, b.png 2x")
// against base, keeping the descriptors. It follows the candidate splitting
// of the HTML standard: a URL runs to the next white space, and a comma that
// ends it ends the candidate.
func absSrcset(srcset string, base *url.URL) (string, bool) {
	const space = " \t\n\r\f"
	var out []string
	changed := false
	s := srcset
	for {
		s = strings.TrimLeft(s, space+",")
		if s == "" {
			break
		}
		ref := s
		if i := strings.IndexAny(s, space); i >= 0 {
			ref = s[:i]
		}
		s = s[len(ref):]
		desc := ""
		if trimmed := strings.TrimRight(ref, ","); trimmed != ref {
			ref = trimmed
		} else {
			// Descriptors run to the next comma outside parentheses.
			depth, j := 0, 0
		scan:
			for ; j < len(s); j++ {
				switch s[j] {
				case '(':
					depth++
				case ')':
					if depth > 0 {
						depth--
					}
				case ',':
					if depth == 0 {
						break scan
					}
				}
			}
			desc = strings.TrimSpace(s[:j])
			s = s[j:]
		}
		if abs, ok := absRef(ref, base); ok {
			ref, changed = abs, true
		}
		if desc != "" {
			ref += " " + desc
		}
		out = append(out, ref)
	}
	if !changed {
		return srcset, false
	}
	return strings.Join(out, ", "), true
}
