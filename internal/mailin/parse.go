// Reading inbound mail: the rules and limits of Parse. (This block is
// detached from the package clause on purpose: doc.go holds the package
// documentation.)
//
// Size. Parse reads at most limit+1 bytes (MaxMessageBytes, 25 MiB, when
// limit <= 0) and refuses a longer message with a TooLarge error without
// reading the rest; the message is then parsed in memory. Time grows
// linearly with the size; converting HTML is the slow part (about 2 MB/s
// on markup made only of tags, far faster on real mail).
//
// Structure. Headers are read with go-message's textproto. A header line
// that is neither a field nor a continuation (a parameter a client forgot
// to indent) is joined to the field before it, so one sloppy line does not
// lose the part; a part whose first line is no field has no header. Parts
// are split on their boundary lines here rather than by go-message's
// multipart reader, which stops at the first broken part header: a missing
// closing boundary ends the last part at the end of the message. A
// multipart without a boundary, or whose boundary never appears, and parts
// (multiparts and forwarded messages) nested more than maxDepth (20) deep
// are Invalid ("The message's MIME structure is broken: …"). An mbox
// "From " line before the header is skipped.
//
// Encodings and charsets. go-message decodes base64 and quoted-printable
// and, with go-message/charset, every charset golang.org/x/text knows.
// Base64 without its padding is accepted; base64 with foreign characters
// is Invalid ("The attachment "x.pdf" is not valid base64."), never
// garbage. Quoted-printable is decoded leniently (a stray "=" stays). An
// unknown transfer encoding leaves the bytes as they are. A message is
// never refused for its charset: an unknown charset keeps the bytes, with
// invalid UTF-8 replaced by U+FFFD; text that declares no charset (or
// us-ascii) yet is not UTF-8 is read as Windows-1252 (HTML: the charset of
// its <meta> first), and so are raw 8-bit header values; ISO-8859-1 is
// read as Windows-1252, as browsers do (see latin1Labels).
//
// Content. multipart/alternative gives its text/plain part when it has
// non-blank text, else its HTML part converted to Markdown (html.go);
// other multiparts give their text parts in order. A message/rfc822 part
// becomes a Markdown quote introduced by "Forwarded message from NAME,
// DATE:", its own attachments joining Files. Every other part, and text
// parts with Content-Disposition attachment, are Files (name from the
// Content-Disposition filename or the Content-Type name, RFC 2231 and 2047
// decoded, directories stripped, "attachment-N" when none, N counting
// Files from 1), the files of every alternative included; detached
// signatures (application/pgp-signature, pkcs7-signature) are left out.
// Text is valid UTF-8 with \n line ends, control characters other than \n
// and \t removed, trailing white space trimmed, at most two blank lines in
// a row; format=flowed text is joined back into paragraphs.
//
// Reply. For text from HTML, Reply is the HTML with the quote nodes
// removed (removeQuotes), converted and passed through StripReply; for
// plain text it is StripReply of the text. Forwarded messages are content:
// they stay in Reply. Once a text part is cut (a quote or a signature), the
// text parts after it are left out of Reply.
//
// Headers. Ids lose their angle brackets; when a field holds bracketed ids
// only those count (old In-Reply-To fields carry prose), else the tokens
// between white space and commas do. Dates are read by go-message
// (net/mail), then by a few layouts seen in the wild (dateLayouts), and
// given in UTC; zero when unreadable. Addresses are lower-cased; a From
// that net/mail cannot read is searched for "Name <a@b>" or a bare address
// before the message is refused. Auto: see autoReason.

package mailin

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers every charset x/text knows
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	htmlcharset "golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"

	"projblog/internal/apperr"
)

// MaxMessageBytes is the default largest raw message accepted (25 MiB).
const MaxMessageBytes = 25 << 20

// maxDepth is how deep multiparts and forwarded messages may nest.
const maxDepth = 20

// Parse reads one raw RFC 5322 message (at most limit bytes; limit <= 0
// means MaxMessageBytes) and returns it as a Message. It reads at most
// limit+1 bytes from r. Errors are *apperr.Error: TooLarge ("The message is
// larger than 25 MiB."), Invalid for a message without a readable From
// ("The message has no From address."), a broken MIME structure ("The
// message's MIME structure is broken: …") or a body that is not valid
// base64, Internal when r fails. Parse is safe for concurrent use.
func Parse(r io.Reader, limit int64) (*Message, error) {
	raw, err := readLimited(r, limit)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, apperr.New(apperr.Invalid, "The message is empty.")
	}
	top := splitEntity(skipMboxLine(raw), true)
	h := top.header
	from, err := parseFrom(h)
	if err != nil {
		return nil, err
	}
	w := &walker{cids: map[string]string{}}
	pieces, err := w.walk(top, 0)
	if err != nil {
		return nil, err
	}
	m := &Message{
		MessageID:  firstID(parseIDs(h.Values("Message-Id"))),
		InReplyTo:  parseIDs(h.Values("In-Reply-To")),
		References: parseIDs(h.Values("References")),
		From:       from,
		To:         parseAddresses(strings.Join(h.Values("To"), ", ")),
		Cc:         parseAddresses(strings.Join(h.Values("Cc"), ", ")),
		Subject:    headerText(h.Get("Subject")),
		Date:       parseDate(h).UTC(),
		Files:      w.files,
		Size:       int64(len(raw)),
	}
	m.Body, m.Reply = w.render(pieces)
	m.Auto = autoReason(h, m.Subject)
	return m, nil
}

// readLimited reads all of r, refusing more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = MaxMessageBytes
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, apperr.Wrap(err, "read the message")
	}
	if int64(len(raw)) > limit {
		return nil, apperr.New(apperr.TooLarge, "The message is larger than %s.", formatSize(limit))
	}
	return raw, nil
}

// formatSize writes n bytes the way a person reads a limit: "25 MiB".
func formatSize(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func brokenMIME(format string, args ...any) *apperr.Error {
	return apperr.New(apperr.Invalid, "The message's MIME structure is broken: "+format, args...)
}

// entity is one MIME entity: its header and its body, still in its
// transfer encoding.
type entity struct {
	header gomessage.Header
	body   []byte
}

// splitEntity separates the header of raw from its body. A part (not top)
// whose first line is not a header field has no header: it is all body.
func splitEntity(raw []byte, top bool) entity {
	end, bodyStart := headerEnd(raw)
	block := raw[:end]
	if len(block) == 0 {
		return entity{body: raw[bodyStart:]}
	}
	if !top && !isFieldLine(firstLine(block)) {
		return entity{body: raw}
	}
	return entity{header: readHeader(block), body: raw[bodyStart:]}
}

// headerEnd returns where the header block of raw ends and where its body
// starts: after the first blank (or white-space-only) line.
func headerEnd(raw []byte) (end, bodyStart int) {
	for pos := 0; pos < len(raw); {
		next := len(raw)
		if i := bytes.IndexByte(raw[pos:], '\n'); i >= 0 {
			next = pos + i + 1
		}
		if len(bytes.TrimSpace(raw[pos:next])) == 0 {
			return pos, next
		}
		pos = next
	}
	return len(raw), len(raw)
}

// readHeader parses a header block after repairing it (see repairHeader).
func readHeader(block []byte) gomessage.Header {
	repaired := append(repairHeader(block), '\r', '\n')
	// repairHeader leaves only field and continuation lines, so ReadHeader
	// does not fail; were it to, the fields read so far are kept.
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(repaired)))
	return gomessage.Header{Header: h}
}

// repairHeader returns the header block with CRLF line ends, joining each
// line that is neither a field nor a continuation to the field before it
// (it is most often a parameter a client forgot to indent) and dropping
// such lines before the first field.
func repairHeader(block []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(block, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			continue
		case isFieldLine(line):
			out.Write(line)
		case out.Len() == 0:
			continue
		case line[0] == ' ' || line[0] == '\t':
			out.Write(line)
		default:
			out.WriteByte(' ')
			out.Write(line)
		}
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

// isFieldLine reports whether line starts a header field: a name of
// printable ASCII, then a colon.
func isFieldLine(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return bytes.TrimRight(b[:i], "\r")
	}
	return b
}

// skipMboxLine drops the "From sender date" line that starts a message
// taken from an mbox file.
func skipMboxLine(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) && !isFieldLine(firstLine(raw)) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

// splitMultipart returns the parts of a multipart body: what lies between
// its "--boundary" lines, up to "--boundary--" or, when that is missing,
// the end of the body.
func splitMultipart(body []byte, boundary string) ([][]byte, bool) {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1
	for pos := 0; pos < len(body); {
		lineEnd, next := len(body), len(body)
		if i := bytes.IndexByte(body[pos:], '\n'); i >= 0 {
			lineEnd, next = pos+i, pos+i+1
		}
		line := bytes.TrimRight(body[pos:lineEnd], " \t\r")
		if bytes.HasPrefix(line, delim) {
			rest := line[len(delim):]
			if len(rest) == 0 || string(rest) == "--" {
				if start >= 0 {
					parts = append(parts, trimNewline(body[start:pos]))
				}
				if len(rest) > 0 {
					return parts, start >= 0
				}
				start = next
			}
		}
		pos = next
	}
	if start < 0 {
		return nil, false
	}
	return append(parts, body[start:]), true
}

// trimNewline removes the line end before a boundary: it belongs to the
// boundary, not to the part.
func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// pieceKind is where a piece of text came from.
type pieceKind int

const (
	piecePlain   pieceKind = iota // a text/plain part, cleaned
	pieceHTML                     // a text/html part, still HTML
	pieceForward                  // a forwarded message, already a Markdown quote
)

// piece is one text part of a message, in order.
type piece struct {
	kind pieceKind
	text string
}

// walker collects the files of one message, with their Content-IDs, while
// walk gathers its text.
type walker struct {
	files []File
	cids  map[string]string // Content-ID → file name
}

// walk returns the text pieces of e and adds its files to w.
func (w *walker) walk(e entity, depth int) ([]piece, error) {
	if depth > maxDepth {
		return nil, brokenMIME("parts are nested more than %d deep.", maxDepth)
	}
	ct, params := contentType(&e.header)
	switch {
	case strings.HasPrefix(ct, "multipart/"):
		return w.walkMultipart(e, ct, params, depth)
	case ct == "message/rfc822" || ct == "message/global":
		return w.walkForward(e, depth)
	}
	return w.walkLeaf(e, ct, params)
}

// walkMultipart walks the parts of a multipart entity.
func (w *walker) walkMultipart(e entity, ct string, params map[string]string, depth int) ([]piece, error) {
	boundary := params["boundary"]
	if boundary == "" {
		return nil, brokenMIME("the %s part has no boundary.", ct)
	}
	parts, ok := splitMultipart(e.body, boundary)
	if !ok {
		return nil, brokenMIME("the boundary %q of the %s part never appears.", boundary, ct)
	}
	var options [][]piece
	for _, raw := range parts {
		pieces, err := w.walk(splitEntity(raw, false), depth+1)
		if err != nil {
			return nil, err
		}
		options = append(options, pieces)
	}
	if ct == "multipart/alternative" {
		return chooseAlternative(options), nil
	}
	var all []piece
	for _, pieces := range options {
		all = append(all, pieces...)
	}
	return all, nil
}

// chooseAlternative picks the plain text alternative when it has text,
// else one with HTML, else any with text.
func chooseAlternative(options [][]piece) []piece {
	for _, pieces := range options {
		if hasText(pieces) && !hasKind(pieces, pieceHTML) {
			return pieces
		}
	}
	for _, pieces := range options {
		if hasText(pieces) && hasKind(pieces, pieceHTML) {
			return pieces
		}
	}
	return nil
}

func hasText(pieces []piece) bool {
	for _, p := range pieces {
		if strings.TrimSpace(p.text) != "" {
			return true
		}
	}
	return false
}

func hasKind(pieces []piece, kind pieceKind) bool {
	for _, p := range pieces {
		if p.kind == kind {
			return true
		}
	}
	return false
}

// walkForward reads a message/rfc822 part as a forwarded message: its text
// becomes a quote and its files join w's.
func (w *walker) walkForward(e entity, depth int) ([]piece, error) {
	data, err := decodeBody(e, "The forwarded message")
	if err != nil {
		return nil, err
	}
	inner := splitEntity(data, true)
	pieces, err := w.walk(inner, depth+1)
	if err != nil {
		return nil, err
	}
	body, _ := w.render(pieces)
	return []piece{{kind: pieceForward, text: forwardQuote(inner.header, body)}}, nil
}

// forwardQuote returns a forwarded message's body as a Markdown quote
// introduced by "Forwarded message from NAME, DATE:".
func forwardQuote(h gomessage.Header, body string) string {
	intro := "Forwarded message"
	if from := parseAddresses(h.Get("From")); len(from) > 0 {
		who := from[0].Name
		if who == "" {
			who = from[0].Email
		}
		intro += " from " + who
	}
	if date := parseDate(h); !date.IsZero() {
		intro += ", " + date.Format("2 Jan 2006 15:04 -0700")
	}
	lines := []string{"> " + intro + ":"}
	if body != "" {
		lines = append(lines, ">")
		for _, line := range strings.Split(body, "\n") {
			lines = append(lines, strings.TrimRight("> "+line, " "))
		}
	}
	return strings.Join(lines, "\n")
}

// signatureTypes are detached signatures: proof, not content.
var signatureTypes = map[string]bool{
	"application/pgp-signature":     true,
	"application/pkcs7-signature":   true,
	"application/x-pkcs7-signature": true,
}

// walkLeaf reads a part that is neither multipart nor a message: text
// (plain or HTML, not an attachment) or a file.
func (w *walker) walkLeaf(e entity, ct string, params map[string]string) ([]piece, error) {
	if signatureTypes[ct] {
		return nil, nil
	}
	disposition, _, _ := e.header.ContentDisposition()
	isText := ct == "text/plain" || ct == "text/html"
	if !isText || strings.EqualFold(disposition, "attachment") {
		return nil, w.addFile(e, ct, params)
	}
	text, err := readText(e, ct, params)
	if err != nil {
		return nil, err
	}
	if ct == "text/html" {
		return []piece{{kind: pieceHTML, text: text}}, nil
	}
	return []piece{{kind: piecePlain, text: text}}, nil
}

// addFile decodes a part into w's files.
func (w *walker) addFile(e entity, ct string, params map[string]string) error {
	name := fileName(e.header, params)
	label := "A part of type " + ct
	if name != "" {
		label = `The attachment "` + name + `"`
	}
	data, err := decodeBody(e, label)
	if err != nil {
		return err
	}
	if name == "" {
		name = fmt.Sprintf("attachment-%d", len(w.files)+1)
	}
	w.files = append(w.files, File{Name: name, ContentType: ct, Data: data})
	if cid := strings.Trim(strings.TrimSpace(e.header.Get("Content-Id")), "<>"); cid != "" {
		w.cids[cid] = name
	}
	return nil
}

// readText decodes a text part to UTF-8 with \n line ends, joining
// format=flowed lines.
func readText(e entity, ct string, params map[string]string) (string, error) {
	data, err := decodeBody(e, "The message text")
	if err != nil {
		return "", err
	}
	var text string
	switch strings.ToLower(params["charset"]) {
	case "", "us-ascii", "ascii":
		text = undeclaredToUTF8(data, ct)
	default:
		// go-message converted a known charset; an unknown one kept its
		// bytes, and their invalid sequences become U+FFFD.
		text = strings.ToValidUTF8(string(data), "\uFFFD")
	}
	text = normalizeNewlines(text)
	if ct == "text/plain" && strings.EqualFold(params["format"], "flowed") {
		text = unflow(text, strings.EqualFold(params["delsp"], "yes"))
	}
	return text, nil
}

// undeclaredToUTF8 reads text whose charset is not declared (or claims
// us-ascii): UTF-8 when it is valid, else the charset an HTML <meta> names,
// else Windows-1252.
func undeclaredToUTF8(data []byte, ct string) string {
	if utf8.Valid(data) {
		return string(data)
	}
	if ct == "text/html" {
		enc, _, _ := htmlcharset.DetermineEncoding(data, "text/html")
		if out, err := enc.NewDecoder().Bytes(data); err == nil {
			return strings.ToValidUTF8(string(out), "\uFFFD")
		}
	}
	return toUTF8(string(data))
}

// decodeBody returns the body of e with its transfer encoding and, for
// text, its charset decoded (bytes as sent when the charset is unknown).
// Base64 with missing padding is accepted; base64 that cannot be decoded
// is an Invalid error naming the part (label).
func decodeBody(e entity, label string) ([]byte, error) {
	data, err := readEntity(e.header, e.body)
	if err == nil {
		return data, nil
	}
	var decoded []byte
	switch strings.ToLower(strings.TrimSpace(e.header.Get("Content-Transfer-Encoding"))) {
	case "base64":
		var berr error
		if decoded, berr = lenientBase64(e.body); berr != nil {
			return nil, &apperr.Error{Code: apperr.Invalid, Message: label + " is not valid base64.", Err: err}
		}
	case "quoted-printable":
		decoded = lenientQuotedPrintable(e.body)
	default:
		// Only a charset decoder could fail here; keep the bytes.
		return e.body, nil
	}
	h := e.header.Copy()
	h.Del("Content-Transfer-Encoding")
	if data, err = readEntity(h, decoded); err != nil {
		return decoded, nil
	}
	return data, nil
}

// readEntity decodes body through go-message: transfer encoding, then
// charset for text/*.
func readEntity(h gomessage.Header, body []byte) ([]byte, error) {
	if ct, params, err := h.ContentType(); err == nil && latin1Labels[strings.ToLower(params["charset"])] {
		params["charset"] = "windows-1252"
		h = h.Copy()
		h.SetContentType(ct, params)
	}
	ent, err := gomessage.New(h, bytes.NewReader(body))
	if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
		return nil, err
	}
	// An unknown charset or transfer encoding leaves the bytes as they
	// are, which is what we want: a message is never refused for its
	// charset, and readText makes them valid UTF-8.
	return io.ReadAll(ent.Body)
}

// lenientBase64 decodes base64 whatever its line breaks and padding.
func lenientBase64(body []byte) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, string(body))
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "="))
}

// lenientQuotedPrintable decodes quoted-printable, keeping an "=" that is
// not followed by two hex digits or a line end.
func lenientQuotedPrintable(body []byte) []byte {
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i+2 < len(body) && isHex(body[i+1]) && isHex(body[i+2]) {
			out = append(out, unhex(body[i+1])<<4|unhex(body[i+2]))
			i += 2
			continue
		}
		j := i + 1
		for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\r') {
			j++
		}
		if j == len(body) || body[j] == '\n' {
			i = j // a soft line break
			continue
		}
		out = append(out, c)
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// contentType returns the media type and parameters of h, lower-cased.
// When h's field does not parse it reads it leniently and stores the
// repaired field in h, so go-message decodes the charset it names. A type
// without a "/" is text/plain (RFC 2045, 5.2).
func contentType(h *gomessage.Header) (string, map[string]string) {
	ct, params, err := h.ContentType()
	if err == nil {
		return strings.ToLower(ct), params
	}
	ct, params = lenientParams(h.Get("Content-Type"))
	if !strings.Contains(ct, "/") {
		ct = "text/plain"
	}
	c := h.Copy()
	c.SetContentType(ct, params)
	*h = c
	return ct, params
}

// lenientParams splits a "type; key=value; …" field that mime rejects.
func lenientParams(v string) (string, map[string]string) {
	fields := strings.Split(v, ";")
	params := map[string]string{}
	for _, f := range fields[1:] {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if _, seen := params[key]; key != "" && !seen {
			params[key] = val
		}
	}
	return strings.ToLower(strings.TrimSpace(fields[0])), params
}

var rfc2231Name = regexp.MustCompile(`(?i)\b(?:file)?name\*=([^';\s]+)'[^']*'([^;\s]+)`)

// fileName returns the decoded name a part gives itself, without any
// directory, or "" when it has none.
func fileName(h gomessage.Header, params map[string]string) string {
	ah := mail.AttachmentHeader{Header: h}
	name, _ := ah.Filename()
	if name == "" {
		_, dparams := lenientParams(h.Get("Content-Disposition"))
		name = dparams["filename"]
	}
	if name == "" {
		name = params["name"]
	}
	if name == "" {
		name = charsetName(h.Get("Content-Disposition") + ";" + h.Get("Content-Type"))
	}
	name = decodeWords(toUTF8(name))
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.TrimSpace(removeControls(name))
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// charsetName decodes an RFC 2231 name in a charset other than UTF-8
// (filename*=iso-8859-1”r%E9sum%E9.pdf), which mime.ParseMediaType drops.
func charsetName(fields string) string {
	m := rfc2231Name.FindStringSubmatch(fields)
	if m == nil {
		return ""
	}
	raw, err := url.PathUnescape(m[2])
	if err != nil {
		return ""
	}
	r, _ := lenientCharsetReader(strings.ToLower(m[1]), strings.NewReader(raw))
	out, err := io.ReadAll(r)
	if err != nil {
		return ""
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// render turns the pieces of a message into its Body and Reply (see the
// rules at the top of this file).
func (w *walker) render(pieces []piece) (body, reply string) {
	var bodies, replies []string
	cut := false
	for _, p := range pieces {
		text, rep, cutHere := w.renderPiece(p)
		if text == "" {
			continue
		}
		bodies = append(bodies, text)
		if (p.kind == pieceForward || !cut) && rep != "" {
			replies = append(replies, rep)
		}
		cut = cut || cutHere
	}
	return tidyText(strings.Join(bodies, "\n\n")), tidyText(strings.Join(replies, "\n\n"))
}

// renderPiece returns a piece's Markdown, its reply and whether making the
// reply cut anything.
func (w *walker) renderPiece(p piece) (text, reply string, cut bool) {
	switch p.kind {
	case pieceForward:
		return p.text, p.text, false
	case pieceHTML:
		quoteless, removed := htmlToMarkdown(p.text, w.cids, true)
		md := quoteless
		if removed {
			// Converting is the slow part of Parse: only twice when needed.
			md, _ = htmlToMarkdown(p.text, w.cids, false)
		}
		reply, cut = stripReply(tidyText(quoteless))
		return tidyText(md), reply, cut || removed
	}
	text = tidyText(p.text)
	reply, cut = stripReply(text)
	return text, reply, cut
}

// tidyText makes text what Message promises: valid UTF-8, \n line ends,
// no control characters but \n and \t, no trailing white space, at most two
// blank lines in a row, no blank lines at either end.
func tidyText(s string) string {
	s = normalizeNewlines(strings.ToValidUTF8(s, "\uFFFD"))
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blanks := 0
	for _, line := range lines {
		line = strings.TrimRightFunc(removeControls(line), unicode.IsSpace)
		if line == "" {
			blanks++
			if blanks > 2 {
				continue
			}
		} else {
			blanks = 0
		}
		out = append(out, line)
	}
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// removeControls drops control characters other than tab, and the byte
// order mark.
func removeControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' {
			return r
		}
		if unicode.IsControl(r) || r == '\uFEFF' {
			return -1
		}
		return r
	}, s)
}

// unflow joins the lines of format=flowed text (RFC 3676) back into
// paragraphs: a line ending in a space continues on the next line at the
// same quote depth. Space-stuffing is removed, delsp=yes drops the space
// that marked the break, and quoted paragraphs come out as "> text".
func unflow(s string, delsp bool) string {
	var out []string
	var para strings.Builder
	depth, open := 0, false
	flush := func() {
		prefix := strings.Repeat("> ", depth)
		out = append(out, strings.TrimRight(prefix+para.String(), " "))
		para.Reset()
		open = false
	}
	for _, line := range strings.Split(s, "\n") {
		d := 0
		for d < len(line) && line[d] == '>' {
			d++
		}
		content := strings.TrimPrefix(line[d:], " ")
		if open && d != depth {
			flush()
		}
		depth = d
		soft := strings.HasSuffix(content, " ") && content != "-- "
		if soft && delsp {
			content = content[:len(content)-1]
		}
		para.WriteString(content)
		open = true
		if !soft {
			flush()
		}
	}
	if open {
		flush()
	}
	return strings.Join(out, "\n")
}

// toUTF8 returns s when it is valid UTF-8, else s read as Windows-1252 (a
// superset of Latin-1 in what mail actually carries).
func toUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

// lenientCharsetReader is go-message's charset table, except that an
// unknown charset keeps its bytes (made valid UTF-8 later) instead of
// failing the whole field.
func lenientCharsetReader(label string, r io.Reader) (io.Reader, error) {
	if gomessage.CharsetReader != nil {
		if dr, err := gomessage.CharsetReader(label, r); err == nil {
			return dr, nil
		}
	}
	return r, nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: lenientCharsetReader}

// latin1Labels are the names of ISO-8859-1. Mail labelled so is read as
// Windows-1252, as browsers do (WHATWG Encoding): the two differ only in
// 0x80–0x9F, control characters in Latin-1 that no one types, where
// Windows-1252 has €, ’, “ ” and the dashes that Windows clients send
// under the Latin-1 label.
var latin1Labels = map[string]bool{
	"iso-8859-1": true, "iso8859-1": true, "iso_8859-1": true, "latin1": true,
	"l1": true, "cp819": true, "ibm819": true, "iso-ir-100": true, "csisolatin1": true,
}

var latin1Word = regexp.MustCompile(`(?i)=\?(iso-8859-1|iso8859-1|iso_8859-1|latin1)([*?])`)

// upgradeLatin1 relabels the Latin-1 encoded words of a header value as
// Windows-1252 (see latin1Labels); mime.WordDecoder would otherwise decode
// them itself, strictly.
func upgradeLatin1(v string) string {
	return latin1Word.ReplaceAllString(v, "=?windows-1252$2")
}

// decodeWords decodes RFC 2047 encoded words, leaving s as it is when it
// has none or they are malformed.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	out, err := wordDecoder.DecodeHeader(upgradeLatin1(s))
	if err != nil {
		return s
	}
	return strings.ToValidUTF8(out, "\uFFFD")
}

// headerText decodes an unstructured field (Subject): raw 8-bit bytes,
// encoded words, control characters gone, white space collapsed.
func headerText(v string) string {
	v = removeControls(decodeWords(toUTF8(v)))
	return strings.Join(strings.FieldsFunc(v, unicode.IsSpace), " ")
}

var addressParser = netmail.AddressParser{WordDecoder: wordDecoder}

// parseFrom returns the first address of From, or an Invalid error.
func parseFrom(h gomessage.Header) (Address, error) {
	v := strings.TrimSpace(h.Get("From"))
	if v == "" {
		return Address{}, apperr.New(apperr.Invalid, "The message has no From address.")
	}
	from := parseAddresses(v)
	if len(from) == 0 {
		shown := toUTF8(v)
		if utf8.RuneCountInString(shown) > 100 {
			shown = string([]rune(shown)[:100]) + "…"
		}
		return Address{}, apperr.New(apperr.Invalid, "The message's From address %q cannot be read.", shown)
	}
	return from[0], nil
}

// parseAddresses reads an address list with net/mail, and when that fails
// picks out "Name <a@b>" and bare addresses; unreadable entries are left
// out.
func parseAddresses(v string) []Address {
	v = strings.TrimSpace(upgradeLatin1(toUTF8(v)))
	if v == "" {
		return nil
	}
	list, err := addressParser.ParseList(v)
	if err != nil {
		return lenientAddresses(v)
	}
	var out []Address
	for _, a := range list {
		out = append(out, makeAddress(a.Name, a.Address))
	}
	return out
}

var (
	angleAddress = regexp.MustCompile(`([^<>]*)<+\s*([^<>\s@]+@[^<>\s]+?)\s*>`)
	bareAddress  = regexp.MustCompile(`[^\s<>,;:"()\[\]]+@[^\s<>,;:"()\[\]]+\.[^\s<>,;:"()\[\]]+`)
)

// lenientAddresses finds addresses in a field net/mail rejects (odd
// quoting, stray brackets): the field is cut at commas outside angle
// brackets, and a short piece without an address that opens a quote is
// the start of the next one (`"Dupont, Jean <j@x>`, the quote never
// closed).
func lenientAddresses(v string) []Address {
	var out []Address
	pending := ""
	for _, chunk := range splitOutsideAngles(v) {
		if pending != "" {
			chunk, pending = pending+","+chunk, ""
		}
		if m := angleAddress.FindStringSubmatch(chunk); m != nil {
			out = append(out, makeAddress(m[1], m[2]))
		} else if email := bareAddress.FindString(chunk); email != "" {
			out = append(out, makeAddress("", email))
		} else if strings.Count(chunk, `"`)%2 == 1 && len(chunk) < 200 {
			pending = chunk
		}
	}
	return out
}

// splitOutsideAngles cuts v at the commas that are not between < and >.
func splitOutsideAngles(v string) []string {
	var chunks []string
	depth, start := 0, 0
	for i, r := range v {
		switch {
		case r == '<':
			depth++
		case r == '>' && depth > 0:
			depth--
		case r == ',' && depth == 0:
			chunks = append(chunks, v[start:i])
			start = i + 1
		}
	}
	return append(chunks, v[start:])
}

// makeAddress cleans a display name (quotes, leftover encoded words,
// spaces) and lower-cases the address.
func makeAddress(name, email string) Address {
	name = decodeWords(strings.TrimSpace(name))
	name = strings.Trim(name, `"' `)
	name = strings.ReplaceAll(name, `\"`, `"`)
	name = strings.Join(strings.FieldsFunc(removeControls(name), unicode.IsSpace), " ")
	return Address{Name: name, Email: strings.ToLower(strings.TrimSpace(email))}
}

var (
	bracketID    = regexp.MustCompile(`<\s*([^<>\s]+)\s*>`)
	fieldComment = regexp.MustCompile(`\([^()]*\)`)
)

// parseIDs returns the message ids of the given field values, without
// angle brackets, in order, each once. When a value has bracketed ids only
// those count (the rest is prose such as "Your message of …"); else its
// tokens between white space and commas are the ids.
func parseIDs(values []string) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = strings.Trim(id, "<>")
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, v := range values {
		v = fieldComment.ReplaceAllString(v, " ")
		if matches := bracketID.FindAllStringSubmatch(v, -1); matches != nil {
			for _, m := range matches {
				add(m[1])
			}
			continue
		}
		for _, token := range strings.FieldsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }) {
			add(token)
		}
	}
	return ids
}

func firstID(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// dateLayouts are the broken Date forms seen in the wild, tried when
// net/mail gives up.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 January 2006 15:04:05 -0700",
	"Monday, 2 January 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	time.RFC3339,
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
}

var (
	dateZonePrefix = regexp.MustCompile(`(?i)\b(?:gmt|utc|ut)([+-]\d{4})\b`)
	dateColonZone  = regexp.MustCompile(`([+-]\d\d):(\d\d)$`)
)

// parseDate reads the Date field of h in its own zone: with go-message
// (net/mail's parser), then with dateLayouts; zero when it is missing or
// unreadable.
func parseDate(h gomessage.Header) time.Time {
	v := h.Get("Date")
	if strings.TrimSpace(v) == "" {
		return time.Time{}
	}
	mh := mail.Header{Header: h}
	if t, err := mh.Date(); err == nil {
		return t
	}
	v = fieldComment.ReplaceAllString(v, " ")
	v = strings.ReplaceAll(v, ",", ", ")
	v = strings.Join(strings.Fields(v), " ")
	v = dateZonePrefix.ReplaceAllString(v, "$1")
	v = dateColonZone.ReplaceAllString(v, "$1$2")
	v = strings.ReplaceAll(v, " ,", ",")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// autoSubjects are the subject openings of out-of-office replies and
// delivery reports, English and French (and the German ones Exchange
// sends), matched case-insensitively and followed by nothing, a colon, a
// bracket or a dash.
var autoSubjects = []string{
	"Out of Office", "Automatic reply", "Auto:", "Autoreply", "Auto-reply",
	"Réponse automatique", "Absence", "Absent du bureau",
	"Undeliverable", "Undelivered Mail Returned to Sender",
	"Delivery Status Notification", "Mail delivery failed", "Returned mail",
	"Delivery failure", "Failure notice", "Non remis", "Abwesenheitsnotiz",
	"Automatische Antwort", "Unzustellbar",
}

// autoReason returns why a machine sent the message (see Message.Auto), ""
// when a person did.
func autoReason(h gomessage.Header, subject string) string {
	if v := fieldToken(h.Get("Auto-Submitted")); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	for _, key := range []string{"X-Autoreply", "X-Autorespond"} {
		if h.Has(key) {
			return strings.TrimSpace(key + ": " + fieldToken(h.Get(key)))
		}
	}
	if v := fieldToken(h.Get("Precedence")); v == "bulk" || v == "junk" {
		return "Precedence: " + v
	}
	if strings.Join(strings.Fields(h.Get("Return-Path")), "") == "<>" {
		return "Return-Path: <>"
	}
	if ct, _, _ := h.ContentType(); strings.EqualFold(ct, "multipart/report") {
		return "Content-Type: multipart/report"
	}
	for _, start := range autoSubjects {
		if subjectStartsWith(subject, start) {
			return "Subject: " + start
		}
	}
	return ""
}

// fieldToken returns the first word of a field, lower-cased, without
// parameters or comments.
func fieldToken(v string) string {
	v, _, _ = strings.Cut(v, ";")
	v = fieldComment.ReplaceAllString(v, " ")
	if f := strings.Fields(v); len(f) > 0 {
		return strings.ToLower(f[0])
	}
	return ""
}

// subjectStartsWith reports whether subject opens with start as a whole
// phrase: "Absence : Marie" does, "Absences de l'équipe" does not.
func subjectStartsWith(subject, start string) bool {
	if len(subject) < len(start) || !strings.EqualFold(subject[:len(start)], start) {
		return false
	}
	rest := strings.TrimLeftFunc(subject[len(start):], unicode.IsSpace)
	if rest == "" || strings.HasSuffix(start, ":") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return strings.ContainsRune(":([-–—", r)
}
