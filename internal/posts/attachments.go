package posts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
	"projblog/internal/store"
)

// Attachments.
//
// A file is uploaded into a project, either for a post (postID != 0: it is
// linked to the post at once) or from the editor of a post that is not
// saved yet (postID 0: "pending"). A pending file is linked to the post
// whose body first links to it (its URL, AttachmentPath, in the body) when
// that post is saved, provided it was uploaded in the same project by the
// post's author or by whoever saves it (afterPostWrite). A link to a file
// of another post does not move it.
//
// Access is exactly the post's: whoever may see the post (a published post
// every reader of its project; a draft or a deleted post only those who may
// edit it) may see its files, and to everyone else a file is NotFound, like
// a missing one. A pending file is seen by its uploader (and admins) only.
// Uploading needs access.Post in the project and, for a post, the right to
// edit it. A file is deleted (for good: there is no trash) by its uploader
// while they may still write in the project, or by whoever may edit its
// post (MayDeleteAttachment).
//
// The content type is never the client's: it is sniffed from the first
// 512 bytes with http.DetectContentType and must be on an allow-list:
//
//   - shown inline (AttachmentImage): image/png, image/jpeg, image/gif,
//     image/webp;
//   - offered as downloads: application/pdf, text/plain (UTF-8 or UTF-16),
//     application/zip (also .docx, .xlsx, .pptx, .odt, ... which are zip
//     files), application/x-gzip, application/x-rar-compressed, image/bmp,
//     image/x-icon, audio (audio/mpeg, audio/wave, audio/aiff, audio/basic,
//     audio/midi, application/ogg), video (video/mp4, video/webm,
//     video/avi), and application/octet-stream, which is what any
//     unrecognised binary file (.doc, .xls, .7z, ...) sniffs as.
//
// Everything else is refused with apperr.Invalid (Field "file") naming the
// kind of file: HTML, XML, SVG (and any text that starts with markup, which
// a browser might render), PostScript, WebAssembly and fonts. A file over
// MaxAttachmentBytes is apperr.TooLarge; an empty one Invalid.
//
// The name is the client's file name, sanitised (cleanAttachmentName):
// its base name only, without control or formatting characters, at most
// MaxAttachmentNameRunes runes (the extension kept), "file" when nothing
// is left. It is part of the URL, /p/{project}/files/{id}/{name}, so links
// read well; the ID alone identifies the file.
//
// Limits: MaxAttachmentsPerPost files per post (an upload or a save that
// would link more is Invalid); MaxPendingAttachments pending files per
// uploader (Invalid beyond; the uploader's pending files older than
// PendingAttachmentTTL are deleted when they upload the next one).
//
// Events (PostID is the post; files in no post yet append none, since
// nobody else sees them, and linking on save is part of the post's own
// event). They move the log's head, so a page cached for it (the post
// with its list of files, a file itself) is built again:
//
//	attachment.added    {"attachment_id","name","type","size"}
//	attachment.deleted  {"attachment_id","name"}
//
// Storage (the bytes live in the one bbolt file, so a backup is one
// consistent copy of posts and their files; a deleted file's pages are
// reused, the file does not shrink):
//
//	posts.attachments          Key(attID) -> attachmentRec (JSON)
//	posts.attachment_data      Key(attID)+Key(n) -> chunk n of the bytes,
//	                           attachmentChunk (256 KiB) each but the last
//	posts.post_attachments     Key(postID)+Key(attID) -> "" (linked files)
//	posts.pending_attachments  Key(uploaderID)+Key(attID) -> Key(CreatedAt
//	                           as Unix nanoseconds) (files in no post yet)

// The limits of attachments.
const (
	// MaxAttachmentBytes is the largest file, 10 MiB.
	MaxAttachmentBytes = 10 << 20
	// MaxAttachmentsPerPost is the most files one post may have.
	MaxAttachmentsPerPost = 50
	// MaxPendingAttachments is the most files one person may have uploaded
	// that are in no post yet.
	MaxPendingAttachments = 50
	// MaxAttachmentNameRunes is the longest file name kept.
	MaxAttachmentNameRunes = 120
	// PendingAttachmentTTL is how long a file uploaded into no post is
	// kept; older ones go when their uploader uploads the next file.
	PendingAttachmentTTL = 7 * 24 * time.Hour
)

// attachmentChunk is the size of the pieces the bytes are stored in, so
// that bbolt never needs 10 MiB of contiguous free pages.
const attachmentChunk = 256 << 10

// Attachment is a file uploaded into a project, for a post.
type Attachment struct {
	ID          uint64
	ProjectID   uint64
	ProjectSlug string // the project's slug, as read with the attachment
	// PostID is the post the file belongs to; 0 while it is pending (in no
	// post yet).
	PostID      uint64
	UploaderID  uint64
	Name        string // sanitised file name
	ContentType string // sniffed, never the client's; on the allow-list
	Size        int64
	SHA256      string // hex
	CreatedAt   time.Time
}

// Image reports whether the file is a raster image that a page may show
// inline (PNG, JPEG, GIF or WebP).
func (a *Attachment) Image() bool { return AttachmentImage(a.ContentType) }

// Path is the file's address on the site (AttachmentPath).
func (a *Attachment) Path() string { return AttachmentPath(a.ProjectSlug, a.ID, a.Name) }

// Markdown is what puts the file in a post: an image for an image, a link
// for anything else, with the name as the text and Path as the URL.
func (a *Attachment) Markdown() string {
	text := markdown.EscapeText(a.Name)
	if a.Image() {
		return "![" + text + "](" + a.Path() + ")"
	}
	return "[" + text + "](" + a.Path() + ")"
}

// AttachmentPath is the address of a file: /p/{project}/files/{id}/{name},
// the name path-escaped. The name is there for people and for the
// downloaded file's name; the ID alone identifies the file.
func AttachmentPath(projectSlug string, id uint64, name string) string {
	return "/p/" + projectSlug + "/files/" + strconv.FormatUint(id, 10) + "/" + url.PathEscape(name)
}

// attachmentRef finds the files a post's body links to, absolute URLs
// included: group 1 is the project's slug, group 2 the file's ID.
var attachmentRef = regexp.MustCompile(`/p/([a-z0-9-]+)/files/([0-9]{1,19})/`)

// AttachmentImage reports whether a sniffed content type is a raster
// image shown inline.
func AttachmentImage(contentType string) bool {
	switch contentType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// downloadTypes are the other sniffed types that may be attached; they are
// served as downloads.
var downloadTypes = map[string]bool{
	"application/pdf":              true,
	"text/plain; charset=utf-8":    true,
	"text/plain; charset=utf-16be": true,
	"text/plain; charset=utf-16le": true,
	"application/zip":              true,
	"application/x-gzip":           true,
	"application/x-rar-compressed": true,
	"image/bmp":                    true,
	"image/x-icon":                 true,
	"audio/mpeg":                   true,
	"audio/wave":                   true,
	"audio/aiff":                   true,
	"audio/basic":                  true,
	"audio/midi":                   true,
	"application/ogg":              true,
	"video/mp4":                    true,
	"video/webm":                   true,
	"video/avi":                    true,
	"application/octet-stream":     true,
}

// refusedKinds names the recognised types that may not be attached.
var refusedKinds = map[string]string{
	"text/html; charset=utf-8":      "HTML",
	"text/xml; charset=utf-8":       "XML",
	"application/postscript":        "PostScript",
	"application/wasm":              "WebAssembly",
	"font/ttf":                      "Font",
	"font/otf":                      "Font",
	"font/collection":               "Font",
	"font/woff":                     "Font",
	"font/woff2":                    "Font",
	"application/vnd.ms-fontobject": "Font",
}

// sniffAttachment returns the content type of data as http.DetectContentType
// sees it, or an Invalid error when that type may not be attached.
func sniffAttachment(name string, data []byte) (string, error) {
	typ := http.DetectContentType(data)
	if AttachmentImage(typ) {
		return typ, nil
	}
	kind := refusedKinds[typ]
	if strings.HasPrefix(typ, "text/") && typ != "text/html; charset=utf-8" {
		// DetectContentType calls "<svg ...>", "<span>..." or a page
		// that starts with a tag it does not know text: whatever starts
		// with markup is refused, for a browser might render it.
		head := textHead(typ, data)
		switch {
		case (kind != "" || isMarkup(head)) && strings.Contains(strings.ToLower(head), "<svg"):
			kind = "SVG"
		case kind == "" && isMarkup(head):
			kind = "HTML or XML"
			if k := refusedKinds[http.DetectContentType([]byte(head))]; k != "" {
				kind = k // after a byte-order mark, or in UTF-16
			}
		}
	}
	if kind == "" && !downloadTypes[typ] {
		kind = strings.SplitN(typ, ";", 2)[0]
	}
	if kind != "" {
		return "", &apperr.Error{Code: apperr.Invalid, Field: "file", Message: fmt.Sprintf(
			"%s files cannot be attached (“%s” is one): a browser could run what is in them. Attach a PDF or a screenshot instead, or put the file in a .zip.",
			kind, name)}
	}
	return typ, nil
}

// textHead is the start of a text file (up to 1024 bytes of it), decoded
// from UTF-16 when the type says so, without a byte-order mark.
func textHead(typ string, data []byte) string {
	if len(data) > 1024 {
		data = data[:1024]
	}
	var order func([]byte) uint16
	switch typ {
	case "text/plain; charset=utf-16be":
		order = func(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
	case "text/plain; charset=utf-16le":
		order = func(b []byte) uint16 { return uint16(b[1])<<8 | uint16(b[0]) }
	default:
		return strings.TrimPrefix(string(data), "\uFEFF")
	}
	units := make([]uint16, 0, len(data)/2)
	for i := 2; i+1 < len(data); i += 2 { // from 2: the byte-order mark
		units = append(units, order(data[i:i+2]))
	}
	return string(utf16.Decode(units))
}

// isMarkup reports whether text starts, after white space, with what a
// browser would read as a tag, a comment or a declaration.
func isMarkup(text string) bool {
	text = strings.TrimLeftFunc(text, unicode.IsSpace)
	if len(text) < 2 || text[0] != '<' {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[1:])
	return r == '!' || r == '?' || r == '/' || unicode.IsLetter(r)
}

// cleanAttachmentName makes a client's file name safe to keep and to show:
// the base name (after the last / or \), valid UTF-8 without control or
// formatting characters (no bidi overrides), each run of white space one
// space, trimmed of spaces and dots at either end, at most MaxAttachmentNameRunes runes with its extension kept;
// "file" when nothing is left.
func cleanAttachmentName(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(strings.Join(strings.Fields(name), " "), " .")
	if utf8.RuneCountInString(name) > MaxAttachmentNameRunes {
		ext := path.Ext(name)
		if utf8.RuneCountInString(ext) > 16 {
			ext = ""
		}
		stem := []rune(strings.TrimSuffix(name, ext))
		stem = stem[:MaxAttachmentNameRunes-utf8.RuneCountInString(ext)]
		name = strings.TrimRight(string(stem), " .") + ext
	}
	if name == "" || strings.Trim(name, ".") == "" {
		return "file"
	}
	return name
}

// humanBytes writes n for a message: "512 bytes", "340 KiB", "1.2 MiB",
// "10 MiB". It rounds up, so that a file just over a limit does not read
// as the limit.
func humanBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", math.Ceil(float64(n)/(1<<10)))
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", math.Ceil(float64(n)/(1<<20)*10)/10), ".0") + " MiB"
}

// attachmentEvent is the Data of the attachment.* events.
type attachmentEvent struct {
	AttachmentID uint64 `json:"attachment_id"`
	Name         string `json:"name"`
	Type         string `json:"type,omitempty"`
	Size         int64  `json:"size,omitempty"`
}

// attachmentRec is the stored form of an Attachment (without the bytes).
type attachmentRec struct {
	ID          uint64    `json:"id"`
	ProjectID   uint64    `json:"project_id"`
	PostID      uint64    `json:"post_id,omitempty"`
	UploaderID  uint64    `json:"uploader_id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

func (r *attachmentRec) attachment(projectSlug string) *Attachment {
	return &Attachment{
		ID: r.ID, ProjectID: r.ProjectID, ProjectSlug: projectSlug, PostID: r.PostID, UploaderID: r.UploaderID,
		Name: r.Name, ContentType: r.ContentType, Size: r.Size, SHA256: r.SHA256, CreatedAt: r.CreatedAt,
	}
}

func getAttachment(tx *bbolt.Tx, id uint64) (*attachmentRec, error) {
	var r attachmentRec
	ok, err := getJSON(tx.Bucket(bAttachments), store.Key(id), &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

func errNoAttachment() error { return apperr.New(apperr.NotFound, "No such file.") }

// pendingKey and postAttachmentKey are r's index key while pending and
// once linked.
func pendingKey(r *attachmentRec) []byte { return cat(store.Key(r.UploaderID), store.Key(r.ID)) }
func postAttachmentKey(r *attachmentRec) []byte {
	return cat(store.Key(r.PostID), store.Key(r.ID))
}

// countPrefix counts the keys of b that start with prefix.
func countPrefix(b *bbolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

func errTooManyAttachments(field string) error {
	return apperr.FieldErr(field, "A post may have at most %d files attached; delete some of its files first.", MaxAttachmentsPerPost)
}

// loadAttachment loads a file the actor may see, with its project and its
// post (nil while pending); NotFound otherwise, whatever the reason.
func loadAttachment(tx *bbolt.Tx, actor access.Actor, id uint64) (*attachmentRec, *scope, *postRec, error) {
	r, err := getAttachment(tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	if r == nil {
		return nil, nil, nil, errNoAttachment()
	}
	if r.PostID != 0 {
		p, sc, err := loadPost(tx, actor, r.PostID)
		if apperr.Is(err, apperr.NotFound) {
			return nil, nil, nil, errNoAttachment()
		}
		if err != nil {
			return nil, nil, nil, err
		}
		return r, sc, p, nil
	}
	if !actor.Admin && (!actor.LoggedIn() || actor.UserID != r.UploaderID) {
		return nil, nil, nil, errNoAttachment()
	}
	sc, err := scopeByID(tx, actor, r.ProjectID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil, nil, errNoAttachment()
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return r, sc, nil, nil
}

// MayDeleteAttachment reports whether the actor may delete a file of a
// post by postAuthorID in a project the actor sees as sub: whoever may
// edit the post, or the file's uploader while they may write in the
// project. For a pending file (postAuthorID unused) the uploader or an
// admin, while the project is not archived.
func MayDeleteAttachment(actor access.Actor, sub access.Subject, postAuthorID uint64, a *Attachment) bool {
	uploader := actor.LoggedIn() && actor.UserID == a.UploaderID
	if a.PostID == 0 {
		return (uploader || actor.Admin) && !sub.Archived && access.CanRead(actor, sub)
	}
	return access.Can(actor, sub, editAction(actor, postAuthorID)) || uploader && access.Can(actor, sub, access.Post)
}

// AddAttachment stores a file uploaded by the actor into the project,
// linked to the post postID, or pending (postID 0) until a post that links
// to it is saved. name is the client's file name (sanitised here); the
// content type is sniffed from data. It needs access.Post in the project,
// and for a post the right to edit it.
//
// Errors: TooLarge (Field "file") over MaxAttachmentBytes; Invalid (Field
// "file") for an empty file or a refused type, naming it; NotFound for a
// project or post the actor may not see (or a post of another project);
// Unauthorized, or Forbidden (a viewer, someone else's post, an archived
// project); Conflict for a post in the trash; Invalid when the post has
// MaxAttachmentsPerPost files, or the actor MaxPendingAttachments pending
// ones. Event: attachment.added, for a file of a post.
func (s *Service) AddAttachment(actor access.Actor, projectSlug string, postID uint64, name string, data []byte) (*Attachment, error) {
	name = cleanAttachmentName(name)
	if len(data) > MaxAttachmentBytes {
		return nil, &apperr.Error{Code: apperr.TooLarge, Field: "file", Message: fmt.Sprintf(
			"“%s” is too large (%s): a file may be at most %s.", name, humanBytes(int64(len(data))), humanBytes(MaxAttachmentBytes))}
	}
	if len(data) == 0 {
		return nil, apperr.FieldErr("file", "“%s” is empty.", name)
	}
	typ, err := sniffAttachment(name, data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	now := s.clock()
	var out *Attachment
	err = s.update(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.Post, "You may not attach files in this project."); err != nil {
			return err
		}
		if postID != 0 {
			p, _, err := loadPost(tx, actor, postID)
			if err != nil {
				return err
			}
			if p.ProjectID != sc.proj.ID {
				return errNoPost()
			}
			if err := checkEdit(actor, sc, p); err != nil {
				return err
			}
			if !p.DeletedAt.IsZero() {
				return errTrashed()
			}
			if countPrefix(tx.Bucket(bPostAttachments), store.Key(postID)) >= MaxAttachmentsPerPost {
				return errTooManyAttachments("file")
			}
		} else {
			n, err := s.prunePending(tx, actor.UserID, now)
			if err != nil {
				return err
			}
			if n >= MaxPendingAttachments {
				return apperr.FieldErr("file", "You have %d uploaded files that are in no post yet, the most there may be: save the post they are for first.", n)
			}
		}
		id, err := tx.Bucket(bAttachments).NextSequence()
		if err != nil {
			return apperr.Wrap(err, "attachment sequence")
		}
		r := &attachmentRec{
			ID: id, ProjectID: sc.proj.ID, PostID: postID, UploaderID: actor.UserID,
			Name: name, ContentType: typ, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), CreatedAt: now,
		}
		if err := putJSON(tx.Bucket(bAttachments), store.Key(id), r); err != nil {
			return err
		}
		bd := tx.Bucket(bAttachmentData)
		for n := 0; n*attachmentChunk < len(data); n++ {
			chunk := data[n*attachmentChunk : min((n+1)*attachmentChunk, len(data))]
			if err := bd.Put(cat(store.Key(id), store.Key(uint64(n))), chunk); err != nil {
				return apperr.Wrap(err, "store attachment %d", id)
			}
		}
		if postID != 0 {
			err = tx.Bucket(bPostAttachments).Put(postAttachmentKey(r), nil)
		} else {
			err = tx.Bucket(bPendingAttachments).Put(pendingKey(r), store.Key(uint64(now.UnixNano())))
		}
		if err != nil {
			return apperr.Wrap(err, "index attachment %d", id)
		}
		if postID != 0 {
			ev := attachmentEvent{AttachmentID: id, Name: name, Type: typ, Size: r.Size}
			if err := s.emit(tx, "attachment.added", actor, now, sc.proj.ID, postID, ev); err != nil {
				return err
			}
		}
		out = r.attachment(sc.proj.Slug)
		return nil
	})
	return out, err
}

// prunePending deletes the user's pending files older than
// PendingAttachmentTTL and returns how many remain.
func (s *Service) prunePending(tx *bbolt.Tx, uid uint64, now time.Time) (int, error) {
	prefix := store.Key(uid)
	cutoff := uint64(now.Add(-PendingAttachmentTTL).UnixNano())
	var stale []uint64
	n := 0
	c := tx.Bucket(bPendingAttachments).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if store.U64(v) < cutoff {
			stale = append(stale, store.U64(k[8:]))
		} else {
			n++
		}
	}
	for _, id := range stale {
		r, err := getAttachment(tx, id)
		if err != nil {
			return 0, err
		}
		if r != nil {
			if err := deleteAttachment(tx, r); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// deleteAttachment removes a file's record, bytes and index entry.
func deleteAttachment(tx *bbolt.Tx, r *attachmentRec) error {
	if err := tx.Bucket(bAttachments).Delete(store.Key(r.ID)); err != nil {
		return apperr.Wrap(err, "delete attachment %d", r.ID)
	}
	prefix := store.Key(r.ID)
	c := tx.Bucket(bAttachmentData).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return apperr.Wrap(err, "delete attachment %d data", r.ID)
		}
	}
	var err error
	if r.PostID != 0 {
		err = tx.Bucket(bPostAttachments).Delete(postAttachmentKey(r))
	} else {
		err = tx.Bucket(bPendingAttachments).Delete(pendingKey(r))
	}
	if err != nil {
		return apperr.Wrap(err, "unindex attachment %d", r.ID)
	}
	return nil
}

// AttachmentInfo returns a file's description, without its bytes, when the
// actor may see it (see Attachment).
func (s *Service) AttachmentInfo(actor access.Actor, id uint64) (*Attachment, error) {
	var out *Attachment
	err := s.view(func(tx *bbolt.Tx) error {
		r, sc, _, err := loadAttachment(tx, actor, id)
		if err != nil {
			return err
		}
		out = r.attachment(sc.proj.Slug)
		return nil
	})
	return out, err
}

// Attachment returns a file and its bytes, with exactly the permissions of
// its post: NotFound unless the actor may see the post (a published post:
// every reader of the project; a draft or a deleted post: whoever may edit
// it); a pending file is seen by its uploader and admins only. NotFound
// too for a missing file.
func (s *Service) Attachment(actor access.Actor, id uint64) (*Attachment, []byte, error) {
	var (
		out  *Attachment
		data []byte
	)
	err := s.view(func(tx *bbolt.Tx) error {
		r, sc, _, err := loadAttachment(tx, actor, id)
		if err != nil {
			return err
		}
		out = r.attachment(sc.proj.Slug)
		data = make([]byte, 0, r.Size)
		prefix := store.Key(id)
		c := tx.Bucket(bAttachmentData).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			data = append(data, v...) // copies out of bbolt's memory
		}
		if int64(len(data)) != r.Size {
			return apperr.Wrap(fmt.Errorf("%d bytes stored, %d recorded", len(data), r.Size), "read attachment %d", id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, data, nil
}

// Attachments lists the files of a post the actor may see, oldest first.
// NotFound as for Post.
func (s *Service) Attachments(actor access.Actor, postID uint64) ([]*Attachment, error) {
	var out []*Attachment
	err := s.view(func(tx *bbolt.Tx) error {
		_, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		prefix := store.Key(postID)
		c := tx.Bucket(bPostAttachments).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			r, err := getAttachment(tx, store.U64(k[8:]))
			if err != nil {
				return err
			}
			if r != nil {
				out = append(out, r.attachment(sc.proj.Slug))
			}
		}
		return nil
	})
	return out, err
}

// DeleteAttachment deletes a file and its bytes for good; links to it
// break. Allowed as MayDeleteAttachment says. Errors: NotFound when the
// actor may not see the file; Unauthorized or Forbidden (not theirs to
// delete, an archived project). Event: attachment.deleted, for a file of
// a post.
func (s *Service) DeleteAttachment(actor access.Actor, id uint64) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		r, sc, p, err := loadAttachment(tx, actor, id)
		if err != nil {
			return err
		}
		var author uint64
		if p != nil {
			author = p.AuthorID
		}
		if !MayDeleteAttachment(actor, sc.subject(), author, r.attachment(sc.proj.Slug)) {
			if err := check(actor, sc, access.Post, "You may only delete files of posts you may edit."); err != nil {
				return err
			}
			return apperr.New(apperr.Forbidden, "You may only delete files of posts you may edit.")
		}
		if err := deleteAttachment(tx, r); err != nil {
			return err
		}
		if r.PostID == 0 {
			return nil
		}
		return s.emit(tx, "attachment.deleted", actor, now, r.ProjectID, r.PostID, attachmentEvent{AttachmentID: r.ID, Name: r.Name})
	})
}

// attachmentsAfterPostWrite links to p the pending files its body links
// to: files of p's project uploaded by p's author or by the actor saving
// it. It runs in the post's write transaction (hooks.go); a body that did
// not change links nothing new. Linking more than MaxAttachmentsPerPost
// files to the post is Invalid (Field "body"), and the save fails.
func (s *Service) attachmentsAfterPostWrite(tx *bbolt.Tx, actor access.Actor, sc *scope, old, p *postRec) error {
	if old != nil && old.Body == p.Body {
		return nil
	}
	return linkPending(tx, actor, sc, p, p.Body, p.AuthorID)
}

// linkPending joins to post p the pending files that body (p's or one of
// its comments', written by authorID) links to, when authorID or the actor
// uploaded them; see attachmentsAfterPostWrite. A comment's files are its
// post's, so mail replies and imported threads keep theirs.
func linkPending(tx *bbolt.Tx, actor access.Actor, sc *scope, p *postRec, body string, authorID uint64) error {
	var count = -1
	seen := map[uint64]bool{}
	for _, m := range attachmentRef.FindAllStringSubmatch(body, -1) {
		id, err := strconv.ParseUint(m[2], 10, 64)
		if err != nil || m[1] != sc.proj.Slug || seen[id] {
			continue
		}
		seen[id] = true
		r, err := getAttachment(tx, id)
		if err != nil {
			return err
		}
		if r == nil || r.PostID != 0 || r.ProjectID != p.ProjectID || (r.UploaderID != authorID && r.UploaderID != actor.UserID) {
			continue
		}
		if count < 0 {
			count = countPrefix(tx.Bucket(bPostAttachments), store.Key(p.ID))
		}
		if count >= MaxAttachmentsPerPost {
			return errTooManyAttachments("body")
		}
		if err := tx.Bucket(bPendingAttachments).Delete(pendingKey(r)); err != nil {
			return apperr.Wrap(err, "unindex pending attachment %d", id)
		}
		r.PostID = p.ID
		if err := putJSON(tx.Bucket(bAttachments), store.Key(id), r); err != nil {
			return err
		}
		if err := tx.Bucket(bPostAttachments).Put(postAttachmentKey(r), nil); err != nil {
			return apperr.Wrap(err, "index attachment %d", id)
		}
		count++
	}
	return nil
}
