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

// resumeField is an editor field carried through the login form.
type resumeField struct{ Name, Value string }

// loginToResume answers a post or an edit sent after the session expired:
// a login form (401) that carries every editor field, so that logging in
// brings the editor back with the text (see login).
func (s *Server) loginToResume(c echo.Context) error {
	s.freshCSRF(c)
	p := s.page(c, "")
	p.Title = p.T("login.title")
	p.Flash = p.T("flash.session_expired")
	p.Error = p.T("login.resume")
	p.Data["Next"] = c.Request().URL.Path
	var carried []resumeField
	for _, name := range editorFields {
		if v := c.FormValue(name); v != "" {
			carried = append(carried, resumeField{name, v})
		}
	}
	p.Data["Resume"] = carried
	return s.renderStatus(c, http.StatusUnauthorized, "login", p)
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
		if c.FormValue("resume") == "1" {
			var carried []resumeField
			for _, name := range editorFields {
				if v := c.FormValue(name); v != "" {
					carried = append(carried, resumeField{name, v})
				}
			}
			p.Data["Resume"] = carried
		}
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
	if m := editorPath.FindStringSubmatch(next); m != nil && c.FormValue("resume") == "1" {
		// Back into the editor with what was typed before the session
		// expired; nothing is saved until the person submits it.
		c.Set(ctxUser, u)
		if err := s.editorWithInput(c, m[1], m[2], http.StatusOK, "editor.resumed"); err == nil {
			return nil
		}
	}
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
