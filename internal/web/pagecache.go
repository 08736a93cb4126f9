package web

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"projblog/internal/i18n"
	"projblog/internal/notify"
)

// The page cache keeps what anonymous readers are sent — pages and feeds,
// the bulk of the traffic on a Monday morning and from feed readers — as
// rendered bytes, stamped with the event log's head when they were built
// (../shared/DESIGN.md, "How reads stay fast"). An entry is good while the
// head has not moved (no write that others must see happened since) and
// for at most pageCacheTTL, since pages also say things like "3 days ago"
// and "overdue" that age with the clock.
//
// What varies per visitor is kept out of the cached bytes: the CSRF token
// of the page's forms is stored as a placeholder and the visitor's own
// token put back on every answer; cookies are set by the middleware in
// front, per request. A flash message, a personal feed token or a
// conditional request (answered cheaper by the handler's own ETag check)
// is never cached. Only HTML pages and feeds are kept, not files.
//
// The key is the request URI and the negotiated language; the anonymous
// reader's time zone is the server's default, the same for all.
//
// A signed-in reader's reading pages (home, project, post, tag, archive,
// person, decisions: signedInCacheable) are cached too, in entries of
// their own (the key starts with the user's id): what they show depends on
// the reader (roles, their reactions, what waits for them), and every
// write that changes it appends an event. Two things are not events and
// are accepted as up to a minute old on a repeated view: the time of the
// reader's last visit to a post ("new since your last visit") and the
// seen-by record, both written by the first, uncached view. Forms,
// settings, the digest and admin pages are never cached.
const (
	pageCacheTTL      = time.Minute
	pageCacheMaxItems = 2048
	pageCacheMaxBody  = 1 << 20  // a bigger answer is not kept
	pageCacheMaxBytes = 64 << 20 // all entries together
	csrfPlaceholder   = "\x00projblog-csrf\x00"
)

type cachedPage struct {
	head   uint64
	built  time.Time
	header http.Header
	body   []byte
	// parts is body cut at each CSRF placeholder: the visitor's token goes
	// between them, without a copy of the page per request.
	parts [][]byte
	// gz is body gzipped, made on the first gzip client's hit on the fast
	// path (entries without forms only).
	gzOnce sync.Once
	gz     []byte
}

func newCachedPage(head uint64, built time.Time, header http.Header, body []byte) *cachedPage {
	body = bytes.Clone(body)
	return &cachedPage{head: head, built: built, header: header, body: body, parts: bytes.Split(body, []byte(csrfPlaceholder))}
}

// writeTo answers with the page: its recorded headers, X-Cache set to
// tag, and the visitor's CSRF token in its forms — or, when gz is not
// nil, the page gzipped (entries without forms only). It returns the
// length of the body sent.
func (p *cachedPage) writeTo(w http.ResponseWriter, tag, token string, gz []byte) int {
	h := w.Header()
	for k, v := range p.header {
		h[k] = v
	}
	h.Set("X-Cache", tag)
	n := len(p.body) + (len(p.parts)-1)*(len(token)-len(csrfPlaceholder))
	if gz != nil {
		h.Set(echo.HeaderContentEncoding, "gzip")
		n = len(gz)
	}
	h.Set(echo.HeaderContentLength, strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	if gz != nil {
		_, _ = w.Write(gz)
		return n
	}
	if len(p.parts) == 1 {
		_, _ = w.Write(p.parts[0])
		return n
	}
	// One write, not one per part: a part larger than the server's 4 KiB
	// buffer goes to the socket on its own, and a page with a dozen forms
	// cost a dozen system calls (the half of a signed-in hit, profiled).
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	buf.Grow(n)
	for i, part := range p.parts {
		if i > 0 {
			buf.WriteString(token)
		}
		buf.Write(part)
	}
	_, _ = w.Write(buf.Bytes())
	if buf.Cap() <= 1<<20 {
		bodyBufs.Put(buf)
	}
	return n
}

// bodyBufs holds the buffers writeTo assembles a page in.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type pageCache struct {
	mu    sync.RWMutex
	items map[string]*cachedPage
	bytes int
}

func newPageCache() *pageCache { return &pageCache{items: map[string]*cachedPage{}} }

func (pc *pageCache) get(key string, head uint64, now time.Time) *cachedPage {
	pc.mu.RLock()
	p := pc.items[key]
	pc.mu.RUnlock()
	if p == nil || p.head != head || now.Sub(p.built) > pageCacheTTL {
		return nil
	}
	return p
}

func (pc *pageCache) put(key string, p *cachedPage) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if old := pc.items[key]; old != nil {
		pc.bytes -= len(old.body)
		delete(pc.items, key)
	}
	// Full: drop stale entries first, then any (map order is random).
	for len(pc.items) >= pageCacheMaxItems || pc.bytes+len(p.body) > pageCacheMaxBytes {
		victim := ""
		for k, v := range pc.items {
			victim = k
			if v.head != p.head {
				break
			}
		}
		if victim == "" {
			break
		}
		pc.bytes -= len(pc.items[victim].body)
		delete(pc.items, victim)
	}
	pc.items[key] = p
	pc.bytes += len(p.body)
}

// cacheable tells whether the request is one whose answer is the same for
// every anonymous reader of the same language.
func cacheable(c echo.Context) bool {
	r := c.Request()
	if r.Method != http.MethodGet {
		return false
	}
	if currentUser(c) != nil && !signedInCacheable[c.Path()] {
		return false
	}
	// What a guest sees depends on their grant: never kept for anonymous
	// readers, nor served to the guest from what they see.
	if currentGuest(c) != nil || strings.HasPrefix(r.URL.Path, "/guest/") {
		return false
	}
	if v, _ := c.Get("session_expired").(bool); v {
		return false
	}
	if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" || r.Header.Get("Authorization") != "" {
		return false
	}
	if _, err := c.Cookie(flashCookie); err == nil {
		return false
	}
	p := r.URL.Path
	if p == "/healthz" || strings.HasPrefix(p, "/static/") || isAPIPath(p) || strings.HasPrefix(p, "/unsubscribe/") {
		return false
	}
	return !r.URL.Query().Has("token")
}

// signedInCacheable are the routes whose pages are cached for signed-in
// readers, per reader.
var signedInCacheable = map[string]bool{
	"/": true, "/tags/:tag": true, "/people/:handle": true,
	"/p/:project": true, "/p/:project/tags/:tag": true, "/p/:project/archive": true,
	"/p/:project/archive/:year/:month": true, "/p/:project/decisions": true,
	"/p/:project/:post": true,
}

// cacheKey names the answer: the reader (anonymous, or a user's own
// entries), the language and the request URI.
func cacheKey(c echo.Context) string {
	who := "-"
	if u := currentUser(c); u != nil {
		who = strconv.FormatUint(u.ID, 10)
	}
	return pageKey(who, lang(c), c.Request().URL.RequestURI())
}

// pageKey is the cache key of an answer for a reader ("-" for anonymous,
// else the user's id), in a language, for a request URI.
func pageKey(who, lang, uri string) string { return who + " " + lang + " " + uri }

// noStore tells whether the handler asked that its answer not be kept:
// Cache-Control private, no-cache or no-store (the search page says
// no-cache, since its results follow the search index, not only the log).
func noStore(h http.Header) bool {
	cc := h.Get("Cache-Control")
	return strings.Contains(cc, "no-cache") || strings.Contains(cc, "no-store") || strings.Contains(cc, "private")
}

// cachedType tells whether an answer of this Content-Type is kept: pages
// and feeds, not files.
func cachedType(ct string) bool {
	return strings.HasPrefix(ct, "text/html") || strings.Contains(ct, "xml") || strings.Contains(ct, "json")
}

// pageCacheMiddleware answers from the cache or fills it. It runs after
// the session (to know the reader is anonymous) and CSRF (to know the
// visitor's token) middleware.
func (s *Server) pageCacheMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !cacheable(c) {
			return next(c)
		}
		key := cacheKey(c)
		token, _ := c.Get(middleware.DefaultCSRFConfig.ContextKey).(string)
		now := s.now()
		head := s.db.Head()
		if p := s.cache.get(key, head, now); p != nil {
			p.writeTo(c.Response(), "hit", token, nil)
			return nil
		}

		rec := &teeWriter{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		err := next(c)
		c.Response().Writer = rec.ResponseWriter
		if err != nil || c.Response().Status != http.StatusOK || rec.overflow || rec.buf.Len() == 0 ||
			!cachedType(c.Response().Header().Get(echo.HeaderContentType)) || noStore(c.Response().Header()) {
			return err
		}
		body := rec.buf.Bytes()
		if token != "" {
			body = bytes.ReplaceAll(body, []byte(token), []byte(csrfPlaceholder))
		}
		header := c.Response().Header().Clone()
		for _, k := range []string{"Set-Cookie", "Content-Length", "Content-Encoding", "X-Cache", "X-Request-Id"} {
			header.Del(k)
		}
		// The head read before rendering: a write during the render makes
		// the entry stale at once rather than wrongly fresh.
		s.cache.put(key, newCachedPage(head, now, header, body))
		return nil
	}
}

// teeWriter passes a response through and keeps a copy of its body up to
// pageCacheMaxBody.
type teeWriter struct {
	http.ResponseWriter
	buf      bytes.Buffer
	overflow bool
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if !w.overflow {
		if w.buf.Len()+len(b) > pageCacheMaxBody {
			w.overflow = true
			w.buf = bytes.Buffer{}
		} else {
			w.buf.Write(b)
		}
	}
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// The fast path answers a cache hit for a reader without a session before
// echo's middleware chain runs (the profile of a cached page showed that
// chain — context, log, headers, session, language, CSRF, gzip wrapper —
// as most of its cost). It serves only what the chain would have served
// from the cache byte for byte: the entry's headers were recorded after
// the chain ran (security headers included), the visitor's CSRF token is
// the one their cookie carries (as echo's CSRF middleware would reuse it),
// and the request is logged the same way. Anything else — a session,
// guest or flash cookie, a ?lang= or ?token= parameter, a page with forms
// for a visitor without a CSRF cookie yet, a gzip client for an entry
// that has forms — goes the usual way, where the cache still answers.

// front is the server's http.Handler: the fast path, then echo.
type front struct{ s *Server }

func (f front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.s.serveFast(w, r) {
		f.s.echo.ServeHTTP(w, r)
	}
}

// Routes lists echo's routes (the tests check every one is covered).
func (f front) Routes() []*echo.Route { return f.s.echo.Routes() }

func (s *Server) serveFast(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("Authorization") != "" {
		return false
	}
	inm := r.Header.Get("If-None-Match")
	if r.Header.Get("If-Modified-Since") != "" && inm == "" {
		return false // the handler's own check answers it
	}
	// The cookies, parsed once (this is the hot path).
	token, lang := "", ""
	for _, ck := range r.Cookies() {
		switch ck.Name {
		case sessionCookie, notify.GuestCookie, flashCookie:
			return false
		case csrfCookie: // the first of a name, as r.Cookie and echo take it
			if token == "" {
				token = ck.Value
			}
		case langCookie:
			if lang == "" && i18n.Supported(ck.Value) {
				lang = ck.Value
			}
		}
	}
	q := r.URL.Query()
	if q.Has("lang") || q.Has("token") {
		return false
	}
	start := time.Now()
	key := pageKey("-", i18n.Negotiate(lang, r.Header.Get("Accept-Language")), r.URL.RequestURI())
	p := s.cache.get(key, s.db.Head(), s.now())
	if p == nil {
		return false
	}
	if inm != "" {
		// A fresh entry's ETag is the current one (both come from the
		// event log's head): a match is a 304, anything else the handler's.
		etag := p.header.Get("ETag")
		if etag == "" || !etagMatch(inm, etag) {
			return false
		}
		h := w.Header()
		for _, k := range []string{"ETag", "Cache-Control", "Last-Modified", "Vary", "Content-Security-Policy", "X-Content-Type-Options"} {
			if v := p.header.Values(k); len(v) > 0 {
				h[k] = v
			}
		}
		h.Set("X-Cache", "hit, early")
		w.WriteHeader(http.StatusNotModified)
		s.logRequest(r, http.StatusNotModified, 0, start, s.echo.IPExtractor(r))
		return true
	}
	forms := len(p.parts) > 1
	if forms && token == "" {
		return false
	}
	gz := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && len(p.body) >= gzipMinLength
	var body []byte
	if gz {
		if forms {
			return false
		}
		if body = p.gzipped(); body == nil {
			return false
		}
	}
	n := p.writeTo(w, "hit, early", token, body) // answered before echo's chain
	s.logRequest(r, http.StatusOK, int64(n), start, s.echo.IPExtractor(r))
	return true
}

// gzipMinLength is the gzip middleware's MinLength (server.go): smaller
// answers go out as they are.
const gzipMinLength = 1024

// gzipped is the entry's body compressed once, for an entry without forms;
// nil if compressing failed.
func (p *cachedPage) gzipped() []byte {
	p.gzOnce.Do(func() {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(p.body); err != nil {
			return
		}
		if zw.Close() != nil {
			return
		}
		p.gz = b.Bytes()
	})
	return p.gz
}
