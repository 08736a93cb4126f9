package web

import (
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"projblog/internal/apperr"
	"projblog/internal/i18n"
	"projblog/internal/posts"
	"projblog/internal/search"
	"projblog/internal/users"
)

// Search: the page /search (a form that is also its own result page, so a
// search is a link one can share) and GET /api/v1/search. The query
// parameters are the same for both:
//
//	q          the text (see package search for its syntax), required
//	project    a project's slug
//	tag        a tag
//	author     a person's handle, with or without "@"
//	from, to   dates, YYYY-MM-DD, both included, in the reader's time zone
//	           (the API: UTC)
//	health     on_track, at_risk or off_track: status updates only
//	decisions  1 (or true): decisions only
//	page       the page, from 1 (the API: offset and limit instead)
//
// The page without q is the empty form; with bad input it is shown again,
// filled in, with the message and status 400 (404 for a project filter
// naming a project the reader may not read).

// searchPageSize is the number of hits on a page of /search.
const searchPageSize = 20

// registerSearchRoutes registers /search and /api/v1/search.
func (s *Server) registerSearchRoutes(e *echo.Echo) {
	e.GET("/search", s.searchPage)
	e.GET("/api/v1/search", s.apiSearch, s.apiAuth)
}

// searchForm is the form as the reader filled it in, to show it again.
type searchForm struct {
	Q, Project, Tag, Author, From, To, Health string
	Decisions                                 bool
}

// Filtered reports whether any filter is set, to open the filters.
func (f searchForm) Filtered() bool {
	return f.Project != "" || f.Tag != "" || f.Author != "" || f.From != "" || f.To != "" || f.Health != "" || f.Decisions
}

func searchFormOf(c echo.Context) searchForm {
	return searchForm{
		Q: c.QueryParam("q"), Project: c.QueryParam("project"), Tag: c.QueryParam("tag"),
		Author: c.QueryParam("author"), From: c.QueryParam("from"), To: c.QueryParam("to"),
		Health: c.QueryParam("health"), Decisions: truthy(c.QueryParam("decisions")),
	}
}

func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

// searchQuery turns the form into a query. Bad input is an apperr.Invalid
// naming the field, in the words of tr (the reader's language, or English
// for the API); days are read in loc.
func (s *Server) searchQuery(f searchForm, loc *time.Location, tr func(key string, args ...any) string) (search.Query, error) {
	q := search.Query{Text: f.Q, Project: f.Project, Health: posts.Health(f.Health), DecisionsOnly: f.Decisions}
	text := strings.TrimSpace(f.Q)
	switch {
	case !utf8.ValidString(text):
		return q, apperr.FieldErr("q", "%s", tr("search.error.utf8"))
	case text == "":
		return q, apperr.FieldErr("q", "%s", tr("search.error.empty"))
	case utf8.RuneCountInString(text) > search.MaxQueryRunes:
		return q, apperr.FieldErr("q", "%s", tr("search.error.too_long", search.MaxQueryRunes))
	}
	if t := strings.TrimPrefix(strings.TrimSpace(f.Tag), "#"); t != "" {
		tag, err := posts.NormalizeTag(t)
		if err != nil {
			return q, apperr.FieldErr("tag", "%s", tr("search.error.tag"))
		}
		q.Tag = tag
	}
	if h := strings.TrimPrefix(strings.TrimSpace(f.Author), "@"); h != "" {
		u, err := s.users.ByHandle(h)
		if apperr.Is(err, apperr.NotFound) {
			return q, apperr.FieldErr("author", "%s", tr("search.error.author", h))
		}
		if err != nil {
			return q, err
		}
		q.AuthorID = u.ID
	}
	day := func(field, v string) (time.Time, error) {
		if v = strings.TrimSpace(v); v == "" {
			return time.Time{}, nil
		}
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil || t.Year() < 1900 || t.Year() > 2200 {
			return time.Time{}, apperr.FieldErr(field, "%s", tr("search.error.date"))
		}
		return t, nil
	}
	var err error
	if q.From, err = day("from", f.From); err != nil {
		return q, err
	}
	if q.To, err = day("to", f.To); err != nil {
		return q, err
	}
	if !q.To.IsZero() {
		q.To = q.To.AddDate(0, 0, 1) // the end day is included
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, apperr.FieldErr("to", "%s", tr("search.error.order"))
	}
	if !q.Health.Valid() {
		return q, apperr.FieldErr("health", "%s", tr("search.error.health"))
	}
	return q, nil
}

// searchRow is one hit as the page shows it.
type searchRow struct {
	search.Hit
	URL     string
	Project *posts.ProjectView
	Author  *users.User
}

// searchRows joins hits with their projects and authors.
func (s *Server) searchRows(hits []search.Hit, projects map[uint64]*posts.ProjectView) ([]searchRow, error) {
	ids := make([]uint64, len(hits))
	for i, h := range hits {
		ids[i] = h.AuthorID
	}
	authors, err := s.users.ByIDs(ids)
	if err != nil {
		return nil, err
	}
	out := make([]searchRow, 0, len(hits))
	for _, h := range hits {
		pv := projects[h.ProjectID]
		if pv == nil {
			continue // not readable any more, since the search began
		}
		r := searchRow{Hit: h, Project: pv, Author: authors[h.AuthorID], URL: "/p/" + pv.Slug + "/" + h.PostSlug}
		if h.Kind == search.KindComment {
			r.URL += "#comment-" + strconv.FormatUint(h.CommentID, 10)
		}
		if r.Author == nil {
			r.Author = &users.User{Name: "?"}
		}
		out = append(out, r)
	}
	return out, nil
}

// errNoSearch is the answer of a server started without an index.
func errNoSearch() error {
	return apperr.New(apperr.Unavailable, "Search is not available on this server.")
}

func (s *Server) searchPage(c echo.Context) error {
	a := actor(c)
	p := s.page(c, "")
	p.Title = p.T("search.title")
	p.Nav = "search"
	f := searchFormOf(c)
	p.Data["Form"] = f
	projects, err := s.posts.Projects(a)
	if err != nil {
		return err
	}
	p.Data["Projects"] = projects
	if !c.QueryParams().Has("q") {
		p.Data["Blank"] = true
		return s.render(c, "search", p) // the empty form (perhaps with filters chosen by a link)
	}
	if s.search == nil {
		return errNoSearch()
	}
	pageNo, _ := strconv.Atoi(c.QueryParam("page"))
	pageNo = max(pageNo, 1)
	q, err := s.searchQuery(f, s.location(c), p.T)
	if err == nil && (pageNo-1)*searchPageSize > search.MaxOffset {
		err = apperr.New(apperr.Invalid, "%s", p.T("search.error.page", search.MaxOffset))
	}
	var res *search.Results
	if err == nil {
		q.Limit, q.Offset = searchPageSize, (pageNo-1)*searchPageSize
		res, err = s.search.Search(a, q)
	}
	if err != nil {
		switch {
		case apperr.Is(err, apperr.NotFound): // the project filter
			err = &apperr.Error{Code: apperr.NotFound, Field: "project", Message: p.T("search.error.project")}
		case errors.Is(err, search.ErrOnlyExclusions):
			err = apperr.FieldErr("q", "%s", p.T("search.error.only_exclusions"))
		}
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		if status == http.StatusUnprocessableEntity {
			status = http.StatusBadRequest // a query string that cannot be searched
		}
		return s.renderStatus(c, status, "search", p)
	}
	byID := make(map[uint64]*posts.ProjectView, len(projects))
	for _, pv := range projects {
		byID[pv.ID] = pv
	}
	rows, err := s.searchRows(res.Hits, byID)
	if err != nil {
		return err
	}
	p.Title = p.T("search.title_for", strings.TrimSpace(f.Q))
	p.Data["Searched"] = true
	p.Data["Rows"] = rows
	p.Data["Total"] = res.Total
	pages := min((res.Total+searchPageSize-1)/searchPageSize, search.MaxOffset/searchPageSize+1)
	p.Data["Page"], p.Data["Pages"] = pageNo, pages
	link := func(n int) string {
		v := maps.Clone(c.QueryParams())
		v.Del("page")
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		return "/search?" + v.Encode()
	}
	if pageNo > 1 {
		p.Data["Prev"] = link(pageNo - 1)
	}
	if pageNo < pages {
		p.Data["Next"] = link(pageNo + 1)
	}
	c.Response().Header().Set("Cache-Control", "private, no-cache")
	return s.render(c, "search", p)
}

// The JSON of a hit.
type apiSearchHit struct {
	Kind      string   `json:"kind"`
	PostID    uint64   `json:"post_id"`
	CommentID uint64   `json:"comment_id"` // 0 for a post
	Project   string   `json:"project"`
	Title     string   `json:"title"`
	TitleHTML string   `json:"title_html"`
	URL       string   `json:"url"`
	Author    apiUser  `json:"author"`
	Time      *apiTime `json:"time"`
	Health    string   `json:"health"`
	Decision  bool     `json:"decision"`
	Score     float64  `json:"score"`
	Snippet   string   `json:"snippet"`
}

func (s *Server) apiSearch(c echo.Context) error {
	if s.search == nil {
		return errNoSearch()
	}
	a := actor(c)
	en := func(key string, args ...any) string { return i18n.T("en", key, args...) }
	q, err := s.searchQuery(searchFormOf(c), time.UTC, en)
	if err != nil {
		return err // 422, naming the parameter in "field"
	}
	if q.Limit, err = apiLimit(c); err != nil {
		return err
	}
	if v := c.QueryParam("offset"); v != "" {
		if q.Offset, err = strconv.Atoi(v); err != nil || q.Offset < 0 || q.Offset > search.MaxOffset {
			return badRequest("offset must be a whole number from 0 to %d.", search.MaxOffset)
		}
	}
	res, err := s.search.Search(a, q)
	if err != nil {
		return err
	}
	projects, err := s.posts.Projects(a)
	if err != nil {
		return err
	}
	byID := make(map[uint64]*posts.ProjectView, len(projects))
	for _, pv := range projects {
		byID[pv.ID] = pv
	}
	rows, err := s.searchRows(res.Hits, byID)
	if err != nil {
		return err
	}
	hits := make([]apiSearchHit, len(rows))
	for i, r := range rows {
		hits[i] = apiSearchHit{
			Kind: string(r.Kind), PostID: r.PostID, CommentID: r.CommentID, Project: r.Project.Slug,
			Title: r.Title, TitleHTML: r.TitleHTML, URL: s.opts.BaseURL + r.URL, Author: apiUserOf(r.Author),
			Time: utc(r.Time), Health: string(r.Health), Decision: r.Decision, Score: r.Score, Snippet: r.Snippet,
		}
	}
	var next *int
	if n := res.Offset + len(res.Hits); n < res.Total && n <= search.MaxOffset {
		next = &n
	}
	return apiJSON(c, http.StatusOK, map[string]any{
		"total": res.Total, "offset": res.Offset, "limit": res.Limit, "next_offset": next, "hits": hits,
	})
}
