package mailin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"projblog/internal/apperr"
)

// corpusFile is a file a corpus message must carry.
type corpusFile struct {
	name, contentType string
	size              int
}

// corpusCase is what one message of testdata/mail must parse to. Every
// field is compared exactly; nil slices mean "none".
type corpusCase struct {
	file       string
	messageID  string
	inReplyTo  []string
	references []string
	from       Address
	to, cc     []Address
	subject    string
	date       time.Time
	body       string
	contains   []string // also checked on Body, to say why the case exists
	absent     []string // must not be in Body
	reply      string   // "" means Reply equals Body
	files      []corpusFile
	auto       string
}

func utc(year int, month time.Month, day, hour, min, sec int) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, time.UTC)
}

var corpusCases = []corpusCase{
	{
		// multipart/alternative, quoted-printable, Gmail's attribution
		// wrapped over two lines, UTF-8 encoded words, an id with "=" and
		// "+", a display name with a comma.
		file:       "gmail_reply.eml",
		messageID:  "CAH+w=7YbX0zq1=Kd2Lr9b_MwS8TxQ@mail.gmail.com",
		inReplyTo:  []string{"comment-7.1767635000@blog.example.com"},
		references: []string{"post-42.1767634800@blog.example.com", "comment-7.1767635000@blog.example.com"},
		from:       Address{Name: "François Lefèvre", Email: "francois.lefevre@example.fr"},
		to:         []Address{{Name: "Alice Martin via projblog", Email: "reply+4f2a9c@blog.example.com"}},
		cc:         []Address{{Name: "Martin, Alice", Email: "alice@example.com"}},
		subject:    "Re: [projblog] Quarterly roadmap – first draft",
		date:       utc(2026, time.January, 6, 8, 15, 42),
		body: "Thanks Alice, the draft looks good to me. Two remarks:\n\n" +
			"1. The budget line should say €12,000, not 12 000.\n" +
			"2. Let’s move the launch to March.\n\n" +
			"François\n\n" +
			"On Mon, Jan 5, 2026 at 6:40\u202fPM Alice Martin via projblog <\n" +
			"reply+4f2a9c@blog.example.com> wrote:\n\n" +
			"> Here is the first draft of the roadmap for the next quarter.\n" +
			">\n" +
			"> Alice\n" +
			">",
		contains: []string{"€12,000", "Let’s"},
		absent:   []string{"gmail_quote", "<div"},
		reply: "Thanks Alice, the draft looks good to me. Two remarks:\n\n" +
			"1. The budget line should say €12,000, not 12 000.\n" +
			"2. Let’s move the launch to March.\n\n" +
			"François",
	},
	{
		// HTML only, Windows-1252 in quoted-printable, Outlook desktop's
		// border-top reply header in French, "RE :" with a non-breaking
		// space in an ISO-8859-1 encoded word.
		file:       "outlook_html_reply.eml",
		messageID:  "PAXPR08MB72341A2B3C4D5E6F7A8B9C0D1E2F3@PAXPR08MB7234.eurprd08.prod.outlook.com",
		inReplyTo:  []string{"bud2026.1767635000@example.com"},
		references: []string{"bud2026.1767635000@example.com"},
		from:       Address{Name: "Hélène Dubois", Email: "helene.dubois@example.fr"},
		to:         []Address{{Name: "Alice Martin", Email: "alice@example.com"}},
		subject:    "RE : Budget 2026",
		date:       utc(2026, time.January, 6, 10, 2, 10),
		body: "Bonjour Alice,\n\n" +
			"C’est d’accord pour le budget de 12\u00a0000\u00a0€. Je valide la décision.\n\n" +
			"Cordialement,\n\n" +
			"Hélène\n\n" +
			"**De\u00a0:** Alice Martin &lt;alice@example.com&gt;\\\n" +
			"**Envoyé\u00a0:** lundi 5 janvier 2026 18:40\\\n" +
			"**À\u00a0:** Hélène Dubois &lt;helene.dubois@example.fr&gt;\\\n" +
			"**Objet\u00a0:** Budget 2026\n\n" +
			"Bonjour Hélène, peux-tu valider le budget de l’année\u00a0?",
		contains: []string{"décision", "€", "’"},
		absent:   []string{"MsoNormal", "font-family", "<o:p>"},
		reply: "Bonjour Alice,\n\n" +
			"C’est d’accord pour le budget de 12\u00a0000\u00a0€. Je valide la décision.\n\n" +
			"Cordialement,\n\n" +
			"Hélène",
	},
	{
		// HTML only in base64, Outlook on the web: appendonsend,
		// divRplyFwdMsg, and the mobile signature "Get Outlook for iOS".
		file:       "outlook_web_reply.eml",
		messageID:  "AM9PR07MB7F2C1D0E9F8A7B6C5D4E3F2A1B0C9D8E7@AM9PR07MB7F2C.eurprd07.prod.outlook.com",
		inReplyTo:  []string{"rel-1.1767634800@example.com"},
		references: []string{"rel-1.1767634800@example.com"},
		from:       Address{Name: "Bob Stone", Email: "bob@example.com"},
		to:         []Address{{Name: "Alice Martin", Email: "alice@example.com"}},
		subject:    "Re: Release date",
		date:       utc(2026, time.January, 6, 7, 30, 0),
		body: "Agreed, let’s ship it on Friday.\n\n" +
			"Get [Outlook for iOS](https://aka.ms/o0ukef)\n\n" +
			"* * *\n\n" +
			"**From:** Alice Martin &lt;alice@example.com&gt;\\\n" +
			"**Sent:** Monday, January 5, 2026 6:40 PM\\\n" +
			"**To:** Bob Stone &lt;bob@example.com&gt;\\\n" +
			"**Subject:** Release date\n\n\n" +
			"Can we ship the release on Friday?",
		reply: "Agreed, let’s ship it on Friday.",
	},
	{
		// format=flowed with delsp=yes and space-stuffing, Apple Mail's
		// attribution inside the quote.
		file:       "apple_mail_reply.eml",
		messageID:  "9A8B7C6D-5E4F-3A2B-1C0D-E9F8A7B6C5D4@example.org",
		inReplyTo:  []string{"7D1E2F3A-4B5C-6D7E-8F90-A1B2C3D4E5F6@example.com"},
		references: []string{"7D1E2F3A-4B5C-6D7E-8F90-A1B2C3D4E5F6@example.com"},
		from:       Address{Name: "Marc Durand", Email: "marc.durand@example.org"},
		to:         []Address{{Name: "Alice Martin", Email: "alice@example.com"}},
		subject:    "Re: Slides for the board",
		date:       utc(2026, time.January, 3, 9, 45, 12),
		body: "Sounds good, see you on Thursday. I’ll bring the printed slides and the budget sheet.\n\n" +
			"From then on, the numbers are final.\n\n" +
			"Marc\n\n" +
			"> On 3 Jan 2026, at 10:02, Alice Martin <alice@example.com> wrote:\n" +
			">\n" +
			"> Can we meet on Thursday to go over the slides before they go to the board?\n" +
			">",
		absent: []string{" From then on", "slides and  the", "blockquote"},
		reply: "Sounds good, see you on Thursday. I’ll bring the printed slides and the budget sheet.\n\n" +
			"From then on, the numbers are final.\n\n" +
			"Marc",
	},
	{
		// HTML only in raw 8-bit UTF-8, Thunderbird's moz-cite-prefix and
		// blockquote type=cite, a French attribution with a non-breaking
		// space before the colon, a "-- " signature.
		file:       "thunderbird_reply.eml",
		messageID:  "b3c1a2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d@example.net",
		inReplyTo:  []string{"sec-plan.1767634800@example.com"},
		references: []string{"sec-plan.1767634800@example.com"},
		from:       Address{Name: "Jean Dupont", Email: "jean.dupont@example.net"},
		to:         []Address{{Name: "Alice Martin", Email: "alice@example.com"}},
		subject:    "Re : Plan de sécurité", // the non-breaking space collapsed
		date:       utc(2026, time.January, 6, 7, 5, 33),
		body: "Bonjour Alice,\n\n" +
			"Voici mes corrections : le paragraphe sur la sécurité est à revoir, le reste me convient.\n\n" +
			"--\\\n" +
			"Jean Dupont\\\n" +
			"Équipe infrastructure\n\n" +
			"Le 05/01/2026 à 18:40, Alice Martin a écrit\u00a0:\n\n" +
			"> Peux-tu relire le plan de sécurité\u00a0?",
		reply: "Bonjour Alice,\n\n" +
			"Voici mes corrections : le paragraphe sur la sécurité est à revoir, le reste me convient.",
	},
	{
		// An ISO-8859-1 8-bit body, and encoded words in ISO-8859-1 whose
		// 0x97 and 0x80 are Windows-1252's "—" and "€".
		file:      "latin1_plain.eml",
		messageID: "20260107142001.4F1A2B3C4D@example.fr",
		from:      Address{Name: "François Lefèvre", Email: "francois.lefevre@example.fr"},
		to:        []Address{{Email: "team@blog.example.com"}},
		subject:   "Réunion de lundi — décision",
		date:      utc(2026, time.January, 7, 13, 20, 1),
		body: "Bonjour à tous,\n\n" +
			"Suite à la réunion de lundi, la décision est prise : on garde le café\n" +
			"du 3e étage. Coût estimé : 300 € par an.\n\n" +
			"François",
		contains: []string{"décision", "€"},
	},
	{
		// Raw 8-bit Windows-1252 in Subject, From and To (no RFC 2047),
		// smart quotes, an en dash and € in the body.
		file:      "windows1252_raw_headers.eml",
		messageID: "000a01db61f2$8e9f1c20$abdd5460$@example.fr",
		inReplyTo: []string{"cafe.1767800000@example.fr"},
		from:      Address{Name: "Loïc Bernard", Email: "loic.bernard@example.fr"},
		to: []Address{
			{Name: "Hélène Dubois", Email: "helene.dubois@example.fr"},
			{Email: "team@blog.example.com"},
		},
		subject: "Re: Café – prix à confirmer",
		date:    utc(2026, time.January, 8, 15, 42, 0),
		body: "Bonjour Hélène,\n\n" +
			"Le “nouveau” prix du café est de 2,50 € – c’est noté.\n\n" +
			"À bientôt,\n" +
			"Loïc",
		contains: []string{"“nouveau”", "€", "’"},
	},
	{
		// A base64 body and a base64 encoded-word subject, with emoji.
		file:      "base64_body.eml",
		messageID: "mig-done-20260109@example.com",
		from:      Address{Name: "Priya Raman", Email: "priya@example.com"},
		to:        []Address{{Email: "team@blog.example.com"}},
		subject:   "Migration done ✔",
		date:      utc(2026, time.January, 9, 3, 20, 0),
		body: "Hello team,\n\n" +
			"The migration finished at 03:12 UTC. Résumé: 4 312 posts moved, 0 errors 🎉.\n" +
			"Next step: switch the DNS on Monday.\n\n" +
			"Priya",
	},
	{
		// mixed > related > alternative: the text/plain alternative wins,
		// an inline PNG with an RFC 2231 name, a PDF with an RFC 2047 name,
		// a text/plain attachment that stays a file, a part with no name.
		file:      "multipart_mixed_attachment.eml",
		messageID: "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8@example.com",
		from:      Address{Name: "Claire Petit", Email: "claire.petit@example.com"},
		to:        []Address{{Email: "team@blog.example.com"}},
		subject:   "Compte rendu + schéma",
		date:      utc(2026, time.January, 12, 10, 0, 0),
		body: "Voici le compte rendu et le schéma du réseau.\n\n" +
			"[schéma réseau.png]\n\n" +
			"Bonne lecture,\n" +
			"Claire",
		absent: []string{"Points ouverts", "<img"},
		files: []corpusFile{
			{"schéma réseau.png", "image/png", 73},
			{"Compte rendu réunion.pdf", "application/pdf", 64},
			{"notes.txt", "text/plain", 44},
			{"attachment-4", "application/octet-stream", 256},
		},
	},
	{
		// A reply whose own quote goes, carrying a forwarded message that
		// itself forwards one: forwards are content and stay in Reply.
		file:       "nested_forward.eml",
		messageID:  "reply-vendor@example.com",
		inReplyTo:  []string{"post-51.1767700000@blog.example.com"},
		references: []string{"post-51.1767700000@blog.example.com"},
		from:       Address{Name: "Bob Stone", Email: "bob@example.com"},
		to:         []Address{{Name: "Alice Martin via projblog", Email: "reply+77aa01@blog.example.com"}},
		subject:    "Re: Vendor answer?",
		date:       utc(2026, time.January, 6, 14, 10, 0),
		body: "Forwarding the vendor's answer below, see the second point.\n\n" +
			"On Tue, Jan 6, 2026 at 9:00 AM Alice Martin <alice@example.com> wrote:\n" +
			"> Did the vendor answer about SSO?\n\n" +
			"> Forwarded message from Carla Núñez, 6 Jan 2026 08:00 -0500:\n" +
			">\n" +
			"> Hi Bob, here is our answer: yes, SSO is included.\n" +
			"> See Dan's question below.\n" +
			">\n" +
			"> > Forwarded message from Dan Okafor, 5 Jan 2026 16:00 -0500:\n" +
			"> >\n" +
			"> > Can we support SSO for their 40 users?",
		reply: "Forwarding the vendor's answer below, see the second point.\n\n" +
			"> Forwarded message from Carla Núñez, 6 Jan 2026 08:00 -0500:\n" +
			">\n" +
			"> Hi Bob, here is our answer: yes, SSO is included.\n" +
			"> See Dan's question below.\n" +
			">\n" +
			"> > Forwarded message from Dan Okafor, 5 Jan 2026 16:00 -0500:\n" +
			"> >\n" +
			"> > Can we support SSO for their 40 users?",
	},
	{
		file:      "out_of_office.eml",
		messageID: "ooo-1767708605@example.com",
		inReplyTo: []string{"reply-vendor@example.com"},
		from:      Address{Name: "Alice Martin", Email: "alice@example.com"},
		to:        []Address{{Name: "Bob Stone", Email: "bob@example.com"}},
		subject:   "Réponse automatique : Re: Vendor answer?",
		date:      utc(2026, time.January, 6, 14, 10, 5),
		body: "Bonjour,\n\n" +
			"Je suis absente jusqu'au 19 janvier. Pour toute urgence, contactez Paul.\n\n" +
			"Alice",
		auto: "Auto-Submitted: auto-replied",
	},
	{
		// A newsletter: the hidden preheader, CSS, script, title and the
		// tracking pixel do not reach the Markdown.
		file:      "bulk.eml",
		messageID: "digest-2026-02@news.example.com",
		from:      Address{Name: "Example News", Email: "news@example.com"},
		to:        []Address{{Email: "team@blog.example.com"}},
		subject:   "Weekly digest",
		date:      utc(2026, time.January, 14, 6, 0, 0),
		body: "# This week at Example\n\n" +
			"Three new features shipped.\n\n" +
			"[Read more](https://example.com/blog)",
		absent: []string{"Preview text", "color:#fff", "track()", "Weekly digest", "open/abc123"},
		auto:   "Precedence: bulk",
	},
	{
		// multipart/report with a null Return-Path; its machine parts are
		// files.
		file:      "bounce.eml",
		messageID: "202601150800.60F1A2B3@mx.example.com",
		from:      Address{Name: "Mail Delivery Subsystem", Email: "mailer-daemon@mx.example.com"},
		to:        []Address{{Email: "team@blog.example.com"}},
		subject:   "Returned mail: see transcript for details",
		date:      utc(2026, time.January, 15, 8, 0, 2),
		body: "The original message was received at Thu, 15 Jan 2026 09:00:01 +0100\n" +
			"from blog.example.com [198.51.100.7]\n\n" +
			"   ----- The following addresses had permanent fatal errors -----\n" +
			"<nobody@example.org>\n" +
			"    (reason: 550 5.1.1 User unknown)",
		files: []corpusFile{
			{"attachment-1", "message/delivery-status", 208},
			{"attachment-2", "text/rfc822-headers", 130},
		},
		auto: "Return-Path: <>",
	},
	{
		// The closing boundary never comes, and the attachment's header
		// has unindented parameter lines and a line without a colon: the
		// parameters are joined back, and the last part is still read.
		file:      "malformed_mime.eml",
		messageID: "legacy-1@example.net",
		from:      Address{Name: "Legacy Mailer", Email: "legacy@example.net"},
		to:        []Address{{Email: "team@blog.example.com"}},
		subject:   "Minutes attached",
		date:      utc(2026, time.January, 16, 11, 0, 0),
		body: "Please find the minutes attached.\n\n" +
			"Sent by LegacyMailer 2.1 (unregistered copy)",
		files: []corpusFile{{"minutes.pdf", "application/pdf", 64}},
	},
	{
		// An unknown charset in the body and in an encoded word: the
		// message is read, invalid bytes become U+FFFD.
		file:      "unknown_charset.eml",
		messageID: "status@example.org",
		from:      Address{Name: "Old Gateway", Email: "gw@example.org"},
		to:        []Address{{Email: "team@blog.example.com"}},
		subject:   "Status report",
		date:      utc(2026, time.January, 19, 8, 0, 0),
		body:      "Status: all systems nominal \uFFFD (bytes the gateway could not name).",
	},
}

func parseCorpusFile(t *testing.T, name string) (*Message, error) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Parse(bytes.NewReader(raw), 0)
	if msg != nil && msg.Size != int64(len(raw)) {
		t.Errorf("Size = %d, want %d", msg.Size, len(raw))
	}
	return msg, err
}

func TestParseCorpus(t *testing.T) {
	for _, tc := range corpusCases {
		t.Run(strings.TrimSuffix(tc.file, ".eml"), func(t *testing.T) {
			m, err := parseCorpusFile(t, tc.file)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkHeaders(t, m, tc)
			checkText(t, m, tc)
			checkFiles(t, m.Files, tc.files)
			if m.Auto != tc.auto {
				t.Errorf("Auto = %q, want %q", m.Auto, tc.auto)
			}
		})
	}
}

func checkHeaders(t *testing.T, m *Message, tc corpusCase) {
	t.Helper()
	if m.MessageID != tc.messageID {
		t.Errorf("MessageID = %q, want %q", m.MessageID, tc.messageID)
	}
	equalStrings(t, "InReplyTo", m.InReplyTo, tc.inReplyTo)
	equalStrings(t, "References", m.References, tc.references)
	if m.From != tc.from {
		t.Errorf("From = %+v, want %+v", m.From, tc.from)
	}
	equalAddresses(t, "To", m.To, tc.to)
	equalAddresses(t, "Cc", m.Cc, tc.cc)
	if m.Subject != tc.subject {
		t.Errorf("Subject = %q, want %q", m.Subject, tc.subject)
	}
	if !m.Date.Equal(tc.date) || m.Date.Location() != time.UTC {
		t.Errorf("Date = %v, want %v", m.Date, tc.date)
	}
}

func checkText(t *testing.T, m *Message, tc corpusCase) {
	t.Helper()
	if m.Body != tc.body {
		t.Errorf("Body =\n%s\n---- want ----\n%s\n(%q)", m.Body, tc.body, m.Body)
	}
	for _, s := range tc.contains {
		if !strings.Contains(m.Body, s) {
			t.Errorf("Body does not contain %q", s)
		}
	}
	for _, s := range tc.absent {
		if strings.Contains(m.Body, s) {
			t.Errorf("Body contains %q", s)
		}
	}
	wantReply := tc.reply
	if wantReply == "" {
		wantReply = tc.body
	}
	if m.Reply != wantReply {
		t.Errorf("Reply =\n%s\n---- want ----\n%s\n(%q)", m.Reply, wantReply, m.Reply)
	}
}

func checkFiles(t *testing.T, got []File, want []corpusFile) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d files, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		if g.Name != w.name || g.ContentType != w.contentType || len(g.Data) != w.size {
			t.Errorf("file %d = %q %s %d bytes, want %q %s %d bytes", i, g.Name, g.ContentType, len(g.Data), w.name, w.contentType, w.size)
		}
	}
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func equalAddresses(t *testing.T, what string, got, want []Address) {
	t.Helper()
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// TestParseCorpusHTMLPart drops the text/plain alternative of the corpus
// replies that have both, so that their HTML part, as the client sent it,
// goes through the HTML path.
func TestParseCorpusHTMLPart(t *testing.T) {
	cases := []struct {
		file, boundary, reply string
	}{
		{
			file:     "gmail_reply.eml",
			boundary: "000000000000b6e2a20647a1c3d4",
			reply: "Thanks Alice, the draft looks good to me. Two remarks:\n\n" +
				"1\\. The budget line should say €12,000, not 12 000.\n\n" +
				"2\\. Let’s move the launch to March.\n\n" +
				"François",
		},
		{
			file:     "apple_mail_reply.eml",
			boundary: "Apple-Mail=_5E1A7C4B-2F3D-4E8A-9B1C-0D2E3F4A5B6C",
			reply: "Sounds good, see you on Thursday. I’ll bring the printed slides and the budget sheet.\n\n" +
				"From then on, the numbers are final.\n\n" +
				"Marc",
		},
	}
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".eml"), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "mail", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(string(raw), "--"+tc.boundary)
			var kept []string
			for _, part := range parts {
				if !strings.Contains(part, "text/plain") {
					kept = append(kept, part)
				}
			}
			if len(kept) != len(parts)-1 {
				t.Fatalf("found %d text/plain parts, want 1", len(parts)-len(kept))
			}
			m, err := Parse(strings.NewReader(strings.Join(kept, "--"+tc.boundary)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if m.Reply != tc.reply {
				t.Errorf("Reply = %q, want %q", m.Reply, tc.reply)
			}
			if !strings.Contains(m.Body, "> ") || strings.Contains(m.Body, "<div") {
				t.Errorf("Body has no quote, or HTML: %q", m.Body)
			}
		})
	}
}

// TestParseFileContents checks decoded bytes, not only sizes.
func TestParseFileContents(t *testing.T) {
	m, err := parseCorpusFile(t, "multipart_mixed_attachment.eml")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.Files[1].Data); !strings.HasPrefix(got, "%PDF-1.4\n") || !strings.HasSuffix(got, "%%EOF\n") {
		t.Errorf("PDF = %q", got)
	}
	// A file keeps its bytes: the CRLF line ends of the mail stay.
	if got := string(m.Files[2].Data); got != "Points ouverts :\r\n- réseau\r\n- sauvegardes\r\n" {
		t.Errorf("notes.txt = %q", got)
	}
	if !bytes.HasPrefix(m.Files[0].Data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("PNG starts %q", m.Files[0].Data[:8])
	}
	for i, b := range m.Files[3].Data {
		if int(b) != i {
			t.Fatalf("attachment-4 byte %d = %d", i, b)
		}
	}
}

func TestParseErrors(t *testing.T) {
	nested := "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
	for i := 1; i <= 25; i++ {
		nested += fmt.Sprintf("--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
	}
	cases := []struct {
		name, raw, file string
		code            apperr.Code
		message         string
	}{
		{name: "NoFrom", file: "no_from.eml", code: apperr.Invalid, message: "The message has no From address."},
		{name: "BadBase64Attachment", file: "bad_base64.eml", code: apperr.Invalid, message: `The attachment "budget.xlsx" is not valid base64.`},
		{
			name:    "BadBase64Text",
			raw:     "From: a@example.com\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8@@@\r\n",
			code:    apperr.Invalid,
			message: "The message text is not valid base64.",
		},
		{
			name:    "BadBase64Unnamed",
			raw:     "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%%\r\n--x--\r\n",
			code:    apperr.Invalid,
			message: "A part of type image/png is not valid base64.",
		},
		{name: "Empty", raw: " \r\n\r\n", code: apperr.Invalid, message: "The message is empty."},
		{
			name:    "UnreadableFrom",
			raw:     "From: nobody at all\r\n\r\nHi\r\n",
			code:    apperr.Invalid,
			message: `The message's From address "nobody at all" cannot be read.`,
		},
		{
			name:    "NoBoundary",
			raw:     "From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nHi\r\n",
			code:    apperr.Invalid,
			message: "The message's MIME structure is broken: the multipart/mixed part has no boundary.",
		},
		{
			name:    "BoundaryNeverAppears",
			raw:     "From: a@example.com\r\nContent-Type: multipart/alternative; boundary=\"zz\"\r\n\r\n--yy\r\n\r\nHi\r\n",
			code:    apperr.Invalid,
			message: `The message's MIME structure is broken: the boundary "zz" of the multipart/alternative part never appears.`,
		},
		{name: "TooDeep", raw: nested, code: apperr.Invalid, message: "The message's MIME structure is broken: parts are nested more than 20 deep."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.file != "" {
				_, err = parseCorpusFile(t, tc.file)
			} else {
				_, err = Parse(strings.NewReader(tc.raw), 0)
			}
			var ae *apperr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *apperr.Error", err)
			}
			if ae.Code != tc.code || ae.Message != tc.message {
				t.Errorf("err = %s %q, want %s %q", ae.Code, ae.Message, tc.code, tc.message)
			}
		})
	}
}

// endlessReader yields an endless message and counts what it gives.
type endlessReader struct{ read int64 }

func (r *endlessReader) Read(p []byte) (int, error) {
	head := "From: a@example.com\r\n\r\n"
	for i := range p {
		if pos := r.read + int64(i); pos < int64(len(head)) {
			p[i] = head[pos]
		} else {
			p[i] = 'x'
		}
	}
	r.read += int64(len(p))
	return len(p), nil
}

func TestParseTooLarge(t *testing.T) {
	cases := []struct {
		name    string
		limit   int64
		message string
	}{
		{"Small", 1024, "The message is larger than 1 KiB."},
		{"Default", 0, "The message is larger than 25 MiB."},
		{"Odd", 1000, "The message is larger than 1000 bytes."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &endlessReader{}
			_, err := Parse(r, tc.limit)
			if !apperr.Is(err, apperr.TooLarge) || apperr.MessageOf(err) != tc.message {
				t.Fatalf("err = %v, want TooLarge %q", err, tc.message)
			}
			limit := tc.limit
			if limit <= 0 {
				limit = MaxMessageBytes
			}
			if r.read > limit+1 {
				t.Errorf("read %d bytes, want at most %d", r.read, limit+1)
			}
		})
	}
	t.Run("ExactlyTheLimit", func(t *testing.T) {
		raw := "From: a@example.com\r\n\r\nHello\r\n"
		if _, err := Parse(strings.NewReader(raw), int64(len(raw))); err != nil {
			t.Errorf("at the limit: %v", err)
		}
		if _, err := Parse(strings.NewReader(raw), int64(len(raw)-1)); !apperr.Is(err, apperr.TooLarge) {
			t.Errorf("one byte over: %v, want TooLarge", err)
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestParseReadError(t *testing.T) {
	_, err := Parse(failingReader{}, 0)
	if !apperr.Is(err, apperr.Internal) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want Internal wrapping the read error", err)
	}
}

// TestParseText covers body rules that need no corpus file.
func TestParseText(t *testing.T) {
	cases := []struct {
		name, raw   string
		body, reply string // reply "" means equal to body
		files       []corpusFile
	}{
		{
			name: "BlankPlainPicksHTML",
			raw: "From: a@example.com\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
				"--b\r\nContent-Type: text/plain\r\n\r\n \r\n\r\n" +
				"--b\r\nContent-Type: text/html\r\n\r\n<p>Only <b>here</b></p><blockquote type=\"cite\">old</blockquote>\r\n--b--\r\n",
			body:  "Only **here**\n\n> old",
			reply: "Only **here**",
		},
		{
			name: "ControlsAndBlankLines",
			raw:  "From: a@example.com\r\n\r\n\r\n\r\nA\x00B\x1b\tC  \r\n\r\n\r\n\r\n\r\nD\xef\xbb\xbf\r\n\r\n",
			body: "AB\tC\n\n\nD",
		},
		{
			name: "LoneCR",
			raw:  "From: a@example.com\r\n\r\none\rtwo\r\n",
			body: "one\ntwo",
		},
		{
			name: "UndeclaredLatin1Body",
			raw:  "From: a@example.com\r\n\r\nCaf\xe9 \x80\r\n",
			body: "Café €",
		},
		{
			name: "HTMLMetaCharset",
			raw:  "From: a@example.com\r\nContent-Type: text/html\r\n\r\n<html><head><meta charset=\"iso-8859-15\"></head><body><p>Prix \xa4</p></body></html>\r\n",
			body: "Prix €",
		},
		{
			name: "UnknownTransferEncoding",
			raw:  "From: a@example.com\r\nContent-Transfer-Encoding: x-private\r\n\r\nKept as sent.\r\n",
			body: "Kept as sent.",
		},
		{
			name: "Base64WithoutPadding",
			raw:  "From: a@example.com\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQ\r\n",
			body: "Hello world",
		},
		{
			name: "LenientQuotedPrintable",
			raw:  "From: a@example.com\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n2 + 2 = 4, caf=C3=A9 =\r\nau lait\x0c\r\n",
			body: "2 + 2 = 4, café au lait",
		},
		{
			name: "MboxFromLine",
			raw:  "From alice@example.com Mon Jan  5 10:00:00 2026\nFrom: a@example.com\nSubject: x\n\nBody\n",
			body: "Body",
		},
		{
			name: "BrokenContentType",
			raw:  "From: a@example.com\r\nContent-Type: text/plain; charset=\"iso-8859-1; format=flowed\r\n\r\nd\xe9j\xe0\r\n",
			body: "déjà",
		},
		{
			name: "PartWithoutHeader",
			raw: "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n" +
				"--q\r\nJust text, no header.\r\n--q\r\n\r\nAfter a blank line.\r\n--q--\r\n",
			body: "Just text, no header.\n\nAfter a blank line.",
		},
		{
			name: "SignatureSkipped",
			raw: "From: a@example.com\r\nContent-Type: multipart/signed; boundary=s; protocol=\"application/pgp-signature\"\r\n\r\n" +
				"--s\r\nContent-Type: text/plain\r\n\r\nSigned text.\r\n" +
				"--s\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n--s--\r\n",
			body: "Signed text.",
		},
		{
			name: "InlineImageLinkedByContentID",
			raw: "From: a@example.com\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" +
				"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See <img src=\"cid:logo@x\" alt=\"logo\"> and <img src=\"cid:missing@x\"></p>\r\n" +
				"--r\r\nContent-Type: image/gif\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline; filename=\"our logo.gif\"\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n--r--\r\n",
			body:  "See ![logo](our%20logo.gif) and",
			files: []corpusFile{{"our logo.gif", "image/gif", 14}},
		},
		{
			name: "FileNames",
			raw: "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n" +
				"--f\r\nContent-Type: text/plain\r\n\r\nFiles.\r\n" +
				"--f\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=iso-8859-1''r%E9sum%E9.pdf\r\n\r\n%PDF\r\n" +
				"--f\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"C:\\\\Users\\\\bob\\\\plan.pdf\"\r\n\r\n%PDF\r\n" +
				"--f\r\nContent-Type: application/zip; name=\"=?utf-8?B?w6l0w6kuemlw?=\"\r\n\r\nPK\r\n" +
				"--f\r\nContent-Type: text/csv\r\nContent-Disposition: attachment\r\n\r\na,b\r\n--f--\r\n",
			body: "Files.",
			files: []corpusFile{
				{"résumé.pdf", "application/pdf", 4},
				{"plan.pdf", "application/pdf", 4},
				{"été.zip", "application/zip", 2},
				{"attachment-4", "text/csv", 3},
			},
		},
		{
			name: "FlowedQuotedAndSignature",
			raw: "From: a@example.com\r\nContent-Type: text/plain; format=flowed\r\n\r\n" +
				"First part \r\nof a line.\r\n>> quoted \r\n>> more\r\n-- \r\nSig\r\n",
			body:  "First part of a line.\n> > quoted more\n--\nSig",
			reply: "First part of a line.",
		},
		{
			// html.Parse refuses elements nested more than 512 deep; the
			// text is still read, without the markup.
			name: "HTMLTooDeep",
			raw: "From: a@example.com\r\nContent-Type: text/html\r\n\r\n<script>x()</script>" +
				strings.Repeat("<div>", 600) + "deep text" + strings.Repeat("</div>", 600) + "\r\n",
			body: "deep text",
		},
		{
			name: "ForwardWithoutBody",
			raw: "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n" +
				"--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: empty\r\n\r\n--m--\r\n",
			body: "> Forwarded message from b@example.com:",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tc.raw), 0)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Body != tc.body {
				t.Errorf("Body = %q, want %q", m.Body, tc.body)
			}
			want := tc.reply
			if want == "" {
				want = tc.body
			}
			if m.Reply != want {
				t.Errorf("Reply = %q, want %q", m.Reply, want)
			}
			checkFiles(t, m.Files, tc.files)
		})
	}
}

func TestParseAuto(t *testing.T) {
	cases := []struct {
		name, headers, subject, want string
	}{
		{"Person", "", "Lunch?", ""},
		{"AutoSubmittedNo", "Auto-Submitted: no\r\n", "Lunch?", ""},
		{"AutoGenerated", "Auto-Submitted: Auto-Generated (nightly job)\r\n", "Report", "Auto-Submitted: auto-generated"},
		{"XAutoreply", "X-Autoreply: yes\r\n", "Re: x", "X-Autoreply: yes"},
		{"XAutorespond", "X-Autorespond: Vacation\r\n", "Re: x", "X-Autorespond: vacation"},
		{"PrecedenceJunk", "Precedence: junk\r\n", "x", "Precedence: junk"},
		{"PrecedenceListIsAPerson", "Precedence: list\r\n", "Re: x", ""},
		{"NullReturnPath", "Return-Path: < >\r\n", "x", "Return-Path: <>"},
		{"Report", "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n", "x", "Content-Type: multipart/report"},
		{"OutOfOffice", "", "Out of Office: Re: x", "Subject: Out of Office"},
		{"AutomaticReply", "", "Automatic reply: Budget", "Subject: Automatic reply"},
		{"Auto", "", "AUTO: Away until Monday", "Subject: Auto:"},
		{"ReponseAutomatique", "", "Réponse automatique : Budget", "Subject: Réponse automatique"},
		{"Absence", "", "Absence : Marie Curie", "Subject: Absence"},
		{"AbsentDuBureau", "", "Absent du bureau", "Subject: Absent du bureau"},
		{"Undeliverable", "", "Undeliverable: Budget", "Subject: Undeliverable"},
		{"DSN", "", "Delivery Status Notification (Failure)", "Subject: Delivery Status Notification"},
		{"MailDeliveryFailed", "", "Mail delivery failed: returning message to sender", "Subject: Mail delivery failed"},
		{"AbsencesIsAPerson", "", "Absences de l'équipe en août", ""},
		{"AutomationIsAPerson", "", "Automation ideas", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The body is a part of boundary "r" for the multipart/report
			// case, and plain text for the others.
			raw := "From: a@example.com\r\nSubject: " + tc.subject + "\r\n" + tc.headers +
				"\r\n--r\r\nContent-Type: text/plain\r\n\r\nx\r\n--r--\r\n"
			m, err := Parse(strings.NewReader(raw), 0)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Auto != tc.want {
				t.Errorf("Auto = %q, want %q", m.Auto, tc.want)
			}
		})
	}
}

func TestParseIDs(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   []string
	}{
		{"Bracketed", []string{"<a@example.com>"}, []string{"a@example.com"}},
		{"Bare", []string{"a@example.com"}, []string{"a@example.com"}},
		{"Spaces", []string{"<a@x> \r\n <b@x>"}, []string{"a@x", "b@x"}},
		{"Commas", []string{"<a@x>,<b@x>"}, []string{"a@x", "b@x"}},
		{"Glued", []string{"<a@x><b@x>"}, []string{"a@x", "b@x"}},
		{"BareCommas", []string{"a@x, b@x"}, []string{"a@x", "b@x"}},
		{"Prose", []string{`Your message of "Mon, 5 Jan 2026" <a@x>`}, []string{"a@x"}},
		{"Comment", []string{"<a@x> (sent by alice@example.com)"}, []string{"a@x"}},
		{"Repeated", []string{"<a@x> <b@x> <a@x>"}, []string{"a@x", "b@x"}},
		{"SeveralFields", []string{"<a@x>", "<b@x>"}, []string{"a@x", "b@x"}},
		{"Empty", []string{"  "}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			equalStrings(t, "parseIDs", parseIDs(tc.values), tc.want)
		})
	}
}

func TestParseDate(t *testing.T) {
	cases := []struct {
		name, value string
		want        time.Time
	}{
		{"RFC5322", "Tue, 6 Jan 2026 09:15:42 +0100", utc(2026, 1, 6, 8, 15, 42)},
		{"Comment", "Wed, 07 Jan 2026 14:20:01 +0100 (CET)", utc(2026, 1, 7, 13, 20, 1)},
		{"NoWeekday", "6 Jan 2026 09:15:42 -0500", utc(2026, 1, 6, 14, 15, 42)},
		{"NoSeconds", "Tue, 6 Jan 2026 09:15 +0100", utc(2026, 1, 6, 8, 15, 0)},
		{"ColonZone", "Tue, 6 Jan 2026 09:15:42 +01:00", utc(2026, 1, 6, 8, 15, 42)},
		{"GMTOffset", "Tue, 6 Jan 2026 09:15:42 GMT+0100", utc(2026, 1, 6, 8, 15, 42)},
		{"NoZone", "Tue, 6 Jan 2026 09:15:42", utc(2026, 1, 6, 9, 15, 42)},
		{"NoSpaceAfterComma", "Tue,6 Jan 2026 09:15:42 +0100", utc(2026, 1, 6, 8, 15, 42)},
		{"FullMonth", "Tuesday, 6 January 2026 09:15:42 +0100", utc(2026, 1, 6, 8, 15, 42)},
		{"TwoDigitYear", "Tue, 6 Jan 26 09:15:42 +0100", utc(2026, 1, 6, 8, 15, 42)},
		{"Asctime", "Tue Jan  6 09:15:42 2026", utc(2026, 1, 6, 9, 15, 42)},
		{"ISO", "2026-01-06T09:15:42+01:00", utc(2026, 1, 6, 8, 15, 42)},
		{"ISOSpace", "2026-01-06 09:15:42", utc(2026, 1, 6, 9, 15, 42)},
		{"Garbage", "next Tuesday", time.Time{}},
		{"Missing", "", time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: a@example.com\r\nDate: " + tc.value + "\r\n\r\nx\r\n"
			m, err := Parse(strings.NewReader(raw), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Date.Equal(tc.want) || m.Date.Location() != time.UTC {
				t.Errorf("Date = %v, want %v", m.Date, tc.want)
			}
		})
	}
}

func TestParseFrom(t *testing.T) {
	cases := []struct {
		name, value string
		want        Address
	}{
		{"Plain", "Alice Martin <Alice@Example.COM>", Address{"Alice Martin", "alice@example.com"}},
		{"Bare", "alice@example.com", Address{"", "alice@example.com"}},
		{"Angle", "<alice@example.com>", Address{"", "alice@example.com"}},
		{"OldStyleComment", "alice@example.com (Alice Martin)", Address{"Alice Martin", "alice@example.com"}},
		{"EncodedWord", "=?utf-8?q?Fran=C3=A7ois?= <f@example.fr>", Address{"François", "f@example.fr"}},
		{"EncodedWordInQuotes", `"=?utf-8?q?Fran=C3=A7ois_L.?=" <f@example.fr>`, Address{"François L.", "f@example.fr"}},
		{"UnclosedQuote", `"Dupont, Jean <jean.dupont@example.fr>`, Address{"Dupont, Jean", "jean.dupont@example.fr"}},
		{"DoubleBracket", "Jean Dupont <<jean@example.fr>>", Address{"Jean Dupont", "jean@example.fr"}},
		{"UnquotedDots", "J.R. Smith <jr@example.com>", Address{"J.R. Smith", "jr@example.com"}},
		{"Raw8bit", "H\xe9l\xe8ne <h@example.fr>", Address{"Hélène", "h@example.fr"}},
		{"Group", "Team: alice@example.com, bob@example.com;", Address{"", "alice@example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: " + tc.value + "\r\n\r\nx\r\n"
			m, err := Parse(strings.NewReader(raw), 0)
			if err != nil {
				t.Fatal(err)
			}
			if m.From != tc.want {
				t.Errorf("From = %+v, want %+v", m.From, tc.want)
			}
		})
	}
}

func TestUnflow(t *testing.T) {
	cases := []struct {
		name, in string
		delsp    bool
		want     string
	}{
		{"Joins", "one \ntwo \nthree\nfour", false, "one two three\nfour"},
		{"DelSp", "Donau\u00ad \ndampf", true, "Donau\u00addampf"},
		{"Stuffed", " From here\n >quoted? no", false, "From here\n>quoted? no"},
		{"Quoted", "> a \n> b\n>> c", false, "> a b\n> > c"},
		{"DepthChangeEndsParagraph", "> a \n>> b", false, "> a\n> > b"},
		{"SignatureIsHard", "text\n-- \nSig", false, "text\n--\nSig"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := unflow(tc.in, tc.delsp); got != tc.want {
				t.Errorf("unflow = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHTMLReply checks the quote removal of html.go on the markup each
// client sends, through the same path Parse takes.
func TestHTMLReply(t *testing.T) {
	cases := []struct {
		name, html, reply string
	}{
		{
			name:  "Gmail",
			html:  `<div dir="ltr">Fine by me.</div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, Jan 5, 2026 at 6:40 PM Alice &lt;<a href="mailto:a@x.com">a@x.com</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px">Old text<br></blockquote></div>`,
			reply: "Fine by me.",
		},
		{
			name:  "GmailInline",
			html:  `<div class="gmail_quote"><div class="gmail_attr">On Mon, Jan 5, 2026 at 6:40 PM Alice wrote:</div><blockquote class="gmail_quote">Can you do A?</blockquote><div>Yes, done.</div><blockquote class="gmail_quote">And B?</blockquote><div>Next week.</div></div>`,
			reply: "Yes, done.\n\nNext week.",
		},
		{
			name:  "GmailForward",
			html:  `<div dir="ltr">FYI</div><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <b>Dan</b> &lt;dan@x.com&gt;<br>Subject: Plan<br></div><br><div>The plan is attached.</div></div>`,
			reply: "FYI\n\n---------- Forwarded message ---------\\\nFrom: **Dan** &lt;dan@x.com&gt;\\\nSubject: Plan\n\nThe plan is attached.",
		},
		{
			name:  "Thunderbird",
			html:  `<p>Agreed.</p><div class="moz-cite-prefix">On 1/5/26 6:40 PM, Alice wrote:<br></div><blockquote type="cite" cite="mid:x@y">Old</blockquote>`,
			reply: "Agreed.",
		},
		{
			name:  "AppleMail",
			html:  `<div>Sure.</div><div><br><blockquote type="cite"><div>On 3 Jan 2026, at 10:02, Alice &lt;a@x.com&gt; wrote:</div><br><div>Old</div></blockquote></div>`,
			reply: "Sure.",
		},
		{
			name:  "AppleAttributionOutside",
			html:  `<div>Sure.</div><div>On 3 Jan 2026, at 10:02, Alice &lt;a@x.com&gt; wrote:</div><blockquote type="cite"><div>Old</div></blockquote>`,
			reply: "Sure.",
		},
		{
			name:  "AppleForward",
			html:  `<div>See below.</div><div><br><div>Begin forwarded message:</div><br class="Apple-interchange-newline"><blockquote type="cite"><div><b>From: </b>Dan &lt;dan@x.com&gt;</div><div><b>Subject: </b>Plan</div><br><div>The plan.</div></blockquote></div>`,
			reply: "See below.\n\nBegin forwarded message:\n\n> **From:** Dan &lt;dan@x.com&gt;\n>\n> **Subject:** Plan\n>\n> The plan.",
		},
		{
			name:  "OutlookWeb",
			html:  `<div>Ship it.</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Alice<br><b>Sent:</b> Monday</div><div>Old body</div>`,
			reply: "Ship it.",
		},
		{
			name:  "OutlookWebWithoutAppendOnSend",
			html:  `<div><div>Ship it.</div><div id="divRplyFwdMsg"><b>De :</b> Alice<br><b>Envoyé :</b> lundi</div></div><div>Old body</div>`,
			reply: "Ship it.",
		},
		{
			name:  "Outlook2010",
			html:  `<p>OK.</p><div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in"><p><b>From:</b> Alice<br><b>Sent:</b> Monday</p></div><p>Old</p>`,
			reply: "OK.",
		},
		{
			name:  "OutlookBlockWithoutMarkup",
			html:  `<p>OK.</p><p>________________________________<br><b>From:</b> Alice<br><b>Sent:</b> Monday<br><b>To:</b> Bob<br><b>Subject:</b> x</p><p>Old</p>`,
			reply: "OK.",
		},
		{
			name:  "NothingQuoted",
			html:  `<p>Just a <a href="https://example.com">link</a>.</p>`,
			reply: "Just a [link](https://example.com).",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &walker{cids: map[string]string{}}
			_, reply := w.render([]piece{{kind: pieceHTML, text: tc.html}})
			if reply != tc.reply {
				t.Errorf("Reply = %q, want %q", reply, tc.reply)
			}
		})
	}
}

// FuzzParse checks what Parse promises whatever the input: no panic, errors
// that are *apperr.Error with a code a person can act on, and text that is
// valid UTF-8 with \n line ends and no control characters.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "mail", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(bytes.NewReader(raw), 1<<20)
		if err != nil {
			if code := apperr.CodeOf(err); code != apperr.Invalid && code != apperr.TooLarge {
				t.Fatalf("error %v has code %s", err, code)
			}
			return
		}
		for what, text := range map[string]string{"Body": m.Body, "Reply": m.Reply, "Subject": m.Subject, "From": m.From.Name} {
			if !utf8.ValidString(text) {
				t.Fatalf("%s is not valid UTF-8: %q", what, text)
			}
			if i := strings.IndexFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }); i >= 0 {
				t.Fatalf("%s has a control character at %d: %q", what, i, text)
			}
		}
	})
}

func FuzzStripReply(f *testing.F) {
	f.Add("Thanks!\n\nOn Mon, Jan 5, 2026 at 6:40 PM Alice <a@x.com> wrote:\n> old\n")
	f.Add("On Mon, Jan 5, 2026 at 6:40 PM Alice <\na@x.com> wrote:\n> A?\nYes.\n> B?\n-- \nBob")
	f.Add("Done.\n____\nFrom: a\nSent: b\nTo: c\n\nBegin forwarded message:\n")
	f.Fuzz(func(t *testing.T, text string) {
		reply := StripReply(text)
		if utf8.ValidString(text) && !utf8.ValidString(reply) {
			t.Fatalf("StripReply(%q) = %q, not valid UTF-8", text, reply)
		}
		if again := StripReply(text); again != reply {
			t.Fatalf("StripReply is not deterministic: %q then %q", reply, again)
		}
	})
}
