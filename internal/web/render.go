package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"projblog/internal/i18n"
	"projblog/internal/notify"
	"projblog/internal/users"
)

// templates holds one parsed template set per page: the layout and the
// partials, plus that page's file. All are parsed at start-up.
type templates struct {
	pages map[string]*template.Template
}

func parseTemplates(theme fs.FS, a *assets) (*templates, error) {
	funcs := template.FuncMap{
		"asset": a.url,
		// html marks HTML that the Markdown renderer already sanitised.
		"html": func(s string) template.HTML { return template.HTML(s) },
		"join": strings.Join,
		"list": func(xs ...string) []string { return xs },
		"add":  func(a, b int) int { return a + b },
		// dict passes several values to a partial: dict "P" $ "E" .
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict needs key/value pairs")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
	base := template.New("").Funcs(funcs)
	partials, err := fs.Glob(theme, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range append([]string{"templates/layout.html"}, partials...) {
		if err := parseFile(base, theme, name); err != nil {
			return nil, err
		}
	}
	files, err := fs.Glob(theme, "templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, name := range files {
		short := strings.TrimSuffix(path.Base(name), ".html")
		if short == "layout" || strings.HasPrefix(short, "_") {
			continue
		}
		pt, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if err := parseFile(pt, theme, name); err != nil {
			return nil, err
		}
		t.pages[short] = pt
	}
	return t, nil
}

func parseFile(t *template.Template, theme fs.FS, name string) error {
	b, err := fs.ReadFile(theme, name)
	if err != nil {
		return fmt.Errorf("theme: %w", err)
	}
	if _, err := t.New(name).Parse(string(b)); err != nil {
		return fmt.Errorf("theme: parse %s: %w", name, err)
	}
	return nil
}

// page is what every template receives: the reader's language, time zone
// and identity, the CSRF token, and the page's own Data. Its methods are
// the template's vocabulary for words and dates.
type page struct {
	Lang      string
	User      *users.User
	Guest     *notify.GuestGrant // a guest reader (handle_guests.go); nil otherwise
	CSRF      string
	Title     string
	Flash     string
	Path      string
	BaseURL   string
	Version   string
	Nav       string            // which top-level section is current
	Error     string            // a form-level error message
	FieldErrs map[string]string // form field -> message
	Feeds     []feedLink        // feeds this page mirrors: autodiscovery and the Subscribe box
	FeedToken bool              // the feed URLs carry the reader's personal key
	// GuestFeedToken: the feed URLs carry a guest's personal key.
	GuestFeedToken bool
	Data           map[string]any
	loc            *time.Location
	now            time.Time
}

func (s *Server) page(c echo.Context, title string) *page {
	csrf, _ := c.Get(middleware.DefaultCSRFConfig.ContextKey).(string)
	p := &page{
		Lang: lang(c), User: currentUser(c), Guest: currentGuest(c), CSRF: csrf, Title: title,
		Path: c.Request().URL.Path, BaseURL: s.opts.BaseURL, Version: s.opts.Version,
		Data: map[string]any{}, FieldErrs: map[string]string{},
		loc: s.location(c), now: s.now(),
	}
	if v, _ := c.Get("session_expired").(bool); v {
		p.Flash = i18n.T(p.Lang, "flash.session_expired")
	} else if ck, err := c.Cookie(flashCookie); err == nil {
		p.Flash = i18n.T(p.Lang, "flash."+ck.Value)
		if !i18n.Has("en", "flash."+ck.Value) {
			p.Flash = ""
		}
		c.SetCookie(&http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1})
	}
	return p
}

// T translates key into the reader's language.
func (p *page) T(key string, args ...any) string { return i18n.T(p.Lang, key, args...) }

// N translates a plural message for n.
func (p *page) N(key string, n int) string { return i18n.N(p.Lang, key, n) }

// Date shows t's date in the reader's language and time zone.
func (p *page) Date(t time.Time) string { return i18n.Date(p.Lang, t, p.loc) }

// DateTime shows t's date and time in the reader's language and zone.
func (p *page) DateTime(t time.Time) string { return i18n.DateTime(p.Lang, t, p.loc) }

// Ago shows how long ago t was.
func (p *page) Ago(t time.Time) string { return i18n.Relative(p.Lang, t, p.now, p.loc) }

// ISO is t in RFC 3339, for <time datetime>.
func (p *page) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Month names a month of a year.
func (p *page) Month(y int, m time.Month) string { return i18n.MonthYear(p.Lang, y, m) }

// OtherLang is the language the switcher offers.
func (p *page) OtherLang() string {
	if p.Lang == "fr" {
		return "en"
	}
	return "fr"
}

// MIME is a feed format's media type without parameters, for <link type>.
func (f feedLink) MIME() string {
	t, _, _ := strings.Cut(f.Format.ContentType(), ";")
	return t
}

// Field returns the error message for one form field, "" if none.
func (p *page) Field(name string) string { return p.FieldErrs[name] }

// render writes the named page with status 200.
func (s *Server) render(c echo.Context, name string, p *page) error {
	return s.renderStatus(c, http.StatusOK, name, p)
}

func (s *Server) renderStatus(c echo.Context, status int, name string, p *page) error {
	t, ok := s.tmpl.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	// A known length spares the chunked encoding of a page bigger than
	// net/http's buffer (the gzip middleware drops it when it compresses).
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(status, buf.Bytes())
}

// t translates outside a page (error handler, flash texts).
func (s *Server) t(lang, key string, args ...any) string { return i18n.T(lang, key, args...) }

const flashCookie = "projblog_flash"

// redirectFlash redirects (303) after a successful form and leaves a
// one-time message key for the next page.
func (s *Server) redirectFlash(c echo.Context, to, flash string) error {
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: flash, Path: "/", MaxAge: 60, HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, to)
}
