package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/feeds"
	"projblog/internal/markdown"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// Feed limits: ?limit= chooses how many entries, up to feedMaxLimit.
const (
	feedDefaultLimit = 50
	feedMaxLimit     = posts.MaxLimit
)

// Every feed exists in three formats at the same path with another
// extension: /feed.atom, /feed.rss, /feed.json.
var feedFormats = []feeds.Format{feeds.Atom, feeds.RSS, feeds.JSON}

func (s *Server) registerFeedRoutes(e *echo.Echo) {
	for _, f := range feedFormats {
		f := f
		ext := f.Ext()
		e.GET("/feed"+ext, s.feedHandler(f, s.siteFeed))
		e.GET("/p/:project/feed"+ext, s.feedHandler(f, s.projectFeed))
		e.GET("/p/:project/tags/:tag/feed"+ext, s.feedHandler(f, s.projectTagFeed))
		e.GET("/tags/:tag/feed"+ext, s.feedHandler(f, s.tagFeed))
		e.GET("/people/:handle/feed"+ext, s.feedHandler(f, s.personFeed))
		e.GET("/me/feed"+ext, s.feedHandler(f, s.myFeed))
	}
	for _, f := range feedFormats {
		e.GET("/p/:project/:post/comments"+f.Ext(), s.commentsFeed(f))
	}
	e.GET("/feeds.opml", s.opml)
}

// feedReader is who reads a feed: the owner of the ?token=, else the
// signed-in user of a browser, else anonymous. A token that is not valid
// (unknown, regenerated away, its user deactivated) is answered 404: the
// URL is dead, and saying more would tell a guesser something.
func (s *Server) feedReader(c echo.Context) (*users.User, bool, error) {
	if tok := c.QueryParam("token"); tok != "" {
		if strings.HasPrefix(tok, notify.GuestTokenPrefix) {
			return nil, true, apperr.New(apperr.NotFound, "This feed address is not valid here.")
		}
		u, err := s.users.UserByFeedToken(tok)
		if err != nil {
			return nil, true, apperr.New(apperr.NotFound, "This feed address is not valid (its key may have been renewed). Copy the current address from the project page.")
		}
		return u, true, nil
	}
	return currentUser(c), false, nil
}

// feedSpec is what a feed handler found: the posts, newest first, and what
// the feed is called and mirrors.
type feedSpec struct {
	what        string // for the feed id: "site", "project/apollo", ...
	title       string
	description string
	altPath     string // the HTML page it mirrors
	posts       []*posts.Post
	entries     []feeds.Entry // ready-made entries (comments), instead of posts
}

type feedBuilder func(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error)

// feedHandler answers one feed in one format: conditional requests first
// (an ETag made of the event-log head and who reads, checked before any
// database read), then the feed built from exactly the entries it shows.
// feedActor is who reads a project's feed: a guest's ?token= (their
// personal feed link) or guest cookie grants one project (see
// handle_guests.go); else as feedReader. The guest's ID goes into the
// returned key, which the ETag and caching use.
func (s *Server) feedActor(c echo.Context) (*users.User, access.Actor, string, error) {
	if tok := c.QueryParam("token"); strings.HasPrefix(tok, notify.GuestTokenPrefix) {
		g, err := s.notify.GuestByToken(tok)
		if err != nil {
			return nil, access.Anonymous, "", apperr.New(apperr.NotFound, "This feed address does not work any more: ask the project's owner for a new link.")
		}
		return nil, g.Actor(), "guest" + strconv.FormatUint(g.GuestID, 10), nil
	}
	u, _, err := s.feedReader(c)
	if err != nil {
		return nil, access.Anonymous, "", err
	}
	if u != nil {
		return u, u.Actor(), strconv.FormatUint(u.ID, 10), nil
	}
	if g := currentGuest(c); g != nil {
		return nil, g.Actor(), "guest" + strconv.FormatUint(g.GuestID, 10), nil
	}
	return nil, access.Anonymous, "0", nil
}

func (s *Server) feedHandler(format feeds.Format, build feedBuilder) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, a, who, err := s.feedActor(c)
		if err != nil {
			return err
		}
		limit := feedDefaultLimit
		if v := c.QueryParam("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return apperr.New(apperr.Invalid, "limit must be a number from 1 to %d.", feedMaxLimit)
			}
			limit = min(n, feedMaxLimit)
		}
		h := c.Response().Header()
		if a != access.Anonymous {
			h.Set("Cache-Control", "private, max-age=300")
		} else {
			h.Set("Cache-Control", "public, max-age=300")
		}
		h.Set("Vary", "Accept-Encoding, Cookie")
		lang := lang(c)
		if u != nil && u.Language != "" {
			lang = u.Language
		}
		etag := fmt.Sprintf(`"f%d-%s"`, s.db.Head(), shortHash(c.Request().URL.Path, strconv.Itoa(limit), who, lang, c.QueryParam("token")))
		// The ETag only ever leaves with a 200 or a 304, so a client that
		// holds one has seen this feed at this head.
		if inm := c.Request().Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			h.Set("ETag", etag)
			return c.NoContent(http.StatusNotModified)
		}

		spec, err := build(c, a, u, limit)
		if err != nil {
			return err
		}
		entries := spec.entries
		if entries == nil {
			if entries, err = s.feedEntries(a, spec.posts); err != nil {
				return err
			}
		}
		f := &feeds.Feed{
			ID:          feeds.FeedID(s.opts.BaseURL, spec.what),
			Title:       spec.title,
			Description: spec.description,
			SelfURL:     s.opts.BaseURL + c.Request().URL.RequestURI(),
			AltURL:      s.opts.BaseURL + spec.altPath,
			Language:    lang,
			Entries:     entries,
			Generator:   "projblog",
		}
		h.Set("ETag", etag)
		if updated := f.Updated(); !updated.IsZero() {
			h.Set("Last-Modified", updated.UTC().Format(http.TimeFormat))
			if ims := c.Request().Header.Get("If-Modified-Since"); ims != "" && c.Request().Header.Get("If-None-Match") == "" {
				if t, err := http.ParseTime(ims); err == nil && !updated.Truncate(time.Second).After(t) {
					return c.NoContent(http.StatusNotModified)
				}
			}
		}
		var buf strings.Builder
		if err := feeds.Render(&buf, f, format, s.opts.BaseURL); err != nil {
			return err
		}
		return c.Blob(http.StatusOK, format.ContentType(), []byte(buf.String()))
	}
}

// etagMatch reports whether an If-None-Match header lists etag (or *).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:10])
}

// feedEntries turns posts into entries, with their authors and permalinks,
// reading each author and project once.
func (s *Server) feedEntries(a access.Actor, list []*posts.Post) ([]feeds.Entry, error) {
	ens, err := s.entries(a, list, true)
	if err != nil {
		return nil, err
	}
	out := make([]feeds.Entry, 0, len(ens))
	for _, en := range ens {
		p := en.Post
		if en.Project == nil {
			continue
		}
		updated := p.UpdatedAt
		if updated.Before(p.PublishedAt) {
			updated = p.PublishedAt
		}
		out = append(out, feeds.Entry{
			ID:          feeds.EntryID(s.opts.BaseURL, p.CreatedAt, p.ID),
			Title:       p.Title,
			URL:         s.opts.BaseURL + postURL(en.Project.Slug, p),
			AuthorName:  en.Author.Name,
			AuthorEmail: authorEmail(en.Author),
			Published:   p.PublishedAt,
			Updated:     updated,
			Categories:  categories(p),
			ContentHTML: markdown.StripAnchors(p.HTML),
			Summary:     p.Summary,
		})
	}
	return out, nil
}

func (s *Server) siteFeed(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error) {
	pg, err := s.posts.Recent(a, "", limit)
	if err != nil {
		return nil, err
	}
	l := lang(c)
	return &feedSpec{what: "site", title: s.t(l, "feed.site_title"), description: s.t(l, "feed.site_description"),
		altPath: "/", posts: pg.Posts}, nil
}

func (s *Server) projectFeed(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error) {
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return nil, err
	}
	pinned, pg, err := s.posts.ProjectPosts(a, pv.Slug, "", limit)
	if err != nil {
		return nil, err
	}
	// A feed is in publication order: pinned posts take their place by date.
	list := append(pinned, pg.Posts...)
	sort.SliceStable(list, func(i, j int) bool { return list[i].PublishedAt.After(list[j].PublishedAt) })
	if len(list) > limit {
		list = list[:limit]
	}
	desc := pv.Description
	if desc == "" {
		desc = s.t(lang(c), "feed.project_description", pv.Name)
	}
	return &feedSpec{what: "project/" + pv.Slug, title: pv.Name, description: desc, altPath: "/p/" + pv.Slug, posts: list}, nil
}

func (s *Server) projectTagFeed(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error) {
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return nil, err
	}
	tag, err := posts.NormalizeTag(c.Param("tag"))
	if err != nil {
		return nil, err
	}
	pg, err := s.posts.TagPosts(a, pv.Slug, tag, "", limit)
	if err != nil {
		return nil, err
	}
	l := lang(c)
	return &feedSpec{what: "project/" + pv.Slug + "/tag/" + tag, title: pv.Name + " · #" + tag,
		description: s.t(l, "feed.tag_description", tag), altPath: "/p/" + pv.Slug + "/tags/" + url.PathEscape(tag), posts: pg.Posts}, nil
}

func (s *Server) tagFeed(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error) {
	tag, err := posts.NormalizeTag(c.Param("tag"))
	if err != nil {
		return nil, err
	}
	pg, err := s.posts.TagPosts(a, "", tag, "", limit)
	if err != nil {
		return nil, err
	}
	l := lang(c)
	return &feedSpec{what: "tag/" + tag, title: "#" + tag, description: s.t(l, "feed.tag_description", tag),
		altPath: "/tags/" + url.PathEscape(tag), posts: pg.Posts}, nil
}

func (s *Server) personFeed(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error) {
	person, err := s.users.ByHandle(c.Param("handle"))
	if err != nil {
		return nil, err
	}
	pg, err := s.posts.AuthorPosts(a, person.ID, "", limit)
	if err != nil {
		return nil, err
	}
	if !a.LoggedIn() && len(pg.Posts) == 0 {
		return nil, errNotFound("No such person.")
	}
	l := lang(c)
	return &feedSpec{what: "person/" + person.Handle, title: person.Name, description: s.t(l, "feed.person_description", person.Name),
		altPath: "/people/" + person.Handle, posts: pg.Posts}, nil
}

// myFeedPages bounds how far the personal feed looks back through the
// site-wide index for posts of the reader's own projects.
const myFeedPages = 20

// myFeed is the reader's "everything I follow": for now, every project they
// are a member of (subscriptions will widen it). It walks the site-wide
// newest-first index and keeps the reader's projects' posts.
func (s *Server) myFeed(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error) {
	if u == nil {
		return nil, apperr.New(apperr.NotFound, "This feed needs your personal feed address (with its key), shown under Settings.")
	}
	mine, err := s.posts.ProjectsOf(u.ID)
	if err != nil {
		return nil, err
	}
	in := map[uint64]bool{}
	for _, pv := range mine {
		in[pv.ID] = true
	}
	var list []*posts.Post
	cursor := ""
	for range myFeedPages {
		pg, err := s.posts.Recent(a, cursor, posts.MaxLimit)
		if err != nil {
			return nil, err
		}
		for _, p := range pg.Posts {
			if in[p.ProjectID] && len(list) < limit {
				list = append(list, p)
			}
		}
		if len(list) >= limit || pg.Next == "" {
			break
		}
		cursor = pg.Next
	}
	l := lang(c)
	return &feedSpec{what: "person/" + u.Handle + "/following", title: s.t(l, "feed.mine_title", u.Name),
		description: s.t(l, "feed.mine_description"), altPath: "/", posts: list}, nil
}

// feedURL is the absolute URL of a feed for the reader: with their token
// when the feed shows something not public.
func (s *Server) feedURL(path string, format feeds.Format, token string) string {
	u := s.opts.BaseURL + path + format.Ext()
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	return u
}

// opml lists the Atom feed of every project the reader can see, plus their
// own feed, for a feed reader to import in one step.
func (s *Server) opml(c echo.Context) error {
	u, _, err := s.feedReader(c)
	if err != nil {
		return err
	}
	if u == nil {
		return apperr.New(apperr.Unauthorized, "Please log in to download your feed list.")
	}
	token, err := s.users.FeedToken(u.ID)
	if err != nil {
		return err
	}
	projects, err := s.posts.Projects(u.Actor())
	if err != nil {
		return err
	}
	sort.Slice(projects, func(i, j int) bool { return strings.ToLower(projects[i].Name) < strings.ToLower(projects[j].Name) })
	l := u.Language
	if l == "" {
		l = lang(c)
	}
	outlines := []feeds.Outline{{Title: s.t(l, "feed.mine_title", u.Name), XMLURL: s.feedURL("/me/feed", feeds.Atom, token), HTMLURL: s.opts.BaseURL + "/"}}
	for _, pv := range projects {
		tok := token
		if pv.Visibility == access.Public {
			tok = ""
		}
		outlines = append(outlines, feeds.Outline{Title: pv.Name, XMLURL: s.feedURL("/p/"+pv.Slug+"/feed", feeds.Atom, tok), HTMLURL: s.opts.BaseURL + "/p/" + pv.Slug})
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Disposition", `attachment; filename="projblog-feeds.opml"`)
	var buf strings.Builder
	if err := feeds.WriteOPML(&buf, s.t(l, "feed.opml_title", u.Name), s.now(), outlines); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/x-opml; charset=utf-8", []byte(buf.String()))
}

// feedLink is a feed a page advertises (<link rel="alternate"> and the
// Subscribe box).
type feedLink struct {
	Format feeds.Format
	Title  string
	URL    string
}

// pageFeeds returns the three formats of the feed at path for the reader
// of c, with their token when the feed is not public.
func (s *Server) pageFeeds(c echo.Context, path, title string, public bool) []feedLink {
	token := ""
	if u := currentUser(c); u != nil && !public {
		if t, err := s.users.FeedToken(u.ID); err == nil {
			token = t
		} else {
			s.log.Error("feed token", "user", u.ID, "err", err)
		}
	} else if !public {
		token = guestToken(c) // a guest's feed links carry their own token
	}
	out := make([]feedLink, 0, len(feedFormats))
	for _, f := range feedFormats {
		out = append(out, feedLink{Format: f, Title: title, URL: s.feedURL(path, f, token)})
	}
	return out
}

// setFeeds puts the feed at path on page p (autodiscovery links and the
// Subscribe box).
func (s *Server) setFeeds(c echo.Context, p *page, path, title string, public bool) {
	p.Feeds = s.pageFeeds(c, path, title, public)
	p.FeedToken = currentUser(c) != nil && !public
	p.GuestFeedToken = currentGuest(c) != nil && !public
}

// authorEmail is the author's address for feeds, only with their consent.
func authorEmail(u *users.User) string {
	if u != nil && u.ShowEmail {
		return u.Email
	}
	return ""
}

// commentsFeed is the feed of one post's comments, newest first: for the
// stakeholder who follows one discussion without an account's e-mail.
func (s *Server) commentsFeed(format feeds.Format) echo.HandlerFunc {
	return s.feedHandler(format, func(c echo.Context, a access.Actor, u *users.User, limit int) (*feedSpec, error) {
		post, pv, canonical, err := s.posts.ResolvePost(a, c.Param("project"), c.Param("post"))
		if err != nil {
			return nil, err
		}
		if !canonical || post.Draft || !post.DeletedAt.IsZero() {
			return nil, apperr.New(apperr.NotFound, "No such post.")
		}
		comments, err := s.posts.Comments(a, post.ID)
		if err != nil {
			return nil, err
		}
		l := lang(c)
		spec := &feedSpec{what: fmt.Sprintf("post/%d/comments", post.ID), title: s.t(l, "feed.comments_title", post.Title),
			description: s.t(l, "feed.comments_description", post.Title, pv.Name), altPath: postURL(pv.Slug, post) + "#comments"}
		var ids []uint64
		for _, cm := range comments {
			ids = append(ids, cm.AuthorID)
		}
		people, err := s.users.ByIDs(ids)
		if err != nil {
			return nil, err
		}
		for i := len(comments) - 1; i >= 0 && len(spec.entries) < limit; i-- {
			cm := comments[i]
			if !cm.DeletedAt.IsZero() {
				continue
			}
			name := "?"
			if au := people[cm.AuthorID]; au != nil {
				name = au.Name
			}
			spec.entries = append(spec.entries, feeds.Entry{
				ID:          feeds.CommentEntryID(s.opts.BaseURL, cm.CreatedAt, cm.ID),
				Title:       s.t(l, "feed.comment_entry_title", name, post.Title),
				URL:         fmt.Sprintf("%s%s#comment-%d", s.opts.BaseURL, postURL(pv.Slug, post), cm.ID),
				AuthorName:  name,
				AuthorEmail: authorEmail(people[cm.AuthorID]),
				Published:   cm.CreatedAt,
				Updated:     cm.UpdatedAt,
				ContentHTML: cm.HTML,
			})
		}
		sort.SliceStable(spec.entries, func(i, j int) bool { return spec.entries[i].Published.After(spec.entries[j].Published) })
		return spec, nil
	})
}

// categories are a post's tags, and for a status update its health as
// "health:at_risk", so a feed reader can filter on it.
func categories(p *posts.Post) []string {
	out := append([]string(nil), p.Tags...)
	if p.Health != "" {
		out = append(out, "health:"+string(p.Health))
	}
	return out
}
