package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// The JSON API, documented for its users in docs/API.md.
//
// Every request under /api/ authenticates with a personal API token in
// "Authorization: Bearer pba_…" and nothing else: loadSession ignores the
// session cookie on these paths, and the CSRF middleware skips them, since
// a browser never attaches a bearer token on its own. The token acts as its
// owner, with their access (the posts package decides, exactly as for the
// web pages: a private project is 404 to outsiders), narrowed by its
// scope: the routes that write also need the "write" scope.
//
// Errors are the site's one error handler's, which answers JSON on /api/
// paths whatever the Accept header says: {"error": message, "code": code}
// plus "field" when the error is about one input field.

const (
	apiPrefix   = "/api/"
	ctxAPIScope = "api_scope"
)

// isAPIPath reports whether path belongs to the JSON API.
func isAPIPath(path string) bool {
	return strings.HasPrefix(path, apiPrefix) || path == "/api"
}

func (s *Server) registerAPIRoutes(e *echo.Echo) {
	g := e.Group("/api/v1", s.apiAuth)
	g.GET("/me", s.apiMe)
	g.GET("/projects", s.apiProjects)
	g.GET("/projects/:slug", s.apiProject)
	g.GET("/projects/:slug/posts", s.apiProjectPosts)
	g.POST("/projects/:slug/posts", s.apiCreatePost, apiWrite)
	g.GET("/posts/:id", s.apiPost)
	g.PATCH("/posts/:id", s.apiUpdatePost, apiWrite)
	g.GET("/posts/:id/comments", s.apiComments)
	g.POST("/posts/:id/comments", s.apiAddComment, apiWrite)
	g.POST("/posts/:id/attachments", s.apiAddAttachment, apiWrite) // handle_attachments.go
}

// apiAuth lets in a request with a working API token and makes its owner
// the request's user.
func (s *Server) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		token, err := bearerToken(c.Request())
		if err != nil {
			h.Set("WWW-Authenticate", `Bearer realm="projblog"`)
			return err
		}
		u, scope, err := s.users.UserByAPIToken(token)
		if err != nil {
			if apperr.Is(err, apperr.Unauthorized) {
				h.Set("WWW-Authenticate", `Bearer realm="projblog", error="invalid_token"`)
			}
			return err
		}
		c.Set(ctxUser, u)
		c.Set(ctxAPIScope, scope)
		return next(c)
	}
}

// bearerToken reads the token of "Authorization: Bearer TOKEN".
func bearerToken(r *http.Request) (string, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", apperr.New(apperr.Unauthorized,
			"This API needs a personal API token in the header “Authorization: Bearer pba_…”. Create one under Settings → API tokens.")
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", apperr.New(apperr.Unauthorized,
			"Only personal API tokens are accepted, as “Authorization: Bearer pba_…” (not %s).", scheme)
	}
	return strings.TrimSpace(token), nil
}

// apiWrite refuses a token without the write scope.
func apiWrite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if sc, _ := c.Get(ctxAPIScope).(users.APIScope); !sc.Allows(users.ScopeWrite) {
			return apperr.New(apperr.Forbidden,
				"This API token may only read (scope “%s”); writing needs a token with the “write” scope.", sc)
		}
		return next(c)
	}
}

// apiJSON writes v as JSON, without the HTML escaping that would turn every
// "<" of a post's HTML into \u003c.
func apiJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return apperr.Wrap(err, "encode API response")
	}
	return c.Blob(status, echo.MIMEApplicationJSON, buf.Bytes())
}

// badRequest is a request the API cannot even read (malformed JSON, an
// unknown field, a bad query parameter): 400, code "invalid".
func badRequest(format string, args ...any) error {
	return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// decodeJSON reads the request body, which must be one JSON object with no
// fields but those of v, into v. Every way it can fail is a 400 that says
// what is wrong (a body over the site's limit stays a 413).
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// One object, then nothing but white space.
		if _, terr := dec.Token(); terr != io.EOF {
			var he *echo.HTTPError
			if errors.As(terr, &he) {
				return he
			}
			return badRequest("The request body must hold exactly one JSON object; something follows it.")
		}
		return nil
	}
	var (
		he  *echo.HTTPError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &he):
		return he // the body limit
	case errors.As(err, &mbe):
		return echo.ErrStatusRequestEntityTooLarge
	case errors.Is(err, io.EOF):
		return badRequest("The request body is empty; send a JSON object such as {\"title\": \"…\", \"body\": \"…\"}.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("The request body is not valid JSON: it ends too early.")
	case errors.As(err, &se):
		return badRequest("The request body is not valid JSON: %s (at byte %d).", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("The request body must be a JSON object, not a JSON %s.", te.Value)
		}
		return badRequest("The field %q must be %s, not a JSON %s.", te.Field, jsonKind(te.Type), te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("Unknown field %s in the request body; the fields are %s.", name, jsonFields(v))
	}
	return badRequest("The request body could not be read as JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind describes a Go type as the JSON a client must send.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Uint, reflect.Int32, reflect.Uint32:
		return "a whole number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	}
	return "a JSON " + t.Kind().String()
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, strconv.Quote(name))
		}
	}
	return strings.Join(names, ", ")
}

// apiID reads a numeric path parameter; anything else names nothing.
func apiID(c echo.Context, msg string) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, apperr.New(apperr.NotFound, "%s", msg)
	}
	return id, nil
}

// apiLimit reads ?limit=: 1 to posts.MaxLimit, posts.DefaultLimit when
// absent.
func apiLimit(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return posts.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > posts.MaxLimit {
		return 0, badRequest("limit must be a whole number from 1 to %d.", posts.MaxLimit)
	}
	return n, nil
}

// apiTime is a time in the JSON: RFC 3339 in UTC, to the second (as
// GitHub's and most APIs', and what every client library parses).
type apiTime time.Time

// MarshalJSON writes the time as "2006-01-02T15:04:05Z".
func (t apiTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339) + `"`), nil
}

// utc is t for the JSON, nil (null) when it is zero.
func utc(t time.Time) *apiTime {
	if t.IsZero() {
		return nil
	}
	at := apiTime(t)
	return &at
}

// The JSON shapes.

type apiUser struct {
	ID     uint64 `json:"id"`
	Name   string `json:"name"`
	Handle string `json:"handle"`
}

func apiUserOf(u *users.User) apiUser {
	if u == nil {
		return apiUser{Name: "?"}
	}
	return apiUser{ID: u.ID, Name: u.Name, Handle: u.Handle}
}

type apiProjectJSON struct {
	ID           uint64   `json:"id"`
	Slug         string   `json:"slug"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Visibility   string   `json:"visibility"`
	Archived     bool     `json:"archived"`
	Role         string   `json:"role"` // the token owner's role, "" when not a member
	CanPost      bool     `json:"can_post"`
	Health       string   `json:"health"`
	PostCount    int      `json:"post_count"`
	URL          string   `json:"url"`
	CreatedAt    *apiTime `json:"created_at"`
	LastActivity *apiTime `json:"last_activity"`
}

func (s *Server) apiProjectOf(a access.Actor, pv *posts.ProjectView) apiProjectJSON {
	return apiProjectJSON{
		ID: pv.ID, Slug: pv.Slug, Name: pv.Name, Description: pv.Description,
		Visibility: string(pv.Visibility), Archived: pv.Archived, Role: string(pv.Role),
		CanPost: pv.Can(a, access.Post), Health: string(pv.Health), PostCount: pv.PostCount,
		URL: s.opts.BaseURL + "/p/" + pv.Slug, CreatedAt: utc(pv.CreatedAt), LastActivity: utc(pv.LastActivity),
	}
}

type apiPostJSON struct {
	ID           uint64   `json:"id"`
	Project      string   `json:"project"`
	Slug         string   `json:"slug"`
	URL          string   `json:"url"`
	Title        string   `json:"title"`
	Body         string   `json:"body"`
	HTML         string   `json:"html"`
	Excerpt      string   `json:"excerpt"`
	Summary      string   `json:"summary"`
	Tags         []string `json:"tags"`
	Draft        bool     `json:"draft"`
	Pinned       bool     `json:"pinned"`
	Health       string   `json:"health"`
	Author       apiUser  `json:"author"`
	PublishedAt  *apiTime `json:"published_at"` // null for a draft never published
	CreatedAt    *apiTime `json:"created_at"`
	UpdatedAt    *apiTime `json:"updated_at"`
	DeletedAt    *apiTime `json:"deleted_at,omitempty"` // only for a post in the trash
	Revision     int      `json:"revision"`
	CommentCount int      `json:"comment_count"`
}

func (s *Server) apiPostOf(projectSlug string, p *posts.Post, author *users.User) apiPostJSON {
	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	return apiPostJSON{
		ID: p.ID, Project: projectSlug, Slug: p.Slug, URL: s.opts.BaseURL + postURL(projectSlug, p),
		Title: p.Title, Body: p.Body, HTML: p.HTML, Excerpt: p.Excerpt, Summary: p.Summary, Tags: tags,
		Draft: p.Draft, Pinned: p.Pinned, Health: string(p.Health), Author: apiUserOf(author),
		PublishedAt: utc(p.PublishedAt), CreatedAt: utc(p.CreatedAt), UpdatedAt: utc(p.UpdatedAt), DeletedAt: utc(p.DeletedAt),
		Revision: p.Revision, CommentCount: p.CommentCount,
	}
}

// apiPosts turns posts of one project into JSON, reading their authors
// once.
func (s *Server) apiPosts(projectSlug string, list []*posts.Post) ([]apiPostJSON, error) {
	ids := make([]uint64, len(list))
	for i, p := range list {
		ids[i] = p.AuthorID
	}
	authors, err := s.users.ByIDs(ids)
	if err != nil {
		return nil, err
	}
	out := make([]apiPostJSON, len(list))
	for i, p := range list {
		out[i] = s.apiPostOf(projectSlug, p, authors[p.AuthorID])
	}
	return out, nil
}

// apiOnePost answers one post with its author.
func (s *Server) apiOnePost(c echo.Context, status int, projectSlug string, p *posts.Post) error {
	list, err := s.apiPosts(projectSlug, []*posts.Post{p})
	if err != nil {
		return err
	}
	return apiJSON(c, status, list[0])
}

type apiCommentJSON struct {
	ID        uint64   `json:"id"`
	PostID    uint64   `json:"post_id"`
	ParentID  uint64   `json:"parent_id"` // the thread's top-level comment; 0 for a top-level comment
	URL       string   `json:"url"`
	Author    apiUser  `json:"author"`
	Body      string   `json:"body"` // "" for a deleted comment kept as a placeholder
	HTML      string   `json:"html"`
	Decision  bool     `json:"decision"`
	Deleted   bool     `json:"deleted"`
	CreatedAt *apiTime `json:"created_at"`
	UpdatedAt *apiTime `json:"updated_at"`
}

func (s *Server) apiCommentOf(postLink string, cm *posts.Comment, author *users.User) apiCommentJSON {
	return apiCommentJSON{
		ID: cm.ID, PostID: cm.PostID, ParentID: cm.ParentID, URL: s.opts.BaseURL + postLink + "#comment-" + strconv.FormatUint(cm.ID, 10),
		Author: apiUserOf(author), Body: cm.Body, HTML: cm.HTML, Decision: cm.Decision, Deleted: cm.Deleted(),
		CreatedAt: utc(cm.CreatedAt), UpdatedAt: utc(cm.UpdatedAt),
	}
}

// The handlers.

func (s *Server) apiMe(c echo.Context) error {
	u := currentUser(c)
	sc, _ := c.Get(ctxAPIScope).(users.APIScope)
	return apiJSON(c, http.StatusOK, map[string]any{
		"user":  map[string]any{"id": u.ID, "name": u.Name, "handle": u.Handle, "email": u.Email, "admin": u.Admin},
		"scope": sc,
	})
}

func (s *Server) apiProjects(c echo.Context) error {
	a := actor(c)
	list, err := s.posts.Projects(a)
	if err != nil {
		return err
	}
	out := make([]apiProjectJSON, len(list))
	for i, pv := range list {
		out[i] = s.apiProjectOf(a, pv)
	}
	return apiJSON(c, http.StatusOK, map[string]any{"projects": out})
}

func (s *Server) apiProject(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("slug"))
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, s.apiProjectOf(a, pv))
}

// apiProjectPosts pages through a project's published posts, newest first.
// Pinned posts are not in that list: the first page (no cursor) carries
// them all in "pinned", so the first page plus every next page list each
// published post exactly once.
func (s *Server) apiProjectPosts(c echo.Context) error {
	limit, err := apiLimit(c)
	if err != nil {
		return err
	}
	cursor := c.QueryParam("cursor")
	slug := c.Param("slug")
	pinned, page, err := s.posts.ProjectPosts(actor(c), slug, cursor, limit)
	if apperr.Is(err, apperr.Invalid) && cursor != "" {
		return badRequest("The cursor is not valid: pass the next_cursor of the previous answer unchanged, or no cursor for the first page.")
	}
	if err != nil {
		return err
	}
	all := append(append([]*posts.Post(nil), pinned...), page.Posts...)
	js, err := s.apiPosts(slug, all)
	if err != nil {
		return err
	}
	var next *string
	if page.Next != "" {
		next = &page.Next
	}
	return apiJSON(c, http.StatusOK, map[string]any{
		"posts":       js[len(pinned):],
		"pinned":      js[:len(pinned)],
		"next_cursor": next,
	})
}

// apiPostInput is the JSON of a new post.
type apiPostInput struct {
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	Tags    []string `json:"tags"`
	Draft   bool     `json:"draft"`
	Excerpt string   `json:"excerpt"`
	Health  string   `json:"health"`
	Slug    string   `json:"slug"`
}

func (s *Server) apiCreatePost(c echo.Context) error {
	var in apiPostInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	slug := c.Param("slug")
	p, err := s.posts.CreatePost(actor(c), slug, posts.PostInput{
		Title: in.Title, Body: normalizeNewlines(in.Body), Tags: in.Tags, Draft: in.Draft,
		Excerpt: in.Excerpt, Health: posts.Health(in.Health), Slug: in.Slug,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/posts/"+strconv.FormatUint(p.ID, 10))
	return s.apiOnePost(c, http.StatusCreated, slug, p)
}

func normalizeNewlines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func (s *Server) apiPost(c echo.Context) error {
	id, err := apiID(c, "No such post.")
	if err != nil {
		return err
	}
	p, pv, err := s.posts.Post(actor(c), id)
	if err != nil {
		return err
	}
	return s.apiOnePost(c, http.StatusOK, pv.Slug, p)
}

// apiPostPatch is the JSON of a partial update: a field that is absent (or
// null) keeps its value.
type apiPostPatch struct {
	Title    *string   `json:"title"`
	Body     *string   `json:"body"`
	Tags     *[]string `json:"tags"`
	Draft    *bool     `json:"draft"`
	Excerpt  *string   `json:"excerpt"`
	Health   *string   `json:"health"`
	Slug     *string   `json:"slug"`
	Revision *int      `json:"revision"` // the revision the change was made against; 409 if the post moved on
}

// apiUpdatePost changes the fields the request names and keeps the
// others. Without "revision", the change is applied to the post as it is
// now: should someone else save a new revision between reading it and
// writing, the fields are applied again to theirs (a few times at most),
// so nobody's edit of other fields is lost.
func (s *Server) apiUpdatePost(c echo.Context) error {
	id, err := apiID(c, "No such post.")
	if err != nil {
		return err
	}
	var in apiPostPatch
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	a := actor(c)
	for attempt := 0; ; attempt++ {
		cur, pv, err := s.posts.Post(a, id)
		if err != nil {
			return err
		}
		pi := posts.PostInput{
			Title: cur.Title, Body: cur.Body, Tags: cur.Tags, Draft: cur.Draft, Excerpt: cur.Excerpt,
			Health: cur.Health, Pinned: cur.Pinned, BaseRevision: cur.Revision,
		}
		if in.Title != nil {
			pi.Title = *in.Title
		}
		if in.Body != nil {
			pi.Body = normalizeNewlines(*in.Body)
		}
		if in.Tags != nil {
			pi.Tags = *in.Tags
		}
		if in.Draft != nil {
			pi.Draft = *in.Draft
		}
		if in.Excerpt != nil {
			pi.Excerpt = *in.Excerpt
		}
		if in.Health != nil {
			pi.Health = posts.Health(*in.Health)
		}
		if in.Slug != nil {
			pi.Slug = *in.Slug
		}
		if in.Revision != nil {
			if *in.Revision < 1 {
				return badRequest("revision must be a revision number (1 or more), as the post's \"revision\" says.")
			}
			pi.BaseRevision = *in.Revision
		}
		p, err := s.posts.UpdatePost(a, id, pi)
		if apperr.Is(err, apperr.Conflict) && in.Revision == nil && attempt < 3 {
			if now, _, rerr := s.posts.Post(a, id); rerr == nil && now.Revision != cur.Revision {
				continue // someone saved a revision meanwhile: apply the change to theirs
			}
		}
		if err != nil {
			return err
		}
		return s.apiOnePost(c, http.StatusOK, pv.Slug, p)
	}
}

func (s *Server) apiComments(c echo.Context) error {
	id, err := apiID(c, "No such post.")
	if err != nil {
		return err
	}
	a := actor(c)
	p, pv, err := s.posts.Post(a, id)
	if err != nil {
		return err
	}
	list, err := s.posts.Comments(a, id)
	if err != nil {
		return err
	}
	ids := make([]uint64, len(list))
	for i, cm := range list {
		ids[i] = cm.AuthorID
	}
	authors, err := s.users.ByIDs(ids)
	if err != nil {
		return err
	}
	link := postURL(pv.Slug, p)
	out := make([]apiCommentJSON, len(list))
	for i, cm := range list {
		out[i] = s.apiCommentOf(link, cm, authors[cm.AuthorID])
	}
	return apiJSON(c, http.StatusOK, map[string]any{"comments": out})
}

// apiCommentInput is the JSON of a new comment.
type apiCommentInput struct {
	Body     string `json:"body"`
	ParentID uint64 `json:"parent_id"`
}

func (s *Server) apiAddComment(c echo.Context) error {
	id, err := apiID(c, "No such post.")
	if err != nil {
		return err
	}
	var in apiCommentInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	a := actor(c)
	cm, err := s.posts.AddComment(a, id, posts.CommentInput{Body: normalizeNewlines(in.Body), ParentID: in.ParentID})
	if err != nil {
		return err
	}
	p, pv, err := s.posts.Post(a, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/posts/"+strconv.FormatUint(id, 10)+"/comments")
	return apiJSON(c, http.StatusCreated, s.apiCommentOf(postURL(pv.Slug, p), cm, currentUser(c)))
}
