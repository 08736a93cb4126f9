package web

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/i18n"
	"projblog/internal/users"
)

const (
	sessionCookie = "projblog_session"
	ctxUser       = "user"
	ctxLang       = "lang"
	langCookie    = "projblog_lang"
	csrfCookie    = "projblog_csrf"
)

// contentSecurityPolicy allows no inline script and no framing. Images may
// come from https hosts because posts link pictures from elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic", "path", c.Request().URL.Path, "panic", r, "stack", string(debug.Stack()))
				err = apperr.Wrap(fmt.Errorf("%v", r), "panic")
			}
		}()
		return next(c)
	}
}

func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.logRequest(c.Request(), c.Response().Status, c.Response().Size, start, c.RealIP())
		return nil
	}
}

// logRequest writes a request's log line (also for the page cache's fast
// path, which answers before echo).
func (s *Server) logRequest(r *http.Request, status int, size int64, start time.Time, ip string) {
	s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", status,
		"bytes", size, "duration", time.Since(start).Round(time.Microsecond), "ip", ip)
}

// cookieLang is the language the switcher's cookie chose, "" for none.
func cookieLang(r *http.Request) string {
	if ck, err := r.Cookie(langCookie); err == nil && i18n.Supported(ck.Value) {
		return ck.Value
	}
	return ""
}

// loadSession finds the signed-in user from the session cookie and the
// reader's language. An expired or unknown session cookie is cleared.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var u *users.User
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			u, err = s.users.Session(ck.Value)
			if err != nil {
				u = nil
				s.clearSessionCookie(c)
				if apperr.Is(err, apperr.Unauthorized) {
					c.Set("session_expired", true)
				}
			}
		}
		setting := ""
		if u != nil {
			c.Set(ctxUser, u)
			setting = u.Language
		} else {
			s.loadGuest(c)
		}
		// The switcher's choice (?lang=, then remembered in a cookie) is the
		// latest explicit choice on this browser, so it wins over the
		// profile; saving the profile's language clears the cookie.
		if l := cookieLang(c.Request()); l != "" {
			setting = l
		}
		if q := c.QueryParam("lang"); i18n.Supported(q) {
			setting = q
			c.SetCookie(&http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 86400,
				HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
		}
		c.Set(ctxLang, i18n.Negotiate(setting, c.Request().Header.Get("Accept-Language")))
		c.Response().Header().Add("Vary", "Accept-Language, Cookie")
		return next(c)
	}
}

func (s *Server) setSessionCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 30 * 86400})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// currentUser is the signed-in user, nil for an anonymous reader.
func currentUser(c echo.Context) *users.User {
	u, _ := c.Get(ctxUser).(*users.User)
	return u
}

// actor is the reader as the access policy sees them: the signed-in
// user, else a guest's grant for one project (handle_guests.go), else the
// anonymous reader. This is the one place where the web layer decides who
// asks; everything it may then do is decided by package access.
func actor(c echo.Context) access.Actor {
	if u := currentUser(c); u != nil {
		return u.Actor()
	}
	if g := currentGuest(c); g != nil {
		return g.Actor()
	}
	return access.Anonymous
}

// lang is the reader's language.
func lang(c echo.Context) string {
	if l, ok := c.Get(ctxLang).(string); ok {
		return l
	}
	return "en"
}

// location is the reader's time zone.
func (s *Server) location(c echo.Context) *time.Location {
	if u := currentUser(c); u != nil && u.TimeZone != "" {
		return u.Location()
	}
	return s.opts.DefaultTimeZone
}

// requireLogin sends an anonymous reader to the login page and back. A
// post or an edit sent after the session expired gets a login form that
// carries the text, so that logging in resumes the editor with it.
func (s *Server) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) == nil {
			if c.Request().Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(c.Request().URL.RequestURI()))
			}
			if editorPath.MatchString(c.Request().URL.Path) {
				return s.loginToResume(c)
			}
			return apperr.New(apperr.Unauthorized, "Please log in first.")
		}
		return next(c)
	}
}

// requireAdmin answers 404 to anyone but an admin: the admin pages are not
// advertised.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return s.requireLogin(func(c echo.Context) error {
		if u := currentUser(c); u == nil || !u.Admin {
			return apperr.New(apperr.NotFound, "Page not found.")
		}
		return next(c)
	})
}

// csrfError answers a state-changing request whose CSRF token is missing or
// wrong. The editor is shown again with everything that was typed and a
// fresh token, so a post written in a tab left open for a week is not
// lost; any other form gets a page that says what happened.
func (s *Server) csrfError(err error, c echo.Context) error {
	e := &apperr.Error{Code: apperr.Forbidden, Field: "csrf", Err: err,
		Message: "This form has expired or was sent from another site. Go back, reload the page and submit again — what you typed is still in the form you came from."}
	if currentUser(c) == nil {
		return e
	}
	switch c.Path() {
	case "/p/:project/new", "/p/:project/:post/edit":
		s.freshCSRF(c)
		return s.editorAfterCSRF(c, e)
	}
	return e
}

// freshCSRF makes sure the page about to be rendered carries a valid CSRF
// token: the cookie's, or a new one set now.
func (s *Server) freshCSRF(c echo.Context) {
	token := ""
	if ck, err := c.Cookie(csrfCookie); err == nil && ck.Value != "" {
		token = ck.Value
	} else {
		token = rand.Text()
		c.SetCookie(&http.Cookie{Name: csrfCookie, Value: token, Path: "/", HttpOnly: true,
			Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 86400 * 7})
	}
	c.Set(middleware.DefaultCSRFConfig.ContextKey, token)
}
