package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/posts"
)

const benchPosts = 10000

// benchWorld is one public project of 10,000 published posts. The
// benchmarks that use it are sub-benchmarks of one function, because the
// world lives as long as the benchmark that built it.
func benchWorld(b *testing.B) *env {
	{
		e := newEnv(b)
		owner := e.user("owner@example.com", "Olive Owner", false)
		e.project(owner, "apollo", access.Public)
		body := strings.Repeat("A week of work on the launch: **progress**, [links](/p/apollo), and a list:\n\n- one\n- two\n\n", 8)
		for i := 0; i < benchPosts; i++ {
			e.clock.Add(time.Minute)
			if _, err := e.posts.CreatePost(owner.Actor(), "apollo", posts.PostInput{
				Title: fmt.Sprintf("Update %d", i), Body: body, Tags: []string{"status"},
			}); err != nil {
				b.Fatal(err)
			}
		}
		return e
	}
}

// BenchmarkReads measures anonymous reads through the whole HTTP stack
// (echo, middleware, templates, bbolt) in a project of 10,000 posts: its
// feed of the newest 50 in each format, a 304 answer, and pages.
func BenchmarkReads(b *testing.B) {
	e := benchWorld(b)
	b.Run("feed", func(b *testing.B) { benchFeeds(b, e) })
	b.Run("page", func(b *testing.B) { benchPages(b, e) })
}

func benchFeeds(b *testing.B, e *env) {
	h := e.srv.Config.Handler
	for _, ext := range []string{".atom", ".rss", ".json"} {
		b.Run(strings.TrimPrefix(ext, "."), func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/p/apollo/feed"+ext, nil)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
	b.Run("304", func(b *testing.B) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/p/apollo/feed.atom", nil))
		etag := w.Header().Get("ETag")
		req := httptest.NewRequest(http.MethodGet, "/p/apollo/feed.atom", nil)
		req.Header.Set("If-None-Match", etag)
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusNotModified {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}

func benchPages(b *testing.B, e *env) {
	h := e.srv.Config.Handler
	// A signed-in reader: the session and CSRF cookies of a real login.
	c := e.client().login("owner@example.com")
	u, _ := url.Parse(e.srv.URL)
	var cookies []string
	for _, ck := range c.http.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	for name, path := range map[string]string{"post": "/p/apollo/update-5000", "project": "/p/apollo", "home": "/",
		"post-signed-in": "/p/apollo/update-5000", "project-signed-in": "/p/apollo", "digest-signed-in": "/digest"} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if strings.HasSuffix(name, "signed-in") {
				req.Header.Set("Cookie", strings.Join(cookies, "; "))
			}
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: status %d", path, w.Code)
				}
			}
		})
	}
}
