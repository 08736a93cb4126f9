package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"projblog/internal/access"
	"projblog/internal/posts"
)

// axePath is axe-core, fetched from npm by `make test` (it is not
// committed: 650 KB of someone else's code).
const axePath = "testdata/axe.min.js"

// axeViolation is the part of an axe-core result a failure message needs.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// TestBrowserAccessibility opens every kind of page in Chromium, in light
// and dark mode, and runs axe-core's WCAG 2 A/AA rules on it (contrast,
// labels, landmarks, names of links and buttons, ...). Any violation fails.
func TestBrowserAccessibility(t *testing.T) {
	ctx := newBrowser(t)
	if _, err := os.Stat(axePath); err != nil {
		msg := "axe-core is missing (" + axePath + "); `make test` fetches it with npm"
		if os.Getenv("PROJBLOG_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	e := newEnv(t)
	admin := e.user("admin@example.com", "Ada Admin", true)
	e.project(admin, "apollo", access.Private)
	e.project(admin, "zephyr", access.Public)
	body := "Intro with a [link](https://example.com) and `code`.\n\n## Plan\n\n- [x] done\n- [ ] todo\n\n| Area | Owner |\n|---|---|\n| Backend | Ada |\n\n```go\nfunc main() {}\n```\n\nA note.[^1]\n\n[^1]: The footnote.\n"
	p := e.post(admin, "apollo", "Launch plan", body)
	if _, err := e.posts.UpdatePost(admin.Actor(), p.ID, posts.PostInput{Title: "Launch plan", Body: body + "\nMore.\n", Tags: []string{"launch"}}); err != nil {
		t.Fatal(err)
	}
	e.post(admin, "zephyr", "Public note", "Hello **world**.")
	e.catchUp() // the search index
	base := e.srv.URL

	pages := []string{
		"/", "/p/apollo", "/p/apollo/launch-plan", "/p/apollo/new", "/p/apollo/launch-plan/edit",
		"/p/apollo/launch-plan/history", "/p/apollo/launch-plan/diff?from=1&to=2", "/p/apollo/launch-plan/revisions/1",
		"/p/apollo/tags/launch", "/p/apollo/archive", "/p/apollo/settings", "/settings", "/admin/users", "/new",
		"/no/such/page", "/digest", "/search?q=launch+plans&project=apollo", "/search?q=&tag=x",
	}
	anonymous := []string{"/login", "/p/zephyr", "/p/zephyr/public-note", "/search", "/search?q=hello+world"}

	run := func(t *testing.T, path, scheme string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+path)); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		axeCheck(t, ctx, path+" ("+scheme+")")
		name := strings.NewReplacer("/", "_", "?", "_", "=", "_", "&", "_").Replace(strings.TrimPrefix(path, "/"))
		if name == "" {
			name = "home"
		}
		shot(t, ctx, "a11y-"+scheme+"-"+name)
	}
	setScheme := func(scheme string) {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatalf("emulate %s: %v", scheme, err)
		}
	}

	for _, scheme := range []string{"light", "dark"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login")); err != nil {
			t.Fatal(err)
		}
		setScheme(scheme)
		for _, path := range anonymous {
			t.Run(scheme+path, func(t *testing.T) { run(t, path, scheme) })
		}
	}
	// Log in once; the session cookie stays in the browser.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		setScheme(scheme)
		for _, path := range pages {
			t.Run(scheme+path, func(t *testing.T) { run(t, path, scheme) })
		}
	}
	_ = context.Background
}

// axeCheck runs axe-core's WCAG 2 A/AA rules on the page as it is, when
// axe-core is there (TestBrowserAccessibility says how to get it).
func axeCheck(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Logf("axe-core missing; %s not checked", what)
		return
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(axe)+";true")); err != nil {
		t.Fatalf("inject axe: %v", err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run on %s: %v", what, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(res), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target)+" "+n.HTML)
		}
		t.Errorf("%s: %s [%s] %s:\n  %s", what, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
	}
}
