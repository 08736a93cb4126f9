package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"projblog/internal/apperr"
	"projblog/internal/posts"
)

// Attachments: uploads from the editor (and the API), downloads, and the
// list under a post. The posts package decides everything about a file —
// its sniffed type, its limits and who may see it (exactly who may see its
// post); these handlers parse the request and answer.
//
// A file is served with the type it was sniffed as, never the client's,
// and with headers that keep a browser from reading it as anything else
// or running anything in it: X-Content-Type-Options: nosniff, a sandboxing
// Content-Security-Policy (attachmentCSP), and Content-Disposition inline
// for raster images only (attachment, a download, for everything else).
// Access can change (a post unpublished, a member removed), so the answer
// is Cache-Control: private, no-cache: a browser keeps it but asks again
// each time, and a conditional request (If-None-Match on the ETag, the
// file's SHA-256) costs a permission check and a 304.

// uploadBodyLimit is the largest request body of an upload: one file of
// posts.MaxAttachmentBytes and the multipart framing around it.
const uploadBodyLimit = posts.MaxAttachmentBytes + 64<<10

// attachmentCSP forbids everything to a served file: no script, no
// frames, no plugins, only its own images and inline styles (a browser's
// own image viewer page uses them), in a sandbox.
const attachmentCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

// uploadRoutes are the routes whose bodies carry a file.
var uploadRoutes = map[string]bool{
	"/p/:project/attachments":       true,
	"/api/v1/posts/:id/attachments": true,
}

// bodyLimit caps every request body at 2 MiB, except on the upload routes,
// which get uploadBodyLimit. A body over the limit is answered 413 with a
// message that names the limit.
func bodyLimit() echo.MiddlewareFunc {
	site := middleware.BodyLimit("2M")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		limited := site(next)
		return func(c echo.Context) error {
			if !uploadRoutes[c.Path()] {
				return limited(c)
			}
			req := c.Request()
			if req.ContentLength > uploadBodyLimit {
				return errUploadTooLarge()
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, uploadBodyLimit)
			return next(c)
		}
	}
}

func errUploadTooLarge() error {
	return &apperr.Error{Code: apperr.TooLarge, Field: "file",
		Message: fmt.Sprintf("The file is too large: a file may be at most %d MiB.", posts.MaxAttachmentBytes>>20)}
}

func (s *Server) registerAttachmentRoutes(e *echo.Echo) {
	e.POST("/p/:project/attachments", s.uploadAttachment, s.requireLogin)
	e.GET("/p/:project/files/:id/:name", s.serveAttachment)
	e.POST("/p/:project/files/:id/delete", s.deleteAttachment, s.requireLogin)
}

// attachmentJSON is a file as the upload answers it, on the site and in
// the API.
type attachmentJSON struct {
	ID     uint64 `json:"id"`
	PostID uint64 `json:"post_id"` // 0 until a post that links to it is saved
	// URL is the file's address: a path on the site (what the editor
	// inserts), a full URL in the API.
	URL       string   `json:"url"`
	Name      string   `json:"name"`
	Size      int64    `json:"size"`
	Type      string   `json:"type"`  // the sniffed content type
	Image     bool     `json:"image"` // shown inline
	SHA256    string   `json:"sha256"`
	Markdown  string   `json:"markdown"` // what puts it in a post: ![name](path) or [name](path)
	CreatedAt *apiTime `json:"created_at"`
}

func attachmentJSONOf(a *posts.Attachment, url string) attachmentJSON {
	return attachmentJSON{ID: a.ID, PostID: a.PostID, URL: url, Name: a.Name, Size: a.Size, Type: a.ContentType,
		Image: a.Image(), SHA256: a.SHA256, Markdown: a.Markdown(), CreatedAt: utc(a.CreatedAt)}
}

// readUpload reads the multipart field "file" of the request: the client's
// file name and the bytes (at most one more than the limit, so that the
// posts package sees a file that is too large as such).
func readUpload(c echo.Context) (string, []byte, error) {
	fh, err := c.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return "", nil, errUploadTooLarge()
		case errors.Is(err, http.ErrMissingFile), errors.Is(err, http.ErrNotMultipart):
			return "", nil, apperr.FieldErr("file", "Send the file as multipart/form-data in the field “file”.")
		}
		return "", nil, apperr.FieldErr("file", "The upload could not be read (%v); please try again.", err)
	}
	data, err := readFileHeader(fh)
	if err != nil {
		return "", nil, apperr.Wrap(err, "read upload")
	}
	return fh.Filename, data, nil
}

func readFileHeader(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, posts.MaxAttachmentBytes+1))
}

// uploadAttachment stores one file sent from the editor (field "file";
// "post", the ID of the post being edited, when there is one) and answers
// 201 with its JSON, whose markdown the editor inserts. Errors are the
// site's: JSON for a client that asks for it, as the editor does.
func (s *Server) uploadAttachment(c echo.Context) error {
	name, data, err := readUpload(c) // first: it tells a body over the limit from a bad form
	if err != nil {
		return err
	}
	var postID uint64
	if v := c.FormValue("post"); v != "" {
		if postID, err = strconv.ParseUint(v, 10, 64); err != nil {
			return apperr.New(apperr.NotFound, "No such post.")
		}
	}
	a, err := s.posts.AddAttachment(actor(c), c.Param("project"), postID, name, data)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", a.Path())
	c.Response().Header().Set("Cache-Control", "no-store")
	return apiJSON(c, http.StatusCreated, attachmentJSONOf(a, a.Path()))
}

// apiAddAttachment is POST /api/v1/posts/:id/attachments: one file, in the
// multipart field "file", attached to the post at once.
func (s *Server) apiAddAttachment(c echo.Context) error {
	id, err := apiID(c, "No such post.")
	if err != nil {
		return err
	}
	a := actor(c)
	_, pv, err := s.posts.Post(a, id)
	if err != nil {
		return err
	}
	name, data, err := readUpload(c)
	if err != nil {
		return err
	}
	att, err := s.posts.AddAttachment(a, pv.Slug, id, name, data)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", s.opts.BaseURL+att.Path())
	return apiJSON(c, http.StatusCreated, attachmentJSONOf(att, s.opts.BaseURL+att.Path()))
}

func errNoFile() error { return apperr.New(apperr.NotFound, "No such file.") }

// serveAttachment answers GET /p/:project/files/:id/:name with the file,
// when the reader may see its post. A wrong project or name in the URL
// redirects to the right one (after the permission check, so that the
// redirect tells nothing to whoever may not see the file).
func (s *Server) serveAttachment(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return errNoFile()
	}
	reader := actor(c)
	info, err := s.posts.AttachmentInfo(reader, id)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "private, no-cache")
	if c.Param("project") != info.ProjectSlug || !sameName(c.Param("name"), info.Name) {
		return c.Redirect(http.StatusMovedPermanently, info.Path())
	}
	etag := `"` + info.SHA256 + `"`
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", attachmentCSP)
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	info, data, err := s.posts.Attachment(reader, id)
	if err != nil {
		return err
	}
	h.Set("Content-Disposition", contentDisposition(info))
	return c.Blob(http.StatusOK, info.ContentType, data)
}

// sameName reports whether the :name of a URL names the file: as it is
// (echo hands over the decoded path), or still escaped.
func sameName(param, name string) bool {
	if param == name {
		return true
	}
	u, err := url.PathUnescape(param)
	return err == nil && u == name
}

// etagMatches reports whether an If-None-Match header names etag (or is
// "*"); weak validators match too (RFC 9110, 13.1.2).
func etagMatches(header, etag string) bool {
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}

// contentDisposition is "inline" for a raster image and "attachment" (a
// download) for anything else, with the file's name: as filename= when it
// is plain ASCII, else as filename*= (RFC 5987, UTF-8) after an ASCII
// filename= for old clients.
func contentDisposition(a *posts.Attachment) string {
	kind := "attachment"
	if a.Image() {
		kind = "inline"
	}
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, a.Name)
	out := mime.FormatMediaType(kind, map[string]string{"filename": ascii})
	if out == "" {
		return kind
	}
	if ascii != a.Name {
		// FormatMediaType writes a non-ASCII value as filename*=utf-8''...
		if ext := mime.FormatMediaType(kind, map[string]string{"filename": a.Name}); ext != "" {
			out += strings.TrimPrefix(ext, kind)
		}
	}
	return out
}

// deleteAttachment deletes a file (a form on the post page) and goes back
// to its post.
func (s *Server) deleteAttachment(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return errNoFile()
	}
	a := actor(c)
	info, err := s.posts.AttachmentInfo(a, id)
	if err != nil {
		return err
	}
	if info.ProjectSlug != c.Param("project") {
		return errNoFile()
	}
	back := "/p/" + info.ProjectSlug
	if info.PostID != 0 {
		if p, pv, err := s.posts.Post(a, info.PostID); err == nil {
			back = postURL(pv.Slug, p) + "#files"
		}
	}
	if err := s.posts.DeleteAttachment(a, id); err != nil {
		return err
	}
	return s.redirectFlash(c, back, "attach_deleted")
}

// fileItem is a file in the list under a post.
type fileItem struct {
	*posts.Attachment
	CanDelete bool
}

// postFiles puts on the post page the files its text does not show: the
// post's files that are not images, and the images its body does not link
// to (uploaded through the API, or taken out of the text).
func (s *Server) postFiles(c echo.Context, p *page, post *posts.Post, pv *posts.ProjectView) error {
	list, err := s.posts.Attachments(actor(c), post.ID)
	if err != nil {
		return err
	}
	var files []fileItem
	for _, a := range list {
		if a.Image() && strings.Contains(post.Body, "/files/"+strconv.FormatUint(a.ID, 10)+"/") {
			continue
		}
		files = append(files, fileItem{Attachment: a,
			CanDelete: posts.MayDeleteAttachment(actor(c), subject(pv), post.AuthorID, a)})
	}
	p.Data["Files"] = files
	return nil
}

// UploadMax is the largest file the editor may attach, in bytes.
func (p *page) UploadMax() int64 { return posts.MaxAttachmentBytes }

// Size writes a number of bytes for a person, in their language: "512
// bytes", "340 KiB", "1.2 MiB" ("1,2 Mio").
func (p *page) Size(n int64) string {
	num := func(x float64, decimals int) string {
		s := strconv.FormatFloat(x, 'f', decimals, 64)
		s = strings.TrimSuffix(s, ".0")
		if p.Lang == "fr" {
			s = strings.ReplaceAll(s, ".", ",")
		}
		return s
	}
	switch {
	case n < 1<<10:
		return p.N("attach.size.bytes", int(n))
	case n < 1<<20:
		return p.T("attach.size.kib", num(float64(n)/(1<<10), 0))
	}
	return p.T("attach.size.mib", num(float64(n)/(1<<20), 1))
}

// FileKind names a sniffed content type for a person: "PDF", "Text",
// "Image", ...
func (p *page) FileKind(contentType string) string {
	t, _, _ := strings.Cut(contentType, ";")
	switch {
	case t == "application/pdf":
		return "PDF"
	case t == "application/zip":
		return "ZIP"
	case t == "text/plain":
		return p.T("attach.kind.text")
	case strings.HasPrefix(t, "image/"):
		return p.T("attach.kind.image")
	case strings.HasPrefix(t, "audio/"), t == "application/ogg":
		return p.T("attach.kind.audio")
	case strings.HasPrefix(t, "video/"):
		return p.T("attach.kind.video")
	case t == "application/x-gzip", t == "application/x-rar-compressed":
		return p.T("attach.kind.archive")
	}
	return p.T("attach.kind.file")
}
