package mailin

import "time"

// Address is one mailbox of a header: a display name (decoded, may be
// empty) and the address, lower-cased.
type Address struct {
	Name  string
	Email string
}

// File is one attachment of a message: its name (decoded, never empty:
// "attachment-N" when the message gives none), the type the message
// claims, and the decoded bytes. posts sniffs the real type when it is
// stored.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is an e-mail message as projblog reads it: the headers that
// route and thread it, and its content turned into Markdown.
type Message struct {
	// MessageID is the Message-ID without its angle brackets; "" when the
	// message has none.
	MessageID string
	// InReplyTo and References hold message ids without angle brackets, in
	// header order.
	InReplyTo  []string
	References []string

	From    Address
	To, Cc  []Address
	Subject string    // decoded (RFC 2047), spaces collapsed, trimmed
	Date    time.Time // UTC; zero when missing or unreadable

	// Body is the whole text as Markdown: the text/plain part when there is
	// one (it is already what the sender wrote), else the HTML part
	// converted to Markdown. Valid UTF-8, \n line ends, never nil-ish
	// garbage: charsets are decoded.
	Body string
	// Reply is Body without the quoted earlier messages ("On … wrote:" and
	// what follows, "> " lines, Outlook's "-----Original Message-----" and
	// "From: … Sent: …" blocks, Apple Mail and Thunderbird citations, in
	// English and French) and without the signature ("-- " and the
	// common "Sent from my …" lines). It is what a reply adds.
	Reply string

	Files []File

	// Auto is why the message was sent by a machine rather than a person
	// (Auto-Submitted other than "no", Precedence bulk or junk (not "list":
	// mailing lists set it on what people write), X-Autoreply,
	// X-Autorespond, an out-of-office or delivery-failure subject, a null
	// Return-Path "<>"), "" when a person wrote it. Such a message never
	// becomes a post or comment and is never answered.
	Auto string

	// Size is the raw message's size in bytes.
	Size int64
}
