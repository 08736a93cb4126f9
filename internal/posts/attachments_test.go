package posts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// pngBytes is a real w×h PNG image.
func pngBytes(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: uint8(x * 40), G: 90, B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func (f *fixture) attach(actor access.Actor, project string, postID uint64, name string, data []byte) *Attachment {
	f.tb.Helper()
	a, err := f.s.AddAttachment(actor, project, postID, name, data)
	if err != nil {
		f.tb.Fatalf("AddAttachment(%q): %v", name, err)
	}
	return a
}

func TestAttachmentRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.project("apollo", access.Internal)
	p := f.post(member, "apollo", titled("Logs"))

	// Larger than one chunk, not a multiple of it.
	data := bytes.Repeat([]byte("log line 0123456789\n"), (3*attachmentChunk)/20+7)
	a := f.attach(member, "apollo", p.ID, "server.log", data)
	sum := sha256.Sum256(data)
	if a.ContentType != "text/plain; charset=utf-8" || a.Size != int64(len(data)) || a.SHA256 != hex.EncodeToString(sum[:]) ||
		a.PostID != p.ID || a.UploaderID != member.UserID || a.ProjectSlug != "apollo" || !a.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("attachment %+v", a)
	}
	if a.Path() != fmt.Sprintf("/p/apollo/files/%d/server.log", a.ID) || a.Image() {
		t.Errorf("Path %q, Image %v", a.Path(), a.Image())
	}
	got, b, err := f.s.Attachment(viewer, a.ID)
	must(t, err)
	if !bytes.Equal(b, data) || *got != *a {
		t.Fatalf("read back %d bytes (want %d), %+v", len(b), len(data), got)
	}
	list, err := f.s.Attachments(viewer, p.ID)
	must(t, err)
	if len(list) != 1 || list[0].ID != a.ID {
		t.Fatalf("Attachments: %+v", list)
	}
}

func TestAttachmentLimits(t *testing.T) {
	f := newFixture(t)
	f.project("apollo", access.Internal)
	p := f.post(member, "apollo", titled("Pictures"))

	t.Run("ErrTooLarge", func(t *testing.T) {
		big := append(pngBytes(t, 1, 1), make([]byte, MaxAttachmentBytes)...)
		_, err := f.s.AddAttachment(member, "apollo", p.ID, "huge.png", big)
		wantField(t, err, apperr.TooLarge, "file")
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "(10.1 MiB): a file may be at most 10 MiB") || !strings.Contains(msg, "huge.png") {
			t.Errorf("message %q does not name the file and the limit", msg)
		}
	})
	t.Run("ExactlyTheLimit", func(t *testing.T) {
		img := pngBytes(t, 1, 1)
		full := append(img, make([]byte, MaxAttachmentBytes-len(img))...)
		a := f.attach(member, "apollo", p.ID, "full.png", full)
		if a.Size != MaxAttachmentBytes || a.ContentType != "image/png" {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		_, err := f.s.AddAttachment(member, "apollo", p.ID, "nothing.txt", nil)
		wantField(t, err, apperr.Invalid, "file")
	})
	t.Run("ErrTooManyPerPost", func(t *testing.T) {
		for i := 1; i < MaxAttachmentsPerPost; i++ { // one is there already
			f.attach(member, "apollo", p.ID, fmt.Sprintf("note-%d.txt", i), []byte("note"))
		}
		_, err := f.s.AddAttachment(member, "apollo", p.ID, "one-more.txt", []byte("note"))
		wantField(t, err, apperr.Invalid, "file")
	})
	t.Run("ErrTooManyPending", func(t *testing.T) {
		for i := range MaxPendingAttachments {
			f.attach(member2, "apollo", 0, fmt.Sprintf("pending-%d.txt", i), []byte("pending"))
		}
		_, err := f.s.AddAttachment(member2, "apollo", 0, "one-more.txt", []byte("pending"))
		wantField(t, err, apperr.Invalid, "file")
		// Someone else is not held back by member2's files.
		f.attach(member, "apollo", 0, "mine.txt", []byte("mine"))
		// A week later the stale pending files are gone, and there is room.
		f.clk.Advance(PendingAttachmentTTL + time.Minute)
		a := f.attach(member2, "apollo", 0, "later.txt", []byte("later"))
		if _, _, err := f.s.Attachment(member2, a.ID-1); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("a stale pending file is still there: %v", err)
		}
	})
}

// TestAttachmentEvents: a file added to or deleted from a post appends an
// event (so that what shows the post is built again); a file in no post
// yet, and a refused one, append none.
func TestAttachmentEvents(t *testing.T) {
	f := newFixture(t)
	f.project("apollo", access.Internal)
	p := f.post(member, "apollo", titled("Pictures"))
	head := f.db.Head()
	pending := f.attach(member, "apollo", 0, "pending.png", pngBytes(t, 1, 1))
	_, err := f.s.AddAttachment(member, "apollo", p.ID, "x.html", []byte("<html>"))
	wantCode(t, err, apperr.Invalid)
	must(t, f.s.DeleteAttachment(member, pending.ID))
	if f.db.Head() != head {
		t.Fatalf("pending and refused files appended %v", eventTypes(t, f.db, head))
	}
	a := f.attach(member, "apollo", p.ID, "chart.png", pngBytes(t, 1, 1))
	must(t, f.s.DeleteAttachment(owner, a.ID))
	evs, err := f.db.Events(head, 10)
	must(t, err)
	if len(evs) != 2 || evs[0].Type != "attachment.added" || evs[1].Type != "attachment.deleted" {
		t.Fatalf("events %v", eventTypes(t, f.db, head))
	}
	for i, ev := range evs {
		if ev.PostID != p.ID || ev.ProjectID != p.ProjectID {
			t.Errorf("event %s: post %d project %d", ev.Type, ev.PostID, ev.ProjectID)
		}
		want := fmt.Sprintf(`{"attachment_id":%d,"name":"chart.png","type":"image/png","size":%d}`, a.ID, a.Size)
		if i == 1 {
			want = fmt.Sprintf(`{"attachment_id":%d,"name":"chart.png"}`, a.ID)
		}
		if string(ev.Data) != want {
			t.Errorf("%s data %s, want %s", ev.Type, ev.Data, want)
		}
	}
	if evs[0].ActorID != member.UserID || evs[1].ActorID != owner.UserID {
		t.Errorf("actors %d, %d", evs[0].ActorID, evs[1].ActorID)
	}
}

func TestAttachmentSniffing(t *testing.T) {
	img := pngBytes(t, 2, 2)
	zip := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 40)...)
	for _, tc := range []struct {
		name, file string
		data       []byte
		typ        string // "" when refused
		refusal    string // the kind the message names
	}{
		{"PNGNamedText", "notes.txt", img, "image/png", ""},
		{"JPEG", "photo.jpg", append([]byte("\xFF\xD8\xFF\xE0"), make([]byte, 20)...), "image/jpeg", ""},
		{"GIF", "anim.gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "image/gif", ""},
		{"WebP", "pic.webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), "image/webp", ""},
		{"PDF", "spec.pdf", []byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"), "application/pdf", ""},
		{"Text", "README", []byte("Just some text.\n"), "text/plain; charset=utf-8", ""},
		{"TextStartingWithLessThan", "math.txt", []byte("< 3 is less than three\n"), "text/plain; charset=utf-8", ""},
		{"ZipAndOffice", "plan.docx", zip, "application/zip", ""},
		{"Binary", "old.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), "application/octet-stream", ""},
		{"HTMLNamedPNG", "cat.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "", "HTML"},
		{"HTMLWithBOM", "page.txt", []byte("\uFEFF  <html><body>hi"), "", "HTML"},
		{"HTMLUnknownTag", "frag.txt", []byte("<span onmouseover=alert(1)>x</span>"), "", "HTML or XML"},
		{"XML", "data.xml", []byte(`<?xml version="1.0"?><root/>`), "", "XML"},
		{"SVGWithProlog", "logo.png", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "", "SVG"},
		{"SVG", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "", "SVG"},
		{"UTF16HTML", "page.txt", append([]byte{0xFF, 0xFE}, utf16le("<html><script>alert(1)</script>")...), "", "HTML"},
		{"UTF16Text", "notes.txt", append([]byte{0xFF, 0xFE}, utf16le("Hello")...), "text/plain; charset=utf-16le", ""},
		{"PostScript", "doc.ps", []byte("%!PS-Adobe-3.0\n"), "", "PostScript"},
		{"Font", "font.woff", []byte("wOFF\x00\x01\x00\x00"), "", "Font"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, err := sniffAttachment(tc.file, tc.data)
			if tc.typ != "" {
				if err != nil || typ != tc.typ {
					t.Fatalf("sniffed %q, %v; want %q", typ, err, tc.typ)
				}
				return
			}
			wantField(t, err, apperr.Invalid, "file")
			if msg := apperr.MessageOf(err); !strings.HasPrefix(msg, tc.refusal+" files cannot be attached") || !strings.Contains(msg, tc.file) {
				t.Errorf("message %q, want it to start with %q and name the file", msg, tc.refusal)
			}
		})
	}

	// Through the service: nothing of a refused file is stored.
	f := newFixture(t)
	f.project("apollo", access.Internal)
	_, err := f.s.AddAttachment(member, "apollo", 0, "cat.png", []byte("<html><script>alert(1)</script>"))
	wantField(t, err, apperr.Invalid, "file")
	a := f.attach(member, "apollo", 0, "cat.png", img)
	if a.ID != 1 {
		t.Errorf("the refused file took an ID: the next one is %d", a.ID)
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

func TestAttachmentNames(t *testing.T) {
	long := strings.Repeat("é", 200)
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\mia\Desktop\plan v2.docx`, "plan v2.docx"},
		{"evil\x00name\r\n.txt", "evilname .txt"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"}, // no right-to-left override
		{"tab\there  and\u00a0there.txt", "tab here and there.txt"},
		{"  spaced.txt  ", "spaced.txt"},
		{"", "file"},
		{"/", "file"},
		{"..", "file"},
		{"...", "file"},
		{"\xff\xfe", "file"},
		{long + ".png", strings.Repeat("é", MaxAttachmentNameRunes-4) + ".png"},
		{long, strings.Repeat("é", MaxAttachmentNameRunes)},
		{"x." + long, "x." + strings.Repeat("é", MaxAttachmentNameRunes-2)},
	} {
		if got := cleanAttachmentName(tc.in); got != tc.want {
			t.Errorf("cleanAttachmentName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAttachmentMarkdown(t *testing.T) {
	img := &Attachment{ID: 7, ProjectSlug: "apollo", Name: "chart [v2] (final).png", ContentType: "image/png"}
	if got, want := img.Markdown(), `![chart \[v2\] (final).png](/p/apollo/files/7/chart%20%5Bv2%5D%20%28final%29.png)`; got != want {
		t.Errorf("image Markdown %s, want %s", got, want)
	}
	doc := &Attachment{ID: 8, ProjectSlug: "apollo", Name: "notes_*draft*.pdf", ContentType: "application/pdf"}
	if got, want := doc.Markdown(), `[notes\_\*draft\*.pdf](/p/apollo/files/8/notes_%2Adraft%2A.pdf)`; got != want {
		t.Errorf("file Markdown %s, want %s", got, want)
	}
}

func TestAttachmentLinking(t *testing.T) {
	f := newFixture(t)
	f.project("apollo", access.Internal)
	f.project("gemini", access.Internal)
	img := pngBytes(t, 1, 1)

	mine := f.attach(member, "apollo", 0, "chart.png", img)
	theirs := f.attach(member2, "apollo", 0, "their.png", img)
	elsewhere := f.attach(member, "gemini", 0, "gemini.png", img)
	absolute := f.attach(member, "apollo", 0, "spec.pdf", []byte("%PDF-1.4\n"))
	other := f.post(member, "apollo", titled("Other"))
	taken := f.attach(member, "apollo", other.ID, "taken.png", img)

	// Before the post is saved, a pending file is its uploader's only.
	for _, a := range []access.Actor{member2, owner, viewer, anon} {
		if _, _, err := f.s.Attachment(a, mine.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("actor %d sees a pending file: %v", a.UserID, err)
		}
	}
	body := fmt.Sprintf("Look: %s\n\nTheirs: %s\n\nElsewhere: ![x](/p/apollo/files/%d/x.png)\n\nAnd %s, [spec](https://blog.example.com%s) and %s again.\n",
		mine.Markdown(), theirs.Markdown(), elsewhere.ID, taken.Markdown(), absolute.Path(), mine.Markdown())
	p := f.post(member, "apollo", PostInput{Title: "Charts", Body: body, Draft: true})

	list, err := f.s.Attachments(member, p.ID)
	must(t, err)
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "chart.png,spec.pdf" {
		t.Fatalf("linked %v, want the author's two files of this project", names)
	}
	// Now the file has the post's permissions: a draft, its editors only.
	for _, tc := range []struct {
		a    access.Actor
		sees bool
	}{{member, true}, {owner, true}, {admin, true}, {member2, false}, {viewer, false}, {outsider, false}, {anon, false}} {
		_, _, err := f.s.Attachment(tc.a, mine.ID)
		if tc.sees != (err == nil) || !tc.sees && !apperr.Is(err, apperr.NotFound) {
			t.Errorf("draft's file as %d: %v, want seen=%v", tc.a.UserID, err, tc.sees)
		}
	}
	// Untouched: someone else's pending file, another project's, another post's.
	for _, a := range []struct {
		a      *Attachment
		by     access.Actor
		postID uint64
	}{{theirs, member2, 0}, {elsewhere, member, 0}, {taken, member, other.ID}} {
		got, err := f.s.AttachmentInfo(a.by, a.a.ID)
		if err != nil || got.PostID != a.postID {
			t.Errorf("%s: %+v, %v; want post %d", a.a.Name, got, err, a.postID)
		}
	}

	// An owner editing the post links the files they uploaded themselves,
	// and the post's author's; member2's stays theirs.
	ownerFile := f.attach(owner, "apollo", 0, "owner.png", img)
	f.update(owner, p.ID, PostInput{Title: "Charts", Body: body + "\n" + ownerFile.Markdown() + "\n", Draft: false})
	if got, err := f.s.AttachmentInfo(owner, ownerFile.ID); err != nil || got.PostID != p.ID {
		t.Errorf("the owner's file after the owner's edit: %+v, %v", got, err)
	}
	if got, err := f.s.AttachmentInfo(member2, theirs.ID); err != nil || got.PostID != 0 {
		t.Errorf("member2's file after the owner's edit: %+v, %v", got, err)
	}
	// Published: every reader of the project sees the files.
	for _, a := range []access.Actor{member2, viewer, outsider} {
		if _, _, err := f.s.Attachment(a, mine.ID); err != nil {
			t.Errorf("published post's file as %d: %v", a.UserID, err)
		}
	}
	if _, _, err := f.s.Attachment(anon, mine.ID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("internal project's file, anonymous: %v", err)
	}
}

func TestAttachmentLinkingLimit(t *testing.T) {
	f := newFixture(t)
	f.project("apollo", access.Internal)
	p := f.post(member, "apollo", titled("Many"))
	for i := 1; i < MaxAttachmentsPerPost; i++ {
		f.attach(member, "apollo", p.ID, "f.txt", []byte("x"))
	}
	a := f.attach(member, "apollo", 0, "one.txt", []byte("x"))
	b := f.attach(member, "apollo", 0, "two.txt", []byte("x"))
	_, err := f.s.UpdatePost(member, p.ID, PostInput{Title: "Many", Body: a.Markdown() + " " + b.Markdown()})
	wantField(t, err, apperr.Invalid, "body")
	if got, _ := f.s.AttachmentInfo(member, a.ID); got.PostID != 0 {
		t.Error("a failed save linked a file")
	}
	if got, _, _ := f.s.Post(member, p.ID); got.Revision != 1 {
		t.Error("a failed save changed the post")
	}
}

func TestAttachmentAccess(t *testing.T) {
	f := newFixture(t)
	f.project("open", access.Public)
	f.project("inside", access.Internal)
	f.project("secret", access.Private)
	img := pngBytes(t, 1, 1)

	// Who sees a published post's file, by project visibility.
	want := map[string]map[access.Actor]bool{
		"open":   {anon: true, outsider: true, viewer: true, member2: true, owner: true, admin: true},
		"inside": {anon: false, outsider: true, viewer: true, member2: true, owner: true, admin: true},
		"secret": {anon: false, outsider: false, viewer: true, member2: true, owner: true, admin: true},
	}
	for slug, readers := range want {
		p := f.post(member, slug, titled("Published in %s", slug))
		a := f.attach(member, slug, p.ID, "pic.png", img)
		d := f.post(member, slug, PostInput{Title: "Draft in " + slug, Draft: true})
		da := f.attach(member, slug, d.ID, "draft.png", img)
		for reader, sees := range readers {
			_, _, err := f.s.Attachment(reader, a.ID)
			if sees != (err == nil) || !sees && !apperr.Is(err, apperr.NotFound) {
				t.Errorf("%s published, reader %d: %v, want seen=%v", slug, reader.UserID, err, sees)
			}
			// The draft's: its author, owners and admins only.
			seesDraft := reader == owner || reader == admin
			_, _, err = f.s.Attachment(reader, da.ID)
			if seesDraft != (err == nil) || !seesDraft && !apperr.Is(err, apperr.NotFound) {
				t.Errorf("%s draft, reader %d: %v, want seen=%v", slug, reader.UserID, err, seesDraft)
			}
		}
		if _, _, err := f.s.Attachment(member, da.ID); err != nil {
			t.Errorf("%s draft, its author: %v", slug, err)
		}
		// A deleted post's files: whoever sees the deleted post (its
		// author and the owners).
		must(t, f.s.DeletePost(member, p.ID))
		for _, tc := range []struct {
			a    access.Actor
			sees bool
		}{{member, true}, {owner, true}, {member2, false}, {viewer, false}, {anon, false}} {
			_, _, err := f.s.Attachment(tc.a, a.ID)
			if tc.sees != (err == nil) {
				t.Errorf("%s deleted post, reader %d: %v, want seen=%v", slug, tc.a.UserID, err, tc.sees)
			}
		}
		if _, err := f.s.Attachments(member2, p.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("%s: the deleted post's list for member2: %v", slug, err)
		}
	}
	if _, _, err := f.s.Attachment(admin, 999); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("missing file: %v", err)
	}

	// Uploading.
	p := f.post(member, "secret", titled("Mine"))
	other := f.post(member, "inside", titled("Elsewhere"))
	for _, tc := range []struct {
		name    string
		a       access.Actor
		project string
		postID  uint64
		code    apperr.Code
	}{
		{"Anonymous", anon, "open", 0, apperr.Unauthorized},
		{"OutsiderPrivate", outsider, "secret", 0, apperr.NotFound},
		{"OutsiderInternal", outsider, "inside", 0, apperr.Forbidden},
		{"Viewer", viewer, "secret", 0, apperr.Forbidden},
		{"SomeoneElsesPost", member2, "secret", p.ID, apperr.Forbidden},
		{"PostOfAnotherProject", member, "secret", other.ID, apperr.NotFound},
		{"MissingPost", member, "secret", 999, apperr.NotFound},
		{"MissingProject", member, "nope", 0, apperr.NotFound},
	} {
		t.Run("Upload"+tc.name, func(t *testing.T) {
			_, err := f.s.AddAttachment(tc.a, tc.project, tc.postID, "x.png", img)
			wantCode(t, err, tc.code)
		})
	}
	f.attach(owner, "secret", p.ID, "owners-may.png", img)
	must(t, f.s.DeletePost(member, p.ID))
	_, err := f.s.AddAttachment(member, "secret", p.ID, "x.png", img)
	wantCode(t, err, apperr.Conflict)
}

func TestAttachmentDelete(t *testing.T) {
	f := newFixture(t)
	f.project("apollo", access.Internal)
	img := pngBytes(t, 1, 1)
	p := f.post(member, "apollo", titled("Files"))

	a := f.attach(member, "apollo", p.ID, "a.png", img)
	// Those who may not: readers who may not edit the post.
	for _, tc := range []struct {
		a    access.Actor
		code apperr.Code
	}{{member2, apperr.Forbidden}, {viewer, apperr.Forbidden}, {outsider, apperr.Forbidden}, {anon, apperr.NotFound}} {
		wantCode(t, f.s.DeleteAttachment(tc.a, a.ID), tc.code)
	}
	must(t, f.s.DeleteAttachment(owner, a.ID))
	if _, _, err := f.s.Attachment(member, a.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("deleted file: %v", err)
	}
	if list, err := f.s.Attachments(member, p.ID); err != nil || len(list) != 0 {
		t.Fatalf("list after delete: %v, %v", list, err)
	}
	wantCode(t, f.s.DeleteAttachment(owner, a.ID), apperr.NotFound)

	// Its uploader may delete a file of someone else's post.
	b := f.attach(owner, "apollo", p.ID, "b.png", img)
	must(t, f.s.DeleteAttachment(owner, b.ID))
	c := f.attach(member, "apollo", p.ID, "c.png", img)
	must(t, f.s.DeleteAttachment(member, c.ID)) // the author, who is the uploader

	// A pending file: its uploader only (others do not see it).
	d := f.attach(member2, "apollo", 0, "d.png", img)
	wantCode(t, f.s.DeleteAttachment(owner, d.ID), apperr.NotFound)
	must(t, f.s.DeleteAttachment(member2, d.ID))

	// Nothing of the deleted files' bytes is left.
	must(t, f.db.Bolt().View(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bAttachments, bAttachmentData, bPostAttachments, bPendingAttachments} {
			if k, _ := tx.Bucket(b).Cursor().First(); k != nil {
				t.Errorf("bucket %s keeps %x", b, k)
			}
		}
		return nil
	}))

	// Archived: read-only for everyone.
	e := f.attach(member, "apollo", p.ID, "e.png", img)
	must(t, f.s.SetArchived(owner, "apollo", true))
	wantCode(t, f.s.DeleteAttachment(owner, e.ID), apperr.Forbidden)
	wantCode(t, f.s.DeleteAttachment(member, e.ID), apperr.Forbidden)
	_, err := f.s.AddAttachment(member, "apollo", p.ID, "f.png", img)
	wantCode(t, err, apperr.Forbidden)
	if _, _, err := f.s.Attachment(viewer, e.ID); err != nil {
		t.Errorf("archived project's file: %v", err)
	}
}
