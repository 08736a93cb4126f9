package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"projblog/internal/apperr"
	"projblog/internal/notify"
)

// Guest readers.
//
// A guest subscriber of a project (notify/guests.go) opens its magic link
// /guest/TOKEN: the token is checked, kept in an HttpOnly cookie
// (notify.GuestCookie, 30 days, renewed by every click on a link from a
// digest) and the guest is sent to the project. On every request without
// a signed-in user, loadSession calls loadGuest, which turns a valid
// cookie into a notify.GuestGrant; actor(c) then answers
// access.Actor{GuestOf: project}, and package access alone decides what
// that reader may do: read that one project like a viewer (its pages,
// posts, comments, files and feeds), nothing else. A cookie whose token no
// longer works (the owner removed the guest or renewed the link) is
// cleared and the reader is anonymous again, at the next request.
//
// A guest's pages are never served from or put in the page cache
// (pagecache.go keeps what anonymous readers see): cacheable there
// leaves them out. Their feed URLs carry their token
// (?token=pbg_...), which feedActor reads.
//
// The owners manage the guests on the project's settings page: add (an
// address and the digest, weekly or daily), renew the link, remove.

const ctxGuest = "guest"

// guestCookieAge is how long a browser keeps a guest's cookie after the
// last click on a magic link.
const guestCookieAge = 30 * 86400

func (s *Server) registerGuestRoutes(e *echo.Echo) {
	e.GET("/guest/:token", s.guestLanding)
	e.POST("/guest/leave", s.guestLeave)
	e.POST("/p/:project/guests", s.addGuest, s.requireLogin)
	e.POST("/p/:project/guests/:id/delete", s.removeGuest, s.requireLogin)
	e.POST("/p/:project/guests/:id/renew", s.renewGuest, s.requireLogin)
}

// currentGuest is the guest grant of the reader, nil for anyone else.
func currentGuest(c echo.Context) *notify.GuestGrant {
	g, _ := c.Get(ctxGuest).(*notify.GuestGrant)
	return g
}

// loadGuest reads the guest cookie of a reader who is not signed in.
func (s *Server) loadGuest(c echo.Context) {
	ck, err := c.Cookie(notify.GuestCookie)
	if err != nil || ck.Value == "" {
		return
	}
	g, err := s.notify.GuestByToken(ck.Value)
	if err != nil {
		if !apperr.Is(err, apperr.NotFound) {
			s.log.Error("guest cookie", "err", err)
			return
		}
		s.setGuestCookie(c, "")
		return
	}
	c.Set(ctxGuest, g)
}

// guestToken is the token of the reader's guest cookie ("" for others).
func guestToken(c echo.Context) string {
	if currentGuest(c) == nil {
		return ""
	}
	if ck, err := c.Cookie(notify.GuestCookie); err == nil {
		return ck.Value
	}
	return ""
}

func (s *Server) setGuestCookie(c echo.Context, token string) {
	age := guestCookieAge
	if token == "" {
		age = -1
	}
	c.SetCookie(&http.Cookie{Name: notify.GuestCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: age})
}

// guestLanding is the magic link: a valid token goes into the cookie and
// the guest to their project. It changes nothing on the server, so a link
// scanner that follows it does no harm.
func (s *Server) guestLanding(c echo.Context) error {
	token := c.Param("token")
	g, err := s.notify.GuestByToken(token)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	s.setGuestCookie(c, token)
	return c.Redirect(http.StatusSeeOther, "/p/"+g.ProjectSlug)
}

// guestLeave forgets the guest's cookie on this browser.
func (s *Server) guestLeave(c echo.Context) error {
	s.setGuestCookie(c, "")
	return s.redirectFlash(c, "/", "guest_left")
}

// guestError re-renders the project's settings with the guest form's
// error and what was typed.
func (s *Server) guestError(c echo.Context, err error) error {
	pv, perr := s.posts.Project(actor(c), c.Param("project"))
	code := apperr.CodeOf(err)
	if perr != nil || code == apperr.NotFound || code == apperr.Forbidden || code == apperr.Unauthorized {
		return err
	}
	p, perr := s.settingsPage(c, pv, projectInputOf(pv))
	if perr != nil {
		return perr
	}
	status, err := formErrors(p, err)
	if err != nil {
		return err
	}
	p.Data["GuestEmail"] = c.FormValue("guest_email")
	p.Data["GuestMode"] = c.FormValue("guest_mode")
	return s.renderStatus(c, status, "project_settings", p)
}

func (s *Server) addGuest(c echo.Context) error {
	slug := c.Param("project")
	if _, err := s.notify.AddGuest(actor(c), slug, c.FormValue("guest_email"), notify.Mode(c.FormValue("guest_mode"))); err != nil {
		return s.guestError(c, err)
	}
	return s.redirectFlash(c, "/p/"+slug+"/settings#guests-h", "guest_added")
}

func guestID(c echo.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return 0, apperr.New(apperr.NotFound, "No such guest in this project.")
	}
	return id, nil
}

func (s *Server) removeGuest(c echo.Context) error {
	id, err := guestID(c)
	if err != nil {
		return err
	}
	slug := c.Param("project")
	if err := s.notify.RemoveGuest(actor(c), slug, id); err != nil {
		return err
	}
	return s.redirectFlash(c, "/p/"+slug+"/settings#guests-h", "guest_removed")
}

func (s *Server) renewGuest(c echo.Context) error {
	id, err := guestID(c)
	if err != nil {
		return err
	}
	slug := c.Param("project")
	if err := s.notify.RenewGuestLink(actor(c), slug, id); err != nil {
		return err
	}
	return s.redirectFlash(c, "/p/"+slug+"/settings#guests-h", "guest_renewed")
}
