package mailin

import (
	"regexp"
	"strings"
	"unicode"
)

// StripReply returns the new text of a reply: text without the quoted
// earlier messages and without the signature (see Message.Reply). It works
// on plain text or on the Markdown made from HTML, and is safe for
// concurrent use.
//
// The quoted history starts at the first of:
//
//   - an attribution line, "On <date>, <name> wrote:" (also wrapped over two
//     lines, as Gmail does, and Apple Mail's "On 3 Jan 2026, at 10:02, Name
//     <a@b> wrote:"), "Le <date>, <name> a écrit :", "Am … schrieb …:",
//     "El … escribió:". So that a sentence merely starting with "On" and
//     ending with "wrote:" stays, the line must hold a digit or an "@", or
//     be followed by a quoted line;
//   - a quoted line, starting with ">", together with the line before it
//     when that one ends with ":" and says "wrote", "écrit" and the like;
//   - "-----Original Message-----" and its French, German and Thunderbird
//     forms ("----- Message d'origine -----", "-------- Message original
//     --------");
//   - Outlook's header block: "From:" then, within the next lines, two of
//     "Sent:", "Date:", "To:", "Cc:", "Subject:" (French "De :", "Envoyé :",
//     "À :", "Objet :"), bold or not, with the "_____" line above it.
//
// Outlook-style blocks and "-----Original Message-----" remove everything
// after them. After an attribution or a quoted line, the lines that are not
// quoted, if any, are an inline reply (answers typed between the quotes):
// they are kept, the quoted lines are dropped; if there are none the quote
// was the tail of the message and goes away.
//
// The signature starts at a line that is exactly "-- " or "--", or at a
// mobile client's line ("Sent from my iPhone", "Envoyé de mon iPad", "Get
// Outlook for iOS", "Obtenir Outlook pour Android", …); it and what follows
// are removed.
//
// A forward is content: from "Begin forwarded message:", "----------
// Forwarded message ---------" (Gmail), "-------- Forwarded Message
// --------" (Thunderbird) or their French forms on, the text is kept as it
// is.
//
// When stripping would leave nothing, StripReply returns the text before
// the quoted history, trimmed (so a reply made only of a signature keeps
// it, and a reply made only of a quote is ""): it never returns the quoted
// history as the reply.
func StripReply(text string) string {
	reply, _ := stripReply(text)
	return reply
}

// historyKind tells how a quoted history ends.
type historyKind int

const (
	noHistory historyKind = iota
	// quoteHistory is an attribution or ">" lines: the lines between the
	// quotes may be an inline reply.
	quoteHistory
	// blockHistory is Outlook's header block or "Original Message": all
	// that follows is the earlier message.
	blockHistory
)

// stripReply is StripReply that also reports whether it removed anything,
// so Parse drops the text parts that follow a cut.
func stripReply(text string) (string, bool) {
	t := splitMailText(text)
	var forward []string
	if f := forwardStart(t); f >= 0 {
		forward = t.raw[f:]
		t = t.slice(0, f)
	}
	start, kind, attribution := historyStart(t)
	sig := signatureStart(t)
	if start < 0 {
		start = len(t.raw)
	}

	var kept []string
	switch {
	case sig >= 0 && sig < start:
		kept = t.raw[:sig]
	case kind == quoteHistory:
		end := len(t.raw)
		if sig >= 0 {
			end = sig
		}
		kept = append(t.raw[:start:start], inlineReply(t.slice(start+attribution, end))...)
	default:
		kept = t.raw[:start]
	}

	reply := trimBlankEnds(kept)
	cut := len(kept) < len(t.raw)
	if reply == "" {
		reply = strings.TrimSpace(strings.Join(t.raw[:start], "\n"))
	}
	if len(forward) > 0 {
		reply = strings.TrimSpace(reply + "\n\n" + strings.Join(forward, "\n"))
	}
	return reply, cut
}

// mailText is a text cut in lines, with each line also as the quote rules
// read it (plainLine), computed once.
type mailText struct {
	raw, plain []string
}

func splitMailText(text string) mailText {
	raw := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	plain := make([]string, len(raw))
	for i, line := range raw {
		plain[i] = plainLine(line)
	}
	return mailText{raw: raw, plain: plain}
}

func (t mailText) slice(from, to int) mailText {
	return mailText{raw: t.raw[from:to], plain: t.plain[from:to]}
}

// inlineReply returns the lines of region that are not quoted, not
// attributions and not before a further Outlook block: what a person typed
// between the quotes. It returns nil when they are all blank.
func inlineReply(region mailText) []string {
	var kept []string
	text := false
	for i := 0; i < len(region.raw); i++ {
		line := region.raw[i]
		if isQuoted(line) {
			continue
		}
		if n := attributionLines(region, i); n > 0 {
			i += n - 1
			continue
		}
		if originalMessage.MatchString(region.plain[i]) || isHeaderBlock(region, i) {
			break
		}
		blank := strings.TrimSpace(line) == ""
		if blank && len(kept) > 0 && strings.TrimSpace(kept[len(kept)-1]) == "" {
			continue // where a quote was dropped
		}
		text = text || !blank
		kept = append(kept, line)
	}
	if !text {
		return nil
	}
	return kept
}

// historyStart returns the index of the first line of the quoted history,
// its kind, and how many attribution lines open it (0, 1 or 2); -1 when the
// text quotes nothing.
func historyStart(t mailText) (int, historyKind, int) {
	for i, line := range t.raw {
		if n := attributionLines(t, i); n > 0 {
			return i, quoteHistory, n
		}
		if isQuoted(line) {
			if j := prevNonBlank(t.raw, i); j >= 0 && i-j <= 2 && isLooseAttribution(t.raw[j], t.plain[j]) {
				return j, quoteHistory, i - j
			}
			return i, quoteHistory, 0
		}
		if originalMessage.MatchString(t.plain[i]) {
			return i, blockHistory, 0
		}
		if isHeaderBlock(t, i) {
			if j := prevNonBlank(t.raw, i); j >= 0 && i-j <= 2 && isRule(t.raw[j]) {
				return j, blockHistory, 0
			}
			return i, blockHistory, 0
		}
	}
	return -1, noHistory, 0
}

// attributionLines reports how many lines, from line i, make an "On …
// wrote:" attribution: 0 (none), 1, or 2 when a client wrapped it.
func attributionLines(t mailText, i int) int {
	if isQuoted(t.raw[i]) {
		return 0
	}
	line := t.plain[i]
	if isAttribution(line) && attributionIsSure(t.raw, i, line) {
		return 1
	}
	// A wrapped attribution: a long first line that does not end a
	// sentence, and a second line that is not an attribution by itself.
	if i+1 < len(t.raw) && !isQuoted(t.raw[i+1]) && len(line) >= 30 &&
		!strings.ContainsAny(line[len(line)-1:], ".!?") && !isAttribution(t.plain[i+1]) {
		joined := line + " " + t.plain[i+1]
		if len(joined) <= 300 && isAttribution(joined) && attributionIsSure(t.raw, i+1, joined) {
			return 2
		}
	}
	return 0
}

// attributionIsSure tells an attribution from a sentence: it names a date
// or an address, or a quote follows it.
func attributionIsSure(lines []string, last int, line string) bool {
	if strings.ContainsAny(line, "0123456789@") {
		return true
	}
	j := nextNonBlank(lines, last)
	return j >= 0 && isQuoted(lines[j])
}

var attributionForms = []struct{ prefix, suffix string }{
	{"on ", " wrote:"},
	{"le ", " a écrit :"},
	{"le ", " a écrit:"},
	{"am ", ":"}, // "Am 05.01.2026 um 10:02 schrieb Name <a@b>:" — checked for "schrieb" below
	{"el ", " escribió:"},
}

// isAttribution reports whether line (already made plain) has the shape
// of an attribution, in English, French, German or Spanish.
func isAttribution(line string) bool {
	lower := strings.ToLower(line)
	for _, f := range attributionForms {
		if strings.HasPrefix(lower, f.prefix) && strings.HasSuffix(lower, f.suffix) {
			return f.prefix != "am " || strings.Contains(lower, " schrieb ")
		}
	}
	return false
}

// isLooseAttribution reports whether a line (raw, and plain as plainLine
// made it) introduces a quote without the "On <date>" form: "Alice <a@b>
// wrote:", "Quoting Bob:".
func isLooseAttribution(raw, plain string) bool {
	lower := strings.ToLower(plain)
	if !strings.HasSuffix(lower, ":") || isQuoted(raw) {
		return false
	}
	for _, word := range []string{"wrote", "writes", "écrit", "schrieb", "escribió", "quoting"} {
		if strings.Contains(lower, word) {
			return true
		}
	}
	return false
}

// originalMessage matches (on a plain line) Outlook's and Thunderbird's
// "-----Original Message-----" separator, in any of its languages.
var originalMessage = regexp.MustCompile(`(?i)^-{2,} ?(original message|message d'origine|message original|ursprüngliche nachricht|mensaje original|messaggio originale) ?-{2,}$`)

var (
	headerFrom  = regexp.MustCompile(`(?i)^(from|de|von|da) ?:`)
	headerOther = regexp.MustCompile(`(?i)^(sent|date|to|cc|subject|envoyé|à|objet|gesendet|an|betreff|enviado|para|asunto) ?:`)
)

// isHeaderBlock reports whether lines[i] starts Outlook's "From: … Sent: …
// To: … Subject: …" block: a "From:" line followed, within six lines, by
// two other header lines.
func isHeaderBlock(t mailText, i int) bool {
	if isQuoted(t.raw[i]) || !headerFrom.MatchString(t.plain[i]) {
		return false
	}
	found := 0
	for j := i + 1; j < len(t.raw) && j <= i+6; j++ {
		if headerOther.MatchString(t.plain[j]) {
			found++
		}
	}
	return found >= 2
}

// isRule reports whether line is a horizontal rule Outlook puts above its
// header block: underscores, or the Markdown of an <hr>.
func isRule(line string) bool {
	compact := strings.NewReplacer(" ", "", "\\", "", "\t", "").Replace(line)
	if len(compact) < 3 {
		return false
	}
	for _, c := range []string{"_", "-", "*"} {
		if strings.Trim(compact, c) == "" {
			return true
		}
	}
	return false
}

var (
	forwardRule = regexp.MustCompile(`(?i)^-{2,} ?(forwarded message|message transféré|message réexpédié|weitergeleitete nachricht|mensaje reenviado) ?-{2,}$`)
	forwardLine = regexp.MustCompile(`(?i)^(begin forwarded message|début du message réexpédié|anfang der weitergeleiteten nachricht) ?:$`)
)

// isForwardMarker reports whether line announces a forwarded message.
func isForwardMarker(line string) bool {
	return isForwardPlain(plainLine(line))
}

func isForwardPlain(plain string) bool {
	return forwardRule.MatchString(plain) || forwardLine.MatchString(plain)
}

// forwardStart returns the index of the first line announcing a forward,
// -1 when there is none.
func forwardStart(t mailText) int {
	for i, line := range t.raw {
		if !isQuoted(line) && isForwardPlain(t.plain[i]) {
			return i
		}
	}
	return -1
}

var mobileSignature = regexp.MustCompile(`(?i)^(sent from my |sent from (mail|outlook|yahoo mail) for |sent from outlook|envoyé de mon |envoyé depuis mon |envoyé à partir de |get outlook for |obtenir outlook pour |téléchargez outlook pour |von meinem .+ gesendet)`)

// signatureStart returns the index of the line that starts the signature:
// "-- " (or "--"), or a mobile client's line; -1 when there is none.
func signatureStart(t mailText) int {
	for i, line := range t.raw {
		trimmed := strings.TrimSuffix(strings.TrimRight(line, " \t"), `\`)
		if trimmed == "--" || trimmed == `\--` || trimmed == `\-\-` {
			return i
		}
		if plain := t.plain[i]; len(plain) < 100 && mobileSignature.MatchString(plain) {
			return i
		}
	}
	return -1
}

var markdownLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// plainLine returns line as the quote rules read it: Markdown links made
// text, emphasis markers and non-breaking spaces gone, spaces collapsed.
func plainLine(line string) string {
	line = markdownLink.ReplaceAllString(line, "$1")
	line = strings.NewReplacer("**", "", "__", "", "\\", "").Replace(line)
	line = strings.Join(strings.FieldsFunc(line, unicode.IsSpace), " ")
	return strings.Trim(line, "*_ ")
}

// isQuoted reports whether line is quoted with ">".
func isQuoted(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " "), ">")
}

func prevNonBlank(lines []string, i int) int {
	for j := i - 1; j >= 0; j-- {
		if strings.TrimSpace(lines[j]) != "" {
			return j
		}
	}
	return -1
}

func nextNonBlank(lines []string, i int) int {
	for j := i + 1; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) != "" {
			return j
		}
	}
	return -1
}

// trimBlankEnds joins lines without the blank lines at either end and the
// horizontal rules at the end (Outlook draws one above the quote).
func trimBlankEnds(lines []string) string {
	for len(lines) > 0 && (strings.TrimSpace(lines[len(lines)-1]) == "" || isRule(lines[len(lines)-1])) {
		lines = lines[:len(lines)-1]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	return strings.Join(lines, "\n")
}

var (
	subjectTag    = regexp.MustCompile(`^\[[^\]]*\] ?`)
	subjectPrefix = regexp.MustCompile(`(?i)^(re|fwd?|tr|aw|wg|réf\.?|ref|rif|sv|vs|antw|enc|rv|res) ?(\[\d+\]|\(\d+\))? ?: ?`)
)

// NormalizeSubject strips reply and forward prefixes ("Re:", "RE :",
// "Fwd:", "Fw:", "TR:", "AW:", "WG:", "Réf. :", "Re[2]:", repeated and
// mixed), list tags in brackets at the start ("[team] Re: x") and
// collapses spaces, keeping the case: it is the key that groups a thread
// when its message ids are missing (compare keys case-insensitively).
func NormalizeSubject(s string) string {
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	for {
		next := subjectTag.ReplaceAllString(s, "")
		next = subjectPrefix.ReplaceAllString(next, "")
		if next == s {
			return s
		}
		s = next
	}
}
