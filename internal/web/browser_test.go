package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium. Where there is none the browser
// test says so plainly and skips, except under PROJBLOG_REQUIRE_BROWSER=1
// (CI), where a missing browser fails the run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on this machine: the browser test cannot run (install it with: apt-get install -y chromium)"
	if os.Getenv("PROJBLOG_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute) // generous: CI machines are shared
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// shot saves a screenshot under $PROJBLOG_SCREENSHOTS, when it is set, so
// a person can look at what the test clicked through.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PROJBLOG_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// TestBrowserWriteAndReadPost is the person's path through the product:
// log in, create a project, write a post with a table and a code block, see
// the live preview, publish, and read it on the project page.
func TestBrowserWriteAndReadPost(t *testing.T) {
	e := newEnv(t)
	e.user("mia@example.com", "Mia Member", false)
	ctx := newBrowser(t)
	base := e.srv.URL

	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			shot(t, ctx, "failed-"+step)
			t.Fatalf("%s: %v", step, err)
		}
	}

	// Log in.
	must("open login", chromedp.Do(ctx, chromedp.Navigate(base+"/login")))
	shot(t, ctx, "01-login")
	must("type credentials", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("email"), "mia@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	))
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	must("submit login", err)
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
	must("read welcome", err)
	if !strings.Contains(flash, "Welcome") {
		t.Fatalf("after login the page says %q", flash)
	}

	// Create a project.
	must("open new project", chromedp.Do(ctx, chromedp.Navigate(base+"/new")))
	must("fill project", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("name"), "Apollo launch"),
		chromedp.SendKeys(chromedp.ID("slug"), "apollo"),
		chromedp.SendKeys(chromedp.ID("description"), "Getting the release out of the door."),
		chromedp.Click(chromedp.ID("vis-private")),
	))
	shot(t, ctx, "02-new-project")
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/new"] button[type=submit]`)))
	must("create project", err)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	if !strings.HasSuffix(loc, "/p/apollo") {
		t.Fatalf("after creating the project the browser is at %s", loc)
	}

	// Write a post; the live preview renders the table and the code.
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a.button.primary[href="/p/apollo/new"]`)))
	must("open editor", err)
	body := "Status of the week.\n\n| Area | Owner |\n|---|---|\n| Backend | Mia |\n\n```go\nfunc launch() error {\nreturn nil\n}\n```\n"
	must("type post", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("title"), "Week 42: on track"),
		chromedp.SendKeys(chromedp.ID("body"), body),
		chromedp.SendKeys(chromedp.ID("tags"), "launch, status"),
	))
	must("live preview table", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#preview table td"))))
	must("live preview code", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#preview pre"))))
	cell, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#preview table tbody td")))
	must("read preview cell", err)
	if strings.TrimSpace(cell) != "Backend" {
		t.Errorf("preview table cell %q, want Backend", cell)
	}
	code, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#preview pre")))
	must("read preview code", err)
	if !strings.Contains(code, "func launch() error") {
		t.Errorf("preview code %q", code)
	}
	shot(t, ctx, "03-editor-preview")

	// Publish and read it.
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`button[name=action][value=publish]`)))
	must("publish", err)
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1.p-name")))
	must("read title", err)
	if title != "Week 42: on track" {
		t.Fatalf("post title %q", title)
	}
	must("table on post page", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".prose table td"))))
	shot(t, ctx, "04-post")

	must("open project page", chromedp.Do(ctx, chromedp.Navigate(base+"/p/apollo")))
	entry, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("article.entry h3 a")))
	must("read project entry", err)
	if entry != "Week 42: on track" {
		t.Fatalf("project page lists %q", entry)
	}
	shot(t, ctx, "05-project")
	must("open home", chromedp.Do(ctx, chromedp.Navigate(base+"/")))
	shot(t, ctx, "06-home")
}
