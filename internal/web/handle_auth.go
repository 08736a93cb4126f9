package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"projblog/internal/apperr"
)

func (s *Server) registerAuthRoutes(e *echo.Echo) {
	e.GET("/login", s.loginForm)
	e.POST("/login", s.login)
	e.POST("/logout", s.logout)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) loginForm(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	p := s.page(c, "")
	p.Title = p.T("login.title")
	p.Data["Next"] = safeNext(c.QueryParam("next"))
	return s.render(c, "login", p)
}

func (s *Server) login(c echo.Context) error {
	email, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	u, err := s.users.Authenticate(email, password, c.RealIP())
	if err != nil {
		p := s.page(c, "")
		p.Title = p.T("login.title")
		p.Data["Next"] = next
		p.Data["Email"] = email
		status := statusOf(apperr.CodeOf(err))
		switch apperr.CodeOf(err) {
		case apperr.Unauthorized:
			p.Error = p.T("login.wrong")
		case apperr.TooMany:
			p.Error = p.T("login.throttled") + " " + apperr.MessageOf(err)
		default:
			return err
		}
		return s.renderStatus(c, status, "login", p)
	}
	token, err := s.users.CreateSession(u.ID, c.Request().UserAgent())
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	return s.redirectFlash(c, next, "welcome")
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := s.users.DeleteSession(ck.Value); err != nil && !apperr.Is(err, apperr.NotFound) {
			s.log.Warn("delete session", "err", err)
		}
	}
	s.clearSessionCookie(c)
	return s.redirectFlash(c, "/", "logged_out")
}

// formErrors copies an apperr onto the page: a field error beside its
// field, anything else at the top of the form. It returns the status the
// re-rendered form should carry; internal errors are returned as such.
func formErrors(p *page, err error) (int, error) {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code == apperr.Internal {
		return 0, err
	}
	if e.Field != "" && e.Field != "csrf" {
		p.FieldErrs[e.Field] = e.Message
	}
	p.Error = e.Message
	return statusOf(e.Code), nil
}
