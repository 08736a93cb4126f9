package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// testPNG is a real 3×2 PNG image.
func testPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for x := range 3 {
		for y := range 2 {
			img.Set(x, y, color.RGBA{R: 200, G: uint8(60 * x), B: 40, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testPDF is the start of a PDF, enough to be sniffed as one.
var testPDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// uploadJSON is the answer to an upload.
type uploadJSON struct {
	ID       uint64 `json:"id"`
	PostID   uint64 `json:"post_id"`
	URL      string `json:"url"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Type     string `json:"type"`
	Image    bool   `json:"image"`
	SHA256   string `json:"sha256"`
	Markdown string `json:"markdown"`
	Error    string `json:"error"`
	Code     string `json:"code"`
}

// multipartBody is a form with one file, whose part claims the content
// type claimed (as a browser would say from the name), and fields.
func multipartBody(t testing.TB, name, claimed string, data []byte, fields map[string]string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	h.Set("Content-Type", claimed)
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// upload sends a file as the editor does: multipart, the CSRF token in a
// header (when withCSRF), asking for JSON.
func (c *client) upload(project string, postID uint64, name, claimed string, data []byte, withCSRF bool) (response, uploadJSON) {
	c.e.t.Helper()
	fields := map[string]string{}
	if postID != 0 {
		fields["post"] = fmt.Sprint(postID)
	}
	ct, body := multipartBody(c.e.t, name, claimed, data, fields)
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+"/p/"+project+"/attachments", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	if withCSRF {
		req.Header.Set("X-CSRF-Token", c.csrf())
	}
	res := c.do(req)
	var out uploadJSON
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(res.Body), &out); err != nil {
			c.e.t.Fatalf("upload %s: %v\n%s", name, err, res.Body)
		}
	}
	return res, out
}

// mustUpload uploads a file that must be accepted.
func (c *client) mustUpload(project string, postID uint64, name, claimed string, data []byte) uploadJSON {
	c.e.t.Helper()
	res, out := c.upload(project, postID, name, claimed, data, true)
	if res.Status != http.StatusCreated {
		c.e.t.Fatalf("upload %s: %d\n%s", name, res.Status, res.Body)
	}
	return out
}

const attachmentCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

// TestAttachmentUploadAndDownload: a member uploads an image, a PDF and a
// text file claimed to be a PNG; each is served with its sniffed type,
// nosniff, the sandboxing CSP and the right disposition.
func TestAttachmentUploadAndDownload(t *testing.T) {
	re := newRoutesEnv(t)
	mia := re.clients["member"]
	post := re.env.post(re.member, "apollo", "Charts", "See below.")
	img := testPNG(t)

	up := mia.mustUpload("apollo", post.ID, "chart.png", "image/png", img)
	want := fmt.Sprintf("/p/apollo/files/%d/chart.png", up.ID)
	if up.URL != want || up.Markdown != "![chart.png]("+want+")" || !up.Image || up.Type != "image/png" ||
		up.Size != int64(len(img)) || up.PostID != post.ID || len(up.SHA256) != 64 {
		t.Fatalf("upload answer %+v", up)
	}

	res := mia.get(up.URL)
	if res.Status != http.StatusOK || res.Body != string(img) {
		t.Fatalf("download: %d, %d bytes", res.Status, len(res.Body))
	}
	for k, v := range map[string]string{
		"Content-Type":            "image/png",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": attachmentCSP,
		"Content-Disposition":     "inline; filename=chart.png",
		"Cache-Control":           "private, no-cache",
		"ETag":                    `"` + up.SHA256 + `"`,
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	// The ETag answers a conditional request with 304, nothing else.
	if res := mia.getWith(up.URL, map[string]string{"If-None-Match": `W/"nope", "` + up.SHA256 + `"`}); res.Status != http.StatusNotModified || res.Body != "" {
		t.Errorf("If-None-Match: %d %q", res.Status, res.Body)
	}
	// A wrong name or project in the URL leads to the right one.
	for _, path := range []string{fmt.Sprintf("/p/apollo/files/%d/other.png", up.ID), fmt.Sprintf("/p/gemini/files/%d/chart.png", up.ID)} {
		if res := mia.get(path); res.Status != http.StatusMovedPermanently || res.Header.Get("Location") != want {
			t.Errorf("%s: %d → %q", path, res.Status, res.Header.Get("Location"))
		}
	}

	// A PDF with a name that is not ASCII is a download.
	pdf := mia.mustUpload("apollo", post.ID, "Résumé “final”.pdf", "application/pdf", testPDF)
	res = mia.get(pdf.URL)
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/pdf" || res.Body != string(testPDF) {
		t.Fatalf("PDF: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	disp, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || params["filename"] != "Résumé “final”.pdf" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), `filename="R_sum_ _final_.pdf"`) {
		t.Errorf("Content-Disposition %q: %s %v (%v)", res.Header.Get("Content-Disposition"), disp, params, err)
	}

	// Text the browser called a PNG is text, and a download.
	txt := mia.mustUpload("apollo", post.ID, "notes.png", "image/png", []byte("Plain notes.\n"))
	res = mia.get(txt.URL)
	if txt.Type != "text/plain; charset=utf-8" || txt.Image || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") || txt.Markdown != "[notes.png]("+txt.URL+")" {
		t.Errorf("text as PNG: %+v, served as %q, %q", txt, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
}

// TestAttachmentRefusesHTML: HTML (or SVG) sent as image/png is refused
// with a message that says why; nothing is stored, and nothing is ever
// served as HTML.
func TestAttachmentRefusesHTML(t *testing.T) {
	re := newRoutesEnv(t)
	mia := re.clients["member"]
	for _, tc := range []struct{ name, kind, body string }{
		{"cat.png", "HTML", "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"},
		{"logo.png", "SVG", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>`},
		{"frag.png", "HTML or XML", `<img src=x onerror=alert(1)>`},
	} {
		res, out := mia.upload("apollo", 0, tc.name, "image/png", []byte(tc.body), true)
		if res.Status != http.StatusUnprocessableEntity || out.Code != "invalid" ||
			!strings.HasPrefix(out.Error, tc.kind+" files cannot be attached") || !strings.Contains(out.Error, tc.name) {
			t.Errorf("%s: %d %+v", tc.name, res.Status, out)
		}
	}
	// Nothing was stored: the next upload is the first file.
	up := mia.mustUpload("apollo", 0, "ok.png", "image/png", testPNG(t))
	if up.ID != 1 {
		t.Errorf("refused uploads took IDs: the first accepted one is %d", up.ID)
	}
	for id := 1; id <= 3; id++ {
		res := mia.get(fmt.Sprintf("/p/apollo/files/%d/cat.png", id))
		if strings.Contains(res.Header.Get("Content-Type"), "html") && res.Status != http.StatusNotFound {
			t.Errorf("file %d served as %q", id, res.Header.Get("Content-Type"))
		}
	}
}

// TestAttachmentTooLarge: a file over the limit is 413 with a message that
// names the limit, whether the request says its length or not, while the
// rest of the site keeps its 2 MiB limit.
func TestAttachmentTooLarge(t *testing.T) {
	re := newRoutesEnv(t)
	mia := re.clients["member"]
	img := testPNG(t)

	// Just over the file limit: the body fits the upload limit, the file
	// does not.
	res, out := mia.upload("apollo", 0, "big.png", "image/png", append(img, make([]byte, posts.MaxAttachmentBytes+1-len(img))...), true)
	if res.Status != http.StatusRequestEntityTooLarge || out.Code != "too_large" || !strings.Contains(out.Error, "at most 10 MiB") || !strings.Contains(out.Error, "big.png") {
		t.Errorf("file just over the limit: %d %+v", res.Status, out)
	}
	// Exactly the limit is fine.
	if res, out := mia.upload("apollo", 0, "full.png", "image/png", append(img, make([]byte, posts.MaxAttachmentBytes-len(img))...), true); res.Status != http.StatusCreated {
		t.Errorf("file of exactly the limit: %d %+v", res.Status, out)
	}

	// Far over: the length in the header is refused before reading; a
	// body without a length is cut off when it passes the limit.
	huge := make([]byte, 12<<20)
	ct, body := multipartBody(t, "huge.png", "image/png", append(img, huge...), nil)
	for _, chunked := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // hides the length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, re.srv.URL+"/p/apollo/attachments", r)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-CSRF-Token", mia.csrf())
		res := mia.do(req)
		var e uploadJSON
		json.Unmarshal([]byte(res.Body), &e)
		// Cut off by the body limit, not read to the end.
		if res.Status != http.StatusRequestEntityTooLarge || e.Code != "too_large" || e.Error != "The file is too large: a file may be at most 10 MiB." {
			t.Errorf("12 MiB upload (chunked %v): %d %s", chunked, res.Status, res.Body)
		}
	}

	// Elsewhere the limit is still 2 MiB.
	res = mia.post("/preview", url.Values{"body": {strings.Repeat("x", 3<<20)}})
	if res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("3 MiB preview: %d", res.Status)
	}
}

// TestAttachmentCSRF: an upload needs the CSRF token (and a session).
func TestAttachmentCSRF(t *testing.T) {
	re := newRoutesEnv(t)
	head := re.db.Head()
	for _, reader := range []string{"member", "anonymous"} {
		res, _ := re.clients[reader].upload("apollo", 0, "x.png", "image/png", testPNG(t), false)
		if res.Status != http.StatusForbidden {
			t.Errorf("%s without a token: %d %s", reader, res.Status, res.Body)
		}
	}
	if res, _ := re.clients["anonymous"].upload("apollo", 0, "x.png", "image/png", testPNG(t), true); res.Status != http.StatusUnauthorized {
		t.Errorf("anonymous with a token: %d", res.Status)
	}
	if got := re.clients["member"].mustUpload("apollo", 0, "x.png", "image/png", testPNG(t)); got.ID != 1 {
		t.Errorf("refused uploads stored files: the first accepted one is %d", got.ID)
	}
	if re.db.Head() != head {
		t.Error("uploads appended events")
	}
}

// TestAttachmentDownloadMatrix walks who may download a post's file:
// exactly who may read the post, by project visibility and draft state.
func TestAttachmentDownloadMatrix(t *testing.T) {
	e := newEnv(t)
	admin := e.user("admin@example.com", "Ada Admin", true)
	owner := e.user("owner@example.com", "Olive Owner", false)
	author := e.user("author@example.com", "Aldo Author", false)
	member := e.user("member@example.com", "Mia Member", false)
	viewer := e.user("viewer@example.com", "Vic Viewer", false)
	outsider := e.user("otto@example.com", "Otto Outsider", false)
	readers := []struct {
		name string
		u    *users.User
	}{{"anonymous", nil}, {"outsider", outsider}, {"viewer", viewer}, {"member", member}, {"author", author}, {"owner", owner}, {"admin", admin}}
	clients := map[string]*client{}
	for _, r := range readers {
		clients[r.name] = e.client()
		if r.u != nil {
			clients[r.name].login(r.u.Email)
		}
	}
	// One letter per reader, in the order above: Y 200, N 404.
	want := map[string]string{
		"public/published":   "YYYYYYY",
		"internal/published": "NYYYYYY",
		"private/published":  "NNYYYYY",
		"public/draft":       "NNNNYYY",
		"internal/draft":     "NNNNYYY",
		"private/draft":      "NNNNYYY",
	}
	img := testPNG(t)
	for _, vis := range []access.Visibility{access.Public, access.Internal, access.Private} {
		slug := string(vis) + "-p"
		e.project(owner, slug, vis)
		for u, role := range map[*users.User]access.Role{author: access.Member, member: access.Member, viewer: access.Viewer} {
			if err := e.posts.SetMember(owner.Actor(), slug, u.ID, role); err != nil {
				t.Fatal(err)
			}
		}
		for _, draft := range []bool{false, true} {
			state := "published"
			if draft {
				state = "draft"
			}
			p, err := e.posts.CreatePost(author.Actor(), slug, posts.PostInput{Title: "Post " + state, Body: "x", Draft: draft})
			if err != nil {
				t.Fatal(err)
			}
			a, err := e.posts.AddAttachment(author.Actor(), slug, p.ID, "pic.png", img)
			if err != nil {
				t.Fatal(err)
			}
			row := want[string(vis)+"/"+state]
			for i, r := range readers {
				res := clients[r.name].get(a.Path())
				wantStatus := http.StatusNotFound
				if row[i] == 'Y' {
					wantStatus = http.StatusOK
				}
				if res.Status != wantStatus {
					t.Errorf("%s %s post's file as %s: %d, want %d", vis, state, r.name, res.Status, wantStatus)
				}
				if res.Status == http.StatusOK && res.Body != string(img) {
					t.Errorf("%s %s as %s: wrong bytes", vis, state, r.name)
				}
				if res.Status != http.StatusOK && res.Body == string(img) {
					t.Errorf("%s %s as %s: the bytes leaked in a %d", vis, state, r.name, res.Status)
				}
			}
		}
	}

	// A file in no post yet: its uploader's (and admins').
	a, err := e.posts.AddAttachment(author.Actor(), "public-p", 0, "pending.png", img)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range readers {
		wantStatus := http.StatusNotFound
		if "NNNNYNY"[i] == 'Y' {
			wantStatus = http.StatusOK
		}
		if res := clients[r.name].get(a.Path()); res.Status != wantStatus {
			t.Errorf("pending file as %s: %d, want %d", r.name, res.Status, wantStatus)
		}
	}
}

// TestAttachmentAPI: POST /api/v1/posts/{id}/attachments by token.
func TestAttachmentAPI(t *testing.T) {
	ae := newAPIEnv(t)
	mine := ae.env.post(ae.member, "apollo", "Mia's chart", "Numbers.")
	path := fmt.Sprintf("/api/v1/posts/%d/attachments", mine.ID)
	send := func(path, token, name string, data []byte) (response, uploadJSON) {
		t.Helper()
		ct, body := multipartBody(t, name, "application/octet-stream", data, nil)
		req, _ := http.NewRequest(http.MethodPost, ae.srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out uploadJSON
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("POST %s: not JSON: %s", path, b)
		}
		return response{Status: res.StatusCode, Header: res.Header, Body: string(b)}, out
	}
	img := testPNG(t)
	head := ae.db.Head()
	for _, tc := range []struct {
		who, token string
		status     int
		code       string
	}{
		{"read token", ae.memberR, http.StatusForbidden, "forbidden"},
		{"revoked token", ae.revoked, http.StatusUnauthorized, "unauthorized"},
		{"no token", "", http.StatusUnauthorized, "unauthorized"},
		{"someone else's post", ae.outsiderW, http.StatusForbidden, "forbidden"},
	} {
		if res, out := send(path, tc.token, "chart.png", img); res.Status != tc.status || out.Code != tc.code {
			t.Errorf("%s: %d %+v", tc.who, res.Status, out)
		}
	}
	if res, out := send(fmt.Sprintf("/api/v1/posts/%d/attachments", ae.secretPost.ID), ae.outsiderW, "x.png", img); res.Status != http.StatusNotFound {
		t.Errorf("private project's post, outsider: %d %+v", res.Status, out)
	}
	if res, out := send(path, ae.memberW, "page.png", []byte("<html><script>alert(1)</script>")); res.Status != http.StatusUnprocessableEntity || !strings.HasPrefix(out.Error, "HTML files") {
		t.Errorf("HTML: %d %+v", res.Status, out)
	}
	if ae.db.Head() != head {
		t.Error("refused uploads wrote events")
	}

	res, out := send(path, ae.memberW, "chart.png", img)
	wantURL := fmt.Sprintf("http://projblog.test/p/apollo/files/%d/chart.png", out.ID)
	if res.Status != http.StatusCreated || out.URL != wantURL || res.Header.Get("Location") != wantURL || out.PostID != mine.ID ||
		out.Markdown != fmt.Sprintf("![chart.png](/p/apollo/files/%d/chart.png)", out.ID) {
		t.Fatalf("write token: %d %+v (Location %q)", res.Status, out, res.Header.Get("Location"))
	}
	// The file is the post's: every reader of the project downloads it.
	otto := ae.client().login(ae.outsider.Email)
	if res := otto.get(strings.TrimPrefix(out.URL, "http://projblog.test")); res.Status != http.StatusOK || res.Body != string(img) {
		t.Errorf("download by a reader of the internal project: %d", res.Status)
	}
}

// TestAttachmentOnPostPage: a post written in the editor with an uploaded
// image and PDF shows the image in its text and lists the PDF, with a
// delete button for those who may; linking happens on save.
func TestAttachmentOnPostPage(t *testing.T) {
	re := newRoutesEnv(t)
	mia := re.clients["member"]
	img := mia.mustUpload("apollo", 0, "burndown.png", "image/png", testPNG(t))
	pdf := mia.mustUpload("apollo", 0, "spec.pdf", "application/pdf", testPDF)
	if res := re.clients["owner"].get(img.URL); res.Status != http.StatusNotFound {
		t.Fatalf("a file in no post yet, as someone else: %d", res.Status)
	}
	res := mia.post("/p/apollo/new", url.Values{"title": {"Sprint 12"}, "body": {"The chart:\n\n" + img.Markdown + "\n"}, "action": {"publish"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("publish: %d\n%s", res.Status, res.Body)
	}
	postPath := res.Header.Get("Location")
	// The PDF is not in the text; it was uploaded for the post once saved.
	post, _, _, err := re.posts.ResolvePost(re.member.Actor(), "apollo", strings.TrimPrefix(postPath, "/p/apollo/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := re.posts.UpdatePost(re.member.Actor(), post.ID, posts.PostInput{Title: post.Title, Body: post.Body + "\nSpec: " + pdf.Markdown + "\n"}); err != nil {
		t.Fatal(err)
	}

	for reader, canDelete := range map[string]bool{"owner": true, "member": true, "admin": true, "anonymous": false} {
		res := re.clients[reader].get(postPath)
		if reader == "anonymous" {
			if res.Status != http.StatusNotFound {
				t.Errorf("anonymous: %d", res.Status)
			}
			continue
		}
		var imgSrc, fileLinks []string
		deletes := 0
		walk(t, res.Body, func(n *html.Node) bool {
			if n.Type != html.ElementNode {
				return true
			}
			if n.Data == "img" && strings.Contains(attr(n, "src"), "/files/") {
				imgSrc = append(imgSrc, attr(n, "src"))
			}
			if n.Data == "section" && attr(n, "id") == "files" {
				for li := range n.Descendants() {
					if li.Type == html.ElementNode && li.Data == "a" {
						fileLinks = append(fileLinks, attr(li, "href")+" "+textOf(li))
					}
					if li.Type == html.ElementNode && li.Data == "form" && strings.HasSuffix(attr(li, "action"), "/delete") {
						deletes++
					}
				}
			}
			return true
		})
		if len(imgSrc) != 1 || imgSrc[0] != img.URL {
			t.Errorf("%s: images %v, want %s", reader, imgSrc, img.URL)
		}
		if len(fileLinks) != 1 || fileLinks[0] != pdf.URL+" spec.pdf" {
			t.Errorf("%s: listed files %v, want the PDF only", reader, fileLinks)
		}
		if (deletes == 1) != canDelete {
			t.Errorf("%s: %d delete buttons", reader, deletes)
		}
		if got := texts(t, res.Body, "span", "meta"); !containsText(got, fmt.Sprintf("PDF · %d\u00a0bytes", len(testPDF))) {
			t.Errorf("%s: no kind and size of the PDF in %q", reader, got)
		}
	}
	// Another member reads both files now that the post is published.
	nina := re.env.user("nina@example.com", "Nina Next", false)
	if err := re.posts.SetMember(re.owner.Actor(), "apollo", nina.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	nc := re.client().login(nina.Email)
	for _, u := range []string{img.URL, pdf.URL} {
		if res := nc.get(u); res.Status != http.StatusOK {
			t.Errorf("%s as another member: %d", u, res.Status)
		}
	}
	if res := nc.post(fmt.Sprintf("/p/apollo/files/%d/delete", pdf.ID), nil); res.Status != http.StatusForbidden {
		t.Errorf("delete by another member: %d", res.Status)
	}

	// The owner deletes the PDF: back to the post, the file is gone.
	res = re.clients["owner"].post(fmt.Sprintf("/p/apollo/files/%d/delete", pdf.ID), nil)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != postPath+"#files" {
		t.Fatalf("delete: %d → %q", res.Status, res.Header.Get("Location"))
	}
	if res := mia.get(pdf.URL); res.Status != http.StatusNotFound {
		t.Errorf("the deleted file: %d", res.Status)
	}
	page := re.clients["owner"].get(postPath)
	if got := texts(t, page.Body, "p", "flash"); len(got) != 1 || got[0] != "The file was deleted." {
		t.Errorf("flash %q", got)
	}
	if strings.Contains(page.Body, `id="files"`) {
		t.Error("the post still lists files")
	}
}

func containsText(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestAttachmentChangesSeenAtOnce: anonymous readers of a public project,
// whose pages may be answered from a cache, see a file added to a post and
// a deleted file gone on their next request.
func TestAttachmentChangesSeenAtOnce(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	e.project(owner, "open", access.Public)
	post := e.post(owner, "open", "Minutes", "Notes attached.")
	anon := e.client()
	postPath := "/p/open/" + post.Slug
	if res := anon.get(postPath); res.Status != http.StatusOK || strings.Contains(res.Body, `id="files"`) {
		t.Fatalf("post before: %d", res.Status)
	}
	a, err := e.posts.AddAttachment(owner.Actor(), "open", post.ID, "minutes.pdf", testPDF)
	if err != nil {
		t.Fatal(err)
	}
	if res := anon.get(postPath); !strings.Contains(res.Body, a.Path()) {
		t.Error("the new file is not listed")
	}
	for range 2 { // the second may come from a cache
		if res := anon.get(a.Path()); res.Status != http.StatusOK || res.Body != string(testPDF) {
			t.Fatalf("download: %d", res.Status)
		}
	}
	if err := e.posts.DeleteAttachment(owner.Actor(), a.ID); err != nil {
		t.Fatal(err)
	}
	if res := anon.get(a.Path()); res.Status != http.StatusNotFound {
		t.Errorf("deleted file: %d", res.Status)
	}
	if res := anon.get(postPath); strings.Contains(res.Body, a.Path()) {
		t.Error("the deleted file is still listed")
	}
}
