package web

import (
	"github.com/labstack/echo/v4"
)

func (s *Server) registerPeopleRoutes(e *echo.Echo) {
	e.GET("/people/:handle", s.personPage)
}

// personPage shows a person's posts in the projects the reader can see.
// An anonymous reader sees the page only of someone with public posts (the
// author links of public posts lead there); everyone else's page is 404 to
// them, so the staff directory is not public.
func (s *Server) personPage(c echo.Context) error {
	a := actor(c)
	u, err := s.users.ByHandle(c.Param("handle"))
	if err != nil {
		return err
	}
	pg, err := s.posts.AuthorPosts(a, u.ID, c.QueryParam("after"), pageSize)
	if err != nil {
		return err
	}
	if !a.LoggedIn() && len(pg.Posts) == 0 && c.QueryParam("after") == "" {
		return errNotFound("No such person.")
	}
	list, err := s.entries(a, pg.Posts, true)
	if err != nil {
		return err
	}
	p := s.page(c, u.Name)
	p.Data["Person"] = u
	if me := currentUser(c); me != nil && me.ID == u.ID {
		// One's own page also lists what waits for one's acknowledgement.
		waiting, err := s.posts.WaitingFor(a, u.ID)
		if err != nil {
			return err
		}
		p.Data["Waiting"] = waiting
	}
	p.Data["Entries"] = list
	p.Data["Next"] = pg.Next
	s.setFeeds(c, p, "/people/"+u.Handle+"/feed", u.Name, !a.LoggedIn())
	return s.render(c, "list", p)
}
