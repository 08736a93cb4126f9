package mailin

import (
	"net/url"
	"strings"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToMarkdown converts the HTML part of a message to Markdown. It drops
// what a reader never sees (head, style, script, hidden elements, tracking
// pixels) and points images given by Content-ID ("cid:…") at the name of
// the attached file, as cids maps them; images whose Content-ID is not
// attached are dropped.
//
// With dropQuotes it also removes the quoted earlier messages the way the
// common clients mark them (see removeQuotes) and reports whether it found
// any: that is how Parse computes Reply from an HTML-only message.
func htmlToMarkdown(src string, cids map[string]string, dropQuotes bool) (string, bool) {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		// Elements nested too deep (more than 512): keep the text.
		return tokenText(src), false
	}
	removeInvisible(doc)
	flattenDeep(doc, 0)
	linkImages(doc, cids)
	removed := false
	if dropQuotes {
		removed = removeQuotes(doc)
	}
	conv := converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(),
	))
	// Mail uses tables for layout far more than for data: each cell is a
	// block, so cells do not run together ("ab").
	for _, cell := range []string{"td", "th"} {
		conv.Register.TagType(cell, converter.TagTypeBlock, converter.PriorityStandard)
	}
	md, err := conv.ConvertNode(doc)
	if err != nil {
		return nodeText(doc), removed
	}
	return backslashBreaks(string(md)), removed
}

// backslashBreaks writes the converter's hard line breaks ("  " at the end
// of a line, which tidyText would trim) as a backslash, CommonMark's other
// form, outside fenced code.
func backslashBreaks(md string) string {
	lines := strings.Split(md, "\n")
	fenced := false
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fenced = !fenced
		}
		// A break before a blank line ends the paragraph anyway, and a
		// backslash there would show.
		if fenced || i == len(lines)-1 || !strings.HasSuffix(line, "  ") ||
			strings.Trim(lines[i+1], "> ") == "" {
			continue
		}
		if text := strings.TrimRight(line, " "); strings.TrimSpace(text) != "" && !strings.HasSuffix(text, "\\") {
			lines[i] = text + "\\"
		}
	}
	return strings.Join(lines, "\n")
}

// hiddenTags are elements whose content a mail reader does not show.
var hiddenTags = map[atom.Atom]bool{
	atom.Head: true, atom.Title: true, atom.Meta: true, atom.Link: true,
	atom.Style: true, atom.Script: true, atom.Noscript: true,
	atom.Template: true, atom.Iframe: true, atom.Object: true, atom.Embed: true,
}

// removeInvisible drops head, style, script and the like, elements hidden
// with CSS (newsletters hide a "preheader" that way), and tracking images.
func removeInvisible(doc *html.Node) {
	removeNodes(doc, func(n *html.Node) bool {
		if n.Type == html.CommentNode {
			return true
		}
		if n.Type != html.ElementNode {
			return false
		}
		return hiddenTags[n.DataAtom] || isHiddenByStyle(n) || isTrackingImage(n)
	})
	removeNodes(doc, isEmptyParagraph)
}

// maxNesting is how many blockquotes or lists may nest. Deeper ones become
// plain blocks: the converter's time grows with the square of their depth
// (half a second for 500 nested blockquotes, a few kilobytes a message
// can repeat), and no thread quotes that deep.
const maxNesting = 16

var nestingTags = map[atom.Atom]bool{atom.Blockquote: true, atom.Ul: true, atom.Ol: true, atom.Li: true}

// flattenDeep turns the blockquotes, lists and list items nested more than
// maxNesting deep (depth counts those above n) into divs.
func flattenDeep(n *html.Node, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		d := depth
		if c.Type == html.ElementNode && nestingTags[c.DataAtom] {
			if d++; d > maxNesting {
				c.DataAtom, c.Data, c.Attr = atom.Div, "div", nil
			}
		}
		flattenDeep(c, d)
	}
}

// isEmptyParagraph reports whether n is a paragraph holding only white
// space, as Outlook writes blank lines (<p><o:p>&nbsp;</o:p></p>); left in,
// each would add blank lines to the Markdown.
func isEmptyParagraph(n *html.Node) bool {
	if n.Type != html.ElementNode || n.DataAtom != atom.P {
		return false
	}
	return strings.TrimSpace(strings.ReplaceAll(nodeText(n), "\u00a0", " ")) == "" && findNode(n, isImg) == nil
}

func isImg(n *html.Node) bool { return n.DataAtom == atom.Img }

// isHiddenByStyle reports whether n's inline style hides it.
func isHiddenByStyle(n *html.Node) bool {
	style := compactStyle(htmlAttr(n, "style"))
	return strings.Contains(style, "display:none") || strings.Contains(style, "visibility:hidden")
}

// isTrackingImage reports whether n is an image of at most one pixel, the
// shape of an open-tracking beacon.
func isTrackingImage(n *html.Node) bool {
	if n.DataAtom != atom.Img {
		return false
	}
	tiny := func(v string) bool {
		v = strings.TrimSuffix(strings.TrimSpace(v), "px")
		return v == "0" || v == "1"
	}
	if tiny(htmlAttr(n, "width")) || tiny(htmlAttr(n, "height")) {
		return true
	}
	style := compactStyle(htmlAttr(n, "style"))
	return strings.Contains(style, "width:1px") || strings.Contains(style, "height:1px") ||
		strings.Contains(style, "width:0") || strings.Contains(style, "height:0")
}

// linkImages points "cid:" images at the attached file's name (escaped as
// a URL path), and drops those whose part is missing.
func linkImages(doc *html.Node, cids map[string]string) {
	removeNodes(doc, func(n *html.Node) bool {
		if n.DataAtom != atom.Img {
			return false
		}
		src := strings.TrimSpace(htmlAttr(n, "src"))
		if len(src) < 4 || !strings.EqualFold(src[:4], "cid:") {
			return false
		}
		name, ok := cids[strings.Trim(src[4:], "<>")]
		if !ok {
			return true
		}
		setHTMLAttr(n, "src", url.PathEscape(name))
		return false
	})
}

// removeQuotes removes the quoted earlier messages of an HTML reply as the
// common clients mark them, and reports whether it removed anything:
//
//   - Outlook on the web: div#appendonsend and div#divRplyFwdMsg, with
//     everything after them (the quoted body follows the header block as a
//     sibling, not inside it);
//   - Outlook for Windows: the div whose style has
//     "border-top:solid #E1E1E1" (or #B5C4DF, Outlook 2010) that holds the
//     "From: / Sent:" block, with everything after it;
//   - Gmail: the .gmail_attr attribution and the blockquotes of a
//     .gmail_quote. The container itself stays, so text a person typed
//     between two quotes (an inline reply) is kept; a Gmail forward
//     ("---------- Forwarded message ---------") is content and stays;
//   - Thunderbird: div.moz-cite-prefix, and blockquote[type=cite];
//   - Apple Mail: blockquote[type=cite], except the one that follows
//     "Begin forwarded message:", which is content.
func removeQuotes(doc *html.Node) bool {
	removed := false
	if n := findNode(doc, isOutlookQuoteStart); n != nil {
		removeFrom(n)
		removed = true
	}
	if removeNodes(doc, isCitation) {
		removed = true
	}
	return removed
}

// isOutlookQuoteStart reports whether n starts Outlook's quoted message.
func isOutlookQuoteStart(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	switch htmlAttr(n, "id") {
	case "divRplyFwdMsg", "appendonsend":
		return true
	}
	if n.DataAtom != atom.Div {
		return false
	}
	style := compactStyle(htmlAttr(n, "style"))
	return strings.Contains(style, "border-top:solid#e1e1e1") ||
		strings.Contains(style, "border-top:solid#b5c4df")
}

// isCitation reports whether n is a Gmail, Thunderbird or Apple Mail
// quotation or attribution (see removeQuotes).
func isCitation(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	switch {
	case hasClass(n, "gmail_attr"):
		return !hasForwardMarker(nodeText(n))
	case hasClass(n, "moz-cite-prefix"):
		return true
	case n.DataAtom != atom.Blockquote:
		return false
	case hasClass(n, "gmail_quote"), n.Parent != nil && hasClass(n.Parent, "gmail_quote"):
		return true
	case strings.EqualFold(htmlAttr(n, "type"), "cite"):
		return !followsForwardMarker(n)
	}
	return false
}

// followsForwardMarker reports whether the nearest text before n announces
// a forward ("Begin forwarded message:"), or n sits in Thunderbird's
// forward container.
func followsForwardMarker(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if hasClass(p, "moz-forward-container") {
			return true
		}
	}
	for s := n.PrevSibling; s != nil; s = s.PrevSibling {
		text := strings.TrimSpace(nodeText(s))
		if text == "" {
			continue
		}
		return isForwardMarker(lastTextLine(text))
	}
	return false
}

// hasForwardMarker reports whether a line of text announces a forward.
func hasForwardMarker(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		if isForwardMarker(line) {
			return true
		}
	}
	return false
}

// lastTextLine returns the last non-blank line of s.
func lastTextLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// removeFrom removes n and everything after it in document order, up to
// the end of the body.
func removeFrom(n *html.Node) {
	for cur := n; cur.Parent != nil && cur.DataAtom != atom.Body; cur = cur.Parent {
		for s := cur.NextSibling; s != nil; {
			next := s.NextSibling
			cur.Parent.RemoveChild(s)
			s = next
		}
	}
	n.Parent.RemoveChild(n)
}

// removeNodes removes every node for which drop is true (with its subtree)
// and reports whether it removed any.
func removeNodes(n *html.Node, drop func(*html.Node) bool) bool {
	removed := false
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if drop(c) {
			n.RemoveChild(c)
			removed = true
		} else if removeNodes(c, drop) {
			removed = true
		}
		c = next
	}
	return removed
}

// findNode returns the first node under n, in document order, for which
// match is true.
func findNode(n *html.Node, match func(*html.Node) bool) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if match(c) {
			return c
		}
		if found := findNode(c, match); found != nil {
			return found
		}
	}
	return nil
}

// nodeText returns the text of n and its descendants, with a line break
// for each <br> and block boundary; it is the fallback when the converter
// fails, and what the quote rules read.
func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.DataAtom == atom.Br:
			b.WriteString("\n")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.DataAtom == atom.Div || n.DataAtom == atom.P {
			b.WriteString("\n")
		}
	}
	walk(n)
	return b.String()
}

// tokenText returns the text of src without building a tree, for HTML the
// parser refuses: text tokens, outside script and style, with a line break
// at each block tag.
func tokenText(src string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(src))
	skip := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if !skip {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch a := atom.Lookup(name); a {
			case atom.Script, atom.Style:
				skip = tt == html.StartTagToken
			case atom.Br, atom.P, atom.Div, atom.Li, atom.Tr, atom.H1, atom.H2, atom.H3, atom.Blockquote:
				b.WriteString("\n")
			}
		}
	}
}

func htmlAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

func setHTMLAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(htmlAttr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// compactStyle lower-cases an inline style and removes its white space,
// so "border-top: solid #E1E1E1 1.0pt" reads "border-top:solid#e1e1e11.0pt".
func compactStyle(style string) string {
	return strings.Join(strings.Fields(strings.ToLower(style)), "")
}
