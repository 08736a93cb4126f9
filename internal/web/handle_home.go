package web

import (
	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

const pageSize = 20

func (s *Server) registerHomeRoutes(e *echo.Echo) {
	e.GET("/", s.home)
	e.GET("/tags/:tag", s.siteTag)
	e.POST("/preview", s.preview)
}

// entry is one post as a list shows it.
type entry struct {
	Post    *posts.Post
	Author  *users.User
	Project *posts.Project
}

// entries joins posts with their authors and (when several projects are
// listed) their projects, each in one read.
func (s *Server) entries(a access.Actor, list []*posts.Post, withProject bool) ([]entry, error) {
	ids := make([]uint64, 0, len(list))
	for _, p := range list {
		ids = append(ids, p.AuthorID)
	}
	authors, err := s.users.ByIDs(ids)
	if err != nil {
		return nil, err
	}
	projects := map[uint64]*posts.Project{}
	out := make([]entry, 0, len(list))
	for _, p := range list {
		en := entry{Post: p, Author: authors[p.AuthorID]}
		if en.Author == nil {
			en.Author = &users.User{Name: "?"}
		}
		if withProject {
			pr, ok := projects[p.ProjectID]
			if !ok {
				if pv, err := s.posts.ProjectByID(a, p.ProjectID); err == nil {
					pr = pv.Project
				}
				projects[p.ProjectID] = pr
			}
			en.Project = pr
		}
		out = append(out, en)
	}
	return out, nil
}

func (s *Server) home(c echo.Context) error {
	a := actor(c)
	projects, err := s.posts.Projects(a)
	if err != nil {
		return err
	}
	recent, err := s.posts.Recent(a, c.QueryParam("after"), pageSize)
	if err != nil {
		return err
	}
	list, err := s.entries(a, recent.Posts, true)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T("home.title")
	p.Nav = "home"
	p.Data["Projects"] = projects
	p.Data["Entries"] = list
	p.Data["Next"] = recent.Next
	p.Data["Paged"] = c.QueryParam("after") != ""
	p.Data["Now"] = s.now()
	if u := currentUser(c); u != nil {
		waiting, err := s.posts.WaitingFor(a, u.ID)
		if err != nil {
			return err
		}
		p.Data["Waiting"] = waiting
	}
	s.setFeeds(c, p, "/feed", p.T("feed.site_title"), !a.LoggedIn())
	return s.render(c, "home", p)
}

func (s *Server) siteTag(c echo.Context) error {
	a := actor(c)
	tag, err := posts.NormalizeTag(c.Param("tag"))
	if err != nil {
		return err
	}
	pg, err := s.posts.TagPosts(a, "", tag, c.QueryParam("after"), pageSize)
	if err != nil {
		return err
	}
	list, err := s.entries(a, pg.Posts, true)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T("tag.title", tag)
	p.Data["Tag"] = tag
	if err := s.tagFollowBox(c, p, tag, "/tags/"+tag); err != nil {
		return err
	}
	s.setFeeds(c, p, "/tags/"+tag+"/feed", "#"+tag, !a.LoggedIn())
	p.Data["Entries"] = list
	p.Data["Next"] = pg.Next
	return s.render(c, "list", p)
}
