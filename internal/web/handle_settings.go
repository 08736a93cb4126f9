package web

import (
	"net/http"
	"projblog/internal/feeds"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/apperr"
	"projblog/internal/i18n"
	"projblog/internal/users"
)

func (s *Server) registerSettingsRoutes(e *echo.Echo) {
	e.GET("/settings", s.settingsForm, s.requireLogin)
	e.POST("/settings/profile", s.updateProfile, s.requireLogin)
	e.POST("/settings/password", s.changePassword, s.requireLogin)
	e.POST("/settings/feed-token", s.regenerateFeedToken, s.requireLogin)
	e.POST("/settings/api-tokens", s.createAPIToken, s.requireLogin)
	e.POST("/settings/api-tokens/:id/revoke", s.revokeAPIToken, s.requireLogin)
}

func errNotFound(msg string) error { return apperr.New(apperr.NotFound, "%s", msg) }

// timeZones is the list the settings form offers: the zones our users
// work in first, then UTC.
var timeZones = []string{"America/Toronto", "America/Montreal", "America/Vancouver", "America/Halifax", "America/New_York",
	"America/Chicago", "America/Los_Angeles", "Europe/Paris", "Europe/London", "Europe/Berlin", "Africa/Casablanca",
	"Asia/Tokyo", "Australia/Sydney", "UTC"}

func (s *Server) userSettingsPage(c echo.Context, prof users.Profile) *page {
	p := s.page(c, "")
	p.Title = p.T("settings.title")
	p.Nav = "settings"
	p.Data["Profile"] = prof
	zones := timeZones
	if prof.TimeZone != "" && !contains(zones, prof.TimeZone) {
		zones = append([]string{prof.TimeZone}, zones...)
	}
	p.Data["Zones"] = zones
	p.Data["Languages"] = i18n.Languages
	if err := s.notificationsData(c, p); err != nil {
		s.log.Error("notification settings", "err", err)
	}
	weekdays := make([]string, 7)
	for d := range weekdays {
		weekdays[d] = i18n.WeekdayName(p.Lang, time.Weekday(d))
	}
	p.Data["Weekdays"] = weekdays
	hours := make([]int, 24)
	for h := range hours {
		hours[h] = h
	}
	p.Data["Hours"] = hours
	if u := currentUser(c); u != nil {
		if tok, err := s.users.FeedToken(u.ID); err == nil {
			p.Data["MyFeed"] = s.feedURL("/me/feed", feeds.Atom, tok)
		} else {
			s.log.Error("feed token", "user", u.ID, "err", err)
		}
		if list, err := s.users.APITokens(u.ID); err == nil {
			p.Data["APITokens"] = list
		} else {
			s.log.Error("API tokens", "user", u.ID, "err", err)
		}
	}
	p.Data["TokenForm"] = apiTokenForm{Scope: string(users.ScopeRead)}
	p.Data["APIScopes"] = []users.APIScope{users.ScopeRead, users.ScopeWrite}
	return p
}

// apiTokenForm is what the "new API token" form holds.
type apiTokenForm struct{ Name, Scope string }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) settingsForm(c echo.Context) error {
	u := currentUser(c)
	return s.render(c, "settings", s.userSettingsPage(c, users.Profile{Name: u.Name, TimeZone: u.TimeZone, Language: u.Language, ShowEmail: u.ShowEmail}))
}

func (s *Server) updateProfile(c echo.Context) error {
	u := currentUser(c)
	prof := users.Profile{
		Name:      strings.TrimSpace(c.FormValue("name")),
		TimeZone:  c.FormValue("timezone"),
		Language:  c.FormValue("language"),
		ShowEmail: c.FormValue("show_email") == "1",
	}
	if _, err := s.users.UpdateProfile(u.ID, prof); err != nil {
		p := s.userSettingsPage(c, prof)
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "settings", p)
	}
	c.SetCookie(&http.Cookie{Name: langCookie, Path: "/", MaxAge: -1})
	return s.redirectFlash(c, "/settings", "saved")
}

func (s *Server) changePassword(c echo.Context) error {
	u := currentUser(c)
	fail := func(err error) error {
		p := s.userSettingsPage(c, users.Profile{Name: u.Name, TimeZone: u.TimeZone, Language: u.Language, ShowEmail: u.ShowEmail})
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "settings", p)
	}
	if _, err := s.users.Authenticate(u.Email, c.FormValue("current"), c.RealIP()); err != nil {
		if apperr.Is(err, apperr.TooMany) {
			return fail(err)
		}
		return fail(apperr.FieldErr("current", "Your current password is not right."))
	}
	if c.FormValue("new") != c.FormValue("confirm") {
		return fail(apperr.FieldErr("confirm", "The two new passwords differ."))
	}
	if err := s.users.SetPassword(u.ID, c.FormValue("new")); err != nil {
		if e, ok := err.(*apperr.Error); ok && e.Field == "password" {
			e.Field = "new"
		}
		return fail(err)
	}
	// SetPassword ended every session, this one too: start a fresh one.
	token, err := s.users.CreateSession(u.ID, c.Request().UserAgent())
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	return s.redirectFlash(c, "/settings", "password_changed")
}

// regenerateFeedToken gives the reader a new feed key: every feed address
// with the old one stops working at once.
func (s *Server) regenerateFeedToken(c echo.Context) error {
	if _, err := s.users.RegenerateFeedToken(currentUser(c).ID); err != nil {
		return err
	}
	return s.redirectFlash(c, "/settings#feeds-h", "feed_token_regenerated")
}

// createAPIToken makes a personal API token and shows it once, on the
// page that answers the form (never stored, never in a redirect).
func (s *Server) createAPIToken(c echo.Context) error {
	u := currentUser(c)
	form := apiTokenForm{Name: strings.TrimSpace(c.FormValue("token_name")), Scope: c.FormValue("token_scope")}
	token, t, err := s.users.CreateAPIToken(u.ID, form.Name, users.APIScope(form.Scope))
	p := s.userSettingsPage(c, users.Profile{Name: u.Name, TimeZone: u.TimeZone, Language: u.Language, ShowEmail: u.ShowEmail})
	if err != nil {
		// The profile form on the same page has its own "name".
		if e, ok := err.(*apperr.Error); ok && (e.Field == "name" || e.Field == "scope") {
			e.Field = "token_" + e.Field
		}
		p.Data["TokenForm"] = form
		status, err := formErrors(p, err)
		if err != nil {
			return err
		}
		return s.renderStatus(c, status, "settings", p)
	}
	p.Data["NewAPIToken"] = token
	p.Data["NewAPITokenName"] = t.Name
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, "settings", p)
}

// revokeAPIToken deletes one of the reader's API tokens.
func (s *Server) revokeAPIToken(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return apperr.New(apperr.NotFound, "No such API token.")
	}
	if err := s.users.RevokeAPIToken(currentUser(c).ID, id); err != nil {
		return err
	}
	return s.redirectFlash(c, "/settings#api-h", "api_token_revoked")
}
