// Package web is projblog's HTTP face: the echo server, its routes,
// handlers, middleware and template rendering. Handlers are thin: they
// parse the request, call the package that knows, and render.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/search"
	"projblog/internal/store"
	"projblog/internal/users"
	"projblog/themes"
)

// Options configure the server.
type Options struct {
	BaseURL         string         // public base URL without a trailing slash
	ThemeDir        string         // optional directory overriding the embedded theme
	DefaultTimeZone *time.Location // for readers who have not chosen one; UTC if nil
	TrustProxy      bool           // take client addresses from X-Forwarded-For
	Logger          *slog.Logger
	Now             func() time.Time
	Version         string
	// Notify builds digests and keeps subscriptions; the digest and
	// notification pages need it.
	Notify *notify.Service
	// Search is the full-text index; without it /search and
	// /api/v1/search answer 503.
	Search *search.Index
	// ProjectAddress returns a project's e-mail address ("" when the site
	// takes no mail; internal/mailin makes it). nil: no mail.
	ProjectAddress func(slug string) string
}

// Server is the web application. Build it with New; it is safe for
// concurrent use.
type Server struct {
	db     *store.DB
	posts  *posts.Service
	users  *users.Service
	notify *notify.Service
	search *search.Index
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	secure bool // cookies get Secure: the base URL is https
	echo   *echo.Echo
	tmpl   *templates
	assets *assets
	cache  *pageCache // pagecache.go
}

// New parses the theme (a template that fails to parse is an error here,
// at start-up, not at the first request) and registers every route.
func New(db *store.DB, p *posts.Service, u *users.Service, opts Options) (*Server, error) {
	if opts.DefaultTimeZone == nil {
		opts.DefaultTimeZone = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{db: db, posts: p, users: u, notify: opts.Notify, search: opts.Search, opts: opts, log: opts.Logger, now: opts.Now}
	if s.notify == nil {
		return nil, errors.New("web.New: Options.Notify is required")
	}
	if bu, err := url.Parse(opts.BaseURL); err == nil && bu.Scheme == "https" {
		s.secure = true
	}
	theme := themes.Overlay(opts.ThemeDir, themes.Default())
	var err error
	if s.assets, err = loadAssets(theme); err != nil {
		return nil, err
	}
	if s.tmpl, err = parseTemplates(theme, s.assets); err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	if opts.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: http.StatusMovedPermanently}))
	e.Use(s.logRequests, s.recoverer, s.securityHeaders)
	e.Use(bodyLimit()) // 2 MiB; the upload routes more (handle_attachments.go)
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{MinLength: gzipMinLength}))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		withSession := s.loadSession(next)
		return func(c echo.Context) error {
			// The JSON API knows bearer tokens only (handle_api.go): a
			// session cookie is not even read there, so a request a
			// browser sends with its cookies reaches the API anonymous.
			if isAPIPath(c.Request().URL.Path) {
				return next(c)
			}
			return withSession(c)
		}
	})
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     csrfCookie,
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.secure,
		CookieSameSite: http.SameSiteLaxMode,
		CookieMaxAge:   86400 * 7,
		ErrorHandler:   s.csrfError,
		Skipper: func(c echo.Context) bool {
			// Static files and the health check never change state and
			// need no cookie.
			// The one-click unsubscribe of RFC 8058 is POSTed by mail
			// clients: its token is its authentication.
			// The JSON API authenticates with a bearer token, which a
			// browser never attaches by itself, and ignores cookies.
			// Feeds (.atom, .rss, .json, .opml) are read, never posted
			// to, by readers that keep no cookies: a token cookie set on
			// each of their polls would only cost time.
			p := c.Request().URL.Path
			if m := c.Request().Method; (m == http.MethodGet || m == http.MethodHead) && isFeedPath(p) {
				return true
			}
			return p == "/healthz" || strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, "/unsubscribe/") || isAPIPath(p)
		},
	}))
	s.cache = newPageCache()
	e.Use(s.pageCacheMiddleware)
	s.echo = e

	e.GET("/healthz", s.healthz)
	e.GET("/static/:file", s.serveAsset)
	s.registerAuthRoutes(e)
	s.registerHomeRoutes(e)
	s.registerProjectRoutes(e)
	s.registerPostRoutes(e)
	s.registerPeopleRoutes(e)
	s.registerSettingsRoutes(e)
	s.registerAdminRoutes(e)
	s.registerFeedRoutes(e)
	s.registerDiscussionRoutes(e)
	s.registerDigestRoutes(e)
	s.registerAPIRoutes(e)
	s.registerWebhookRoutes(e)
	s.registerGuestRoutes(e)
	s.registerSearchRoutes(e)
	s.registerAttachmentRoutes(e)
	return s, nil
}

// isFeedPath tells whether a path names a feed or an OPML list.
func isFeedPath(p string) bool {
	for _, ext := range []string{".atom", ".rss", ".json", ".opml"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return front{s} }

func (s *Server) healthz(c echo.Context) error {
	if _, err := s.db.SchemaVersionOf(); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}
