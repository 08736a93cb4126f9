package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
	"projblog/internal/posts"
)

func (s *Server) registerPostRoutes(e *echo.Echo) {
	e.GET("/posts/:id", s.postByID)
	e.GET("/p/:project/new", s.newPostForm, s.requireLogin)
	e.POST("/p/:project/new", s.createPost, s.requireLogin)
	e.GET("/p/:project/:post", s.postPage)
	e.GET("/p/:project/:post/edit", s.editPostForm, s.requireLogin)
	e.POST("/p/:project/:post/edit", s.updatePost, s.requireLogin)
	e.POST("/p/:project/:post/delete", s.deletePost, s.requireLogin)
	e.POST("/p/:project/:post/restore", s.restorePost, s.requireLogin)
	e.POST("/p/:project/:post/pin", s.pinPost, s.requireLogin)
	e.GET("/p/:project/:post/history", s.postHistory)
	e.GET("/p/:project/:post/diff", s.postDiff)
	e.GET("/p/:project/:post/revisions/:n", s.postRevision)
}

func postURL(projectSlug string, p *posts.Post) string {
	return "/p/" + projectSlug + "/" + p.Slug
}

// resolve finds the post of the URL; an old slug redirects (301) to the
// current one, keeping the rest of the path.
func (s *Server) resolve(c echo.Context) (*posts.Post, *posts.ProjectView, error) {
	p, pv, canonical, err := s.posts.ResolvePost(actor(c), c.Param("project"), c.Param("post"))
	if err != nil {
		return nil, nil, err
	}
	if !canonical {
		rest := strings.TrimPrefix(c.Request().URL.Path, "/p/"+c.Param("project")+"/"+c.Param("post"))
		to := postURL(pv.Slug, p) + rest
		if q := c.Request().URL.RawQuery; q != "" {
			to += "?" + q
		}
		return nil, nil, redirectErr{to}
	}
	return p, pv, nil
}

// redirectErr carries a permanent redirect out of resolve.
type redirectErr struct{ to string }

func (r redirectErr) Error() string { return "moved to " + r.to }

// withPost resolves the post of the URL and runs fn, answering an old slug
// with 301.
func (s *Server) withPost(c echo.Context, fn func(*posts.Post, *posts.ProjectView) error) error {
	p, pv, err := s.resolve(c)
	if r, ok := err.(redirectErr); ok {
		return c.Redirect(http.StatusMovedPermanently, r.to)
	}
	if err != nil {
		return err
	}
	return fn(p, pv)
}

// editAction is what editing p needs: EditOwn for one's own post,
// EditOthers for anyone else's.
func editAction(c echo.Context, p *posts.Post) access.Action {
	if u := currentUser(c); u != nil && u.ID == p.AuthorID {
		return access.EditOwn
	}
	return access.EditOthers
}

func (s *Server) postByID(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return apperr.New(apperr.NotFound, "No such post.")
	}
	p, pv, err := s.posts.Post(actor(c), id)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusMovedPermanently, postURL(pv.Slug, p))
}

func (s *Server) postPage(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		p, err := s.buildPostPage(c, post, pv)
		if err != nil {
			return err
		}
		return s.render(c, "post", p)
	})
}

// buildPostPage is the post page's data: the post, its author, what the
// reader may do, and the discussion under it.
func (s *Server) buildPostPage(c echo.Context, post *posts.Post, pv *posts.ProjectView) (*page, error) {
	en, err := s.entries(actor(c), []*posts.Post{post}, false)
	if err != nil {
		return nil, err
	}
	p := s.projectPageData(c, pv)
	p.Title = post.Title + " · " + pv.Name
	p.Data["Entry"] = en[0]
	p.Data["CanEdit"] = can(c, pv, editAction(c, post))
	p.Data["CanPin"] = can(c, pv, access.EditOthers)
	p.Data["CanRestore"] = can(c, pv, access.EditOthers)
	if err := s.postFiles(c, p, post, pv); err != nil {
		return nil, err
	}
	if post.DeletedAt.IsZero() && !post.Draft {
		if err := s.discussion(c, p, post, pv); err != nil {
			return nil, err
		}
	}
	if err := s.postFollowBox(c, p, post, pv); err != nil {
		return nil, err
	}
	return p, nil
}

// postForm reads the editor's fields. Tags come comma-separated.
func postForm(c echo.Context) posts.PostInput {
	in := posts.PostInput{
		Title:   strings.TrimSpace(c.FormValue("title")),
		Body:    strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n"),
		Excerpt: strings.TrimSpace(c.FormValue("excerpt")),
		Slug:    strings.TrimSpace(c.FormValue("slug")),
		Draft:   c.FormValue("action") == "draft",
		Pinned:  c.FormValue("pinned") == "1",
		Health:  posts.Health(c.FormValue("health")),
		AckAll:  c.FormValue("ack_all") == "1",
	}
	if form, err := c.FormParams(); err == nil {
		for _, v := range form["ack_user"] {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				in.AckUserIDs = append(in.AckUserIDs, n)
			}
		}
	}
	for _, t := range strings.Split(c.FormValue("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	in.BaseRevision, _ = strconv.Atoi(c.FormValue("base_revision"))
	return in
}

// editorPage is the editor filled with in.
func (s *Server) editorPage(c echo.Context, pv *posts.ProjectView, post *posts.Post, in posts.PostInput) *page {
	p := s.projectPageData(c, pv)
	if post == nil {
		p.Title = p.T("editor.new_title") + " · " + pv.Name
		p.Data["Action"] = "/p/" + pv.Slug + "/new"
	} else {
		p.Title = p.T("editor.edit_title", post.Title)
		p.Data["Action"] = postURL(pv.Slug, post) + "/edit"
		p.Data["Post"] = post
	}
	p.Data["Form"] = in
	p.Data["TagText"] = strings.Join(in.Tags, ", ")
	p.Data["CanPin"] = can(c, pv, access.EditOthers)
	p.Data["Limits"] = map[string]int{"Title": 200, "Excerpt": 500, "Tags": 10}
	// Acknowledgements can be asked for when publishing.
	if members, err := s.memberChoices(actor(c), pv.Slug); err == nil && (post == nil || post.Draft) {
		p.Data["AckChoices"] = members
	}
	checked := map[uint64]bool{}
	for _, id := range in.AckUserIDs {
		checked[id] = true
	}
	p.Data["AckChecked"] = checked
	p.Data["AckAll"] = in.AckAll
	return p
}

// editorError re-renders the editor with what the person typed and the
// error beside its field.
func (s *Server) editorError(c echo.Context, pv *posts.ProjectView, post *posts.Post, in posts.PostInput, err error) error {
	p := s.editorPage(c, pv, post, in)
	status, err := formErrors(p, err)
	if err != nil {
		return err
	}
	return s.renderStatus(c, status, "editor", p)
}

// editorAfterCSRF shows the editor again after a refused CSRF token, with
// the text that was sent and the reason.
func (s *Server) editorAfterCSRF(c echo.Context, reason error) error {
	if err := s.editorWithInput(c, c.Param("project"), c.Param("post"), http.StatusForbidden, "editor.csrf_expired"); err != nil {
		return reason
	}
	return nil
}

// editorWithInput renders the editor of a new post in projectSlug (postSlug
// "") or of an existing post, filled with the editor fields of the request
// and a message, so that what was typed survives an expired form or
// session.
func (s *Server) editorWithInput(c echo.Context, projectSlug, postSlug string, status int, msgKey string) error {
	in := postForm(c)
	var post *posts.Post
	var pv *posts.ProjectView
	var err error
	if postSlug == "" {
		pv, err = s.posts.Project(actor(c), projectSlug)
	} else {
		post, pv, _, err = s.posts.ResolvePost(actor(c), projectSlug, postSlug)
	}
	if err != nil {
		return err
	}
	p := s.editorPage(c, pv, post, in)
	p.Error = p.T(msgKey)
	return s.renderStatus(c, status, "editor", p)
}

// editorPath matches the two editor form targets.
var editorPath = regexp.MustCompile(`^/p/([a-z0-9-]+)/(?:new|([a-z0-9-]+)/edit)$`)

// editorFields are the editor's form fields, carried through a login when
// the session expired while someone was writing.
var editorFields = []string{"title", "body", "excerpt", "tags", "slug", "base_revision", "pinned", "action"}

func (s *Server) newPostForm(c echo.Context) error {
	pv, err := s.posts.Project(actor(c), c.Param("project"))
	if err != nil {
		return err
	}
	if err := check(c, pv, access.Post); err != nil {
		return err
	}
	return s.render(c, "editor", s.editorPage(c, pv, nil, posts.PostInput{}))
}

func (s *Server) createPost(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	in := postForm(c)
	if stop, err := s.warnUnreadableMentions(c, pv, nil, in); stop || err != nil {
		return err
	}
	post, err := s.posts.CreatePost(a, pv.Slug, in)
	if err != nil {
		return s.editorError(c, pv, nil, in, err)
	}
	flash := "published"
	if post.Draft {
		flash = "draft_saved"
	}
	return s.redirectFlash(c, postURL(pv.Slug, post), flash)
}

func (s *Server) editPostForm(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		if err := check(c, pv, editAction(c, post)); err != nil {
			return err
		}
		in := posts.PostInput{Title: post.Title, Body: post.Body, Excerpt: post.Excerpt, Slug: post.Slug,
			Tags: post.Tags, Draft: post.Draft, Pinned: post.Pinned, BaseRevision: post.Revision, Health: post.Health}
		return s.render(c, "editor", s.editorPage(c, pv, post, in))
	})
}

func (s *Server) updatePost(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		in := postForm(c)
		if !can(c, pv, access.EditOthers) {
			in.Pinned = post.Pinned // the checkbox is only offered to owners
		}
		if stop, err := s.warnUnreadableMentions(c, pv, post, in); stop || err != nil {
			return err
		}
		updated, err := s.posts.UpdatePost(actor(c), post.ID, in)
		if err != nil {
			return s.editorError(c, pv, post, in, err)
		}
		flash := "saved"
		if post.Draft && !updated.Draft {
			flash = "published"
		}
		return s.redirectFlash(c, postURL(pv.Slug, updated), flash)
	})
}

func (s *Server) deletePost(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		if err := s.posts.DeletePost(actor(c), post.ID); err != nil {
			return err
		}
		return s.redirectFlash(c, "/p/"+pv.Slug, "deleted")
	})
}

func (s *Server) restorePost(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		if err := s.posts.RestorePost(actor(c), post.ID); err != nil {
			return err
		}
		return s.redirectFlash(c, postURL(pv.Slug, post), "restored")
	})
}

func (s *Server) pinPost(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		pinned := c.FormValue("pinned") == "1"
		if err := s.posts.SetPinned(actor(c), post.ID, pinned); err != nil {
			return err
		}
		flash := "unpinned"
		if pinned {
			flash = "pinned"
		}
		return s.redirectFlash(c, postURL(pv.Slug, post), flash)
	})
}

func (s *Server) postHistory(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		revs, err := s.posts.Revisions(actor(c), post.ID)
		if err != nil {
			return err
		}
		ids := make([]uint64, len(revs))
		for i, r := range revs {
			ids[i] = r.EditorID
		}
		editors, err := s.users.ByIDs(ids)
		if err != nil {
			return err
		}
		p := s.projectPageData(c, pv)
		p.Title = p.T("history.title", post.Title)
		p.Data["Post"] = post
		p.Data["Revisions"] = revs
		p.Data["Editors"] = editors
		return s.render(c, "history", p)
	})
}

func (s *Server) postDiff(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		from, err1 := strconv.Atoi(c.QueryParam("from"))
		to, err2 := strconv.Atoi(c.QueryParam("to"))
		if err1 != nil || err2 != nil {
			return apperr.New(apperr.Invalid, "Choose two revisions to compare (from and to).")
		}
		if from > to {
			from, to = to, from
		}
		a, err := s.posts.Revision(actor(c), post.ID, from)
		if err != nil {
			return err
		}
		b, err := s.posts.Revision(actor(c), post.ID, to)
		if err != nil {
			return err
		}
		p := s.projectPageData(c, pv)
		p.Title = p.T("diff.title", from, to) + " · " + post.Title
		p.Data["Post"] = post
		p.Data["From"], p.Data["To"] = a, b
		p.Data["TitleChanged"] = a.Title != b.Title
		p.Data["Lines"] = posts.Diff(revisionText(a), revisionText(b))
		return s.render(c, "diff", p)
	})
}

// revisionText is what a diff compares: the excerpt, tags and body.
func revisionText(r *posts.Revision) string {
	var b strings.Builder
	if r.Excerpt != "" {
		fmt.Fprintf(&b, "excerpt: %s\n", r.Excerpt)
	}
	if len(r.Tags) > 0 {
		fmt.Fprintf(&b, "tags: %s\n", strings.Join(r.Tags, ", "))
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	b.WriteString(r.Body)
	return b.String()
}

func (s *Server) postRevision(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		n, err := strconv.Atoi(c.Param("n"))
		if err != nil {
			return apperr.New(apperr.NotFound, "No such revision.")
		}
		r, err := s.posts.Revision(actor(c), post.ID, n)
		if err != nil {
			return err
		}
		p := s.projectPageData(c, pv)
		p.Title = p.T("revision.title", n) + " · " + post.Title
		p.Data["Post"] = post
		p.Data["Revision"] = r
		return s.render(c, "revision", p)
	})
}

// maxPreview is the largest body the preview renders (the post limit).
const maxPreview = 1 << 20

// preview renders Markdown for the editor's live preview. It needs a
// session and the CSRF token like any POST; the answer is the same
// sanitised HTML a saved post would get.
func (s *Server) preview(c echo.Context) error {
	if currentUser(c) == nil {
		return apperr.New(apperr.Unauthorized, "Please log in to preview.")
	}
	body := c.FormValue("body")
	if len(body) > maxPreview {
		return apperr.New(apperr.TooLarge, "The text is larger than 1 MiB, the limit of a post.")
	}
	if !utf8.ValidString(body) {
		return apperr.New(apperr.Invalid, "The text is not valid UTF-8.")
	}
	html, err := markdown.Render(body)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTML(http.StatusOK, html)
}

// warnUnreadableMentions stops a publication that @mentions people who
// cannot read the project, and shows the editor again with a warning and a
// "publish anyway" box (mentions_ok). stop is true when it answered.
func (s *Server) warnUnreadableMentions(c echo.Context, pv *posts.ProjectView, post *posts.Post, in posts.PostInput) (stop bool, err error) {
	if in.Draft || c.FormValue("mentions_ok") == "1" {
		return false, nil
	}
	handles, err := s.posts.UnreadableMentions(actor(c), pv.Slug, in.Body)
	if err != nil || len(handles) == 0 {
		return false, err
	}
	p := s.editorPage(c, pv, post, in)
	p.Data["Unreadable"] = handles
	return true, s.renderStatus(c, http.StatusUnprocessableEntity, "editor", p)
}
