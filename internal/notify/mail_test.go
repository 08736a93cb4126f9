package notify_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"projblog/internal/apperr"
	"projblog/internal/notify"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// fakeDigest is a digest as BuildDigest would make it, for a reader in
// the given language and time zone: Apollo at risk (it was on track),
// Hermes with an overdue status update, Zeus with one post by the reader,
// a decision taken in a comment, and one acknowledgement request.
func fakeDigest(t *testing.T, lang, tz string) *notify.Digest {
	t.Helper()
	reader := &users.User{ID: 7, Email: "ada@example.com", Name: "Ada Lovelace", Handle: "ada",
		Active: true, Language: lang, TimeZone: tz}
	bob := &users.User{ID: 8, Email: "bob@example.com", Name: "Bob Builder", Handle: "bob", Active: true}
	w, err := notify.WindowForLabel("2026-W48", reader.Location(), time.Monday, 8)
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
	apollo := &posts.ProjectView{Project: &posts.Project{ID: 1, Slug: "apollo", Name: "Apollo",
		Health: posts.AtRisk, HealthAt: at(25, 9)}}
	hermes := &posts.ProjectView{Project: &posts.Project{ID: 2, Slug: "hermes", Name: "Hermes",
		Health: posts.OnTrack, HealthAt: at(10, 9), CreatedAt: at(1, 9),
		Cadence: &posts.Cadence{Every: "week", Weekday: time.Friday, Hour: 17}}}
	zeus := &posts.ProjectView{Project: &posts.Project{ID: 3, Slug: "zeus", Name: "Zeus"}}
	launch := &posts.Post{ID: 11, ProjectID: 1, AuthorID: 8, Slug: "launch-moved", Title: "Launch moved to March",
		Summary: "The vendor cannot deliver the engines before February, so the launch moves by six weeks.",
		Body:    "The vendor cannot deliver the engines before February.\n\n- new date: 3 March\n- see [the plan](/p/apollo/launch-plan)",
		HTML:    `<p>The vendor cannot deliver the engines before February.</p><ul><li>new date: 3 March</li><li>see <a href="/p/apollo/launch-plan">the plan</a></li></ul>`,
		Health:  posts.AtRisk, PublishedAt: at(25, 9)}
	notes := &posts.Post{ID: 12, ProjectID: 3, AuthorID: 7, Slug: "weekly-notes", Title: "Weekly notes",
		Summary:     "Short week: the team was at the conference.",
		Body:        "Short week: the team was at the conference.[^1]\n\n[^1]: In Lyon.",
		HTML:        `<h2 id="notes">Notes <a class="anchor" href="#notes" aria-hidden="true" tabindex="-1">#</a></h2><p>Short week: the team was at the conference.<sup><a href="#fn:1">1</a></sup></p><p><img src="/files/lyon.jpg" alt="Lyon"> <a href="https://vendor.example/b">Vendor B</a></p>`,
		PublishedAt: at(26, 15)}
	plan := &posts.Post{ID: 13, ProjectID: 1, AuthorID: 8, Slug: "launch-plan", Title: "Launch plan", PublishedAt: at(20, 9)}
	return &notify.Digest{
		User:   reader,
		Window: w,
		Projects: []notify.ProjectDigest{
			{Project: apollo, Health: posts.AtRisk, PreviousHealth: posts.OnTrack, HealthChanged: true,
				Posts: []notify.DigestPost{{Post: launch, Author: bob, Comments: 3}},
				Decisions: []posts.Decision{{PostID: 11, CommentID: 42, MarkedBy: 8, MarkedAt: at(26, 10), Post: launch,
					Comment: &posts.Comment{ID: 42, PostID: 11, Body: "We go with **vendor B**, who can deliver in January."}}}},
			{Project: hermes, Health: posts.OnTrack, Overdue: true},
			{Project: zeus, Posts: []notify.DigestPost{{Post: notes, Author: reader, Mine: true}}},
		},
		Waiting: []*posts.Post{plan},
	}
}

var tokenRE = regexp.MustCompile(`/unsubscribe/[A-Za-z0-9_-]+`)

// golden compares got with testdata/name, or rewrites it with -update.
// The unsubscribe token (random per database) is replaced first.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = tokenRE.ReplaceAllString(got, "/unsubscribe/TOKEN")
	path := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it; read the diff):\n--- got\n%s", name, got)
	}
}

func TestComposeDigestGolden(t *testing.T) {
	for _, c := range []struct{ lang, tz string }{{"en", "America/Toronto"}, {"fr", "Europe/Paris"}} {
		t.Run(c.lang, func(t *testing.T) {
			e := newMailEnv(t, nil)
			e.clock.Set(time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC))
			m, err := e.n.ComposeDigest(fakeDigest(t, c.lang, c.tz))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "digest_"+c.lang+".txt", m.Subject+"\n\n"+m.Text)
			golden(t, "digest_"+c.lang+".html", m.HTML)
		})
	}
}

func TestComposeDigest(t *testing.T) {
	e := newMailEnv(t, nil)
	e.clock.Set(time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC))

	t.Run("English", func(t *testing.T) {
		m, err := e.n.ComposeDigest(fakeDigest(t, "", "America/Toronto"))
		if err != nil {
			t.Fatal(err)
		}
		if want := "Your weekly digest: 3 projects, 1 at risk, 1 update overdue, 1 waiting for you (2026-W48)"; m.Subject != want {
			t.Errorf("subject %q, want %q", m.Subject, want)
		}
		if m.To != "ada@example.com" {
			t.Errorf("To %q", m.To)
		}
		wantHeaders := map[string]string{
			"Message-ID":            "<digest.7.2026-W48@blog.example.com>",
			"List-Id":               "<digest.blog.example.com>",
			"List-Unsubscribe":      "<" + e.n.UnsubscribeURL(7) + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Auto-Submitted":        "auto-generated",
			"Precedence":            "bulk",
			"Date":                  "Mon, 30 Nov 2026 08:00:00 -0500", // composed at 13:00 UTC, shown in Toronto
		}
		for k, v := range wantHeaders {
			if m.Headers[k] != v {
				t.Errorf("header %s = %q, want %q", k, m.Headers[k], v)
			}
		}
		// The window in the reader's time zone: 08:00 in Toronto.
		if !strings.Contains(oneLine(m.Text), "from 23 November 2026, 08:00 to 30 November 2026, 08:00") {
			t.Errorf("text part does not give the window in Toronto time:\n%s", m.Text)
		}
		// Attention first, then what waits, then the projects.
		order := []string{"Needs attention", "Waiting for you", "Apollo\n======", "Hermes\n======", "Zeus\n===="}
		last := -1
		for _, s := range order {
			i := strings.Index(m.Text, s)
			if i < 0 || i < last {
				t.Fatalf("%q missing or out of order in the text part:\n%s", s, m.Text)
			}
			last = i
		}
	})

	t.Run("HTMLLinksAbsolute", func(t *testing.T) {
		m, err := e.n.ComposeDigest(fakeDigest(t, "en", ""))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(strings.NewReader(m.HTML))
		if err != nil {
			t.Fatal(err)
		}
		links := attrs(doc, "a", "href")
		if len(links) < 8 {
			t.Fatalf("only %d links: %v", len(links), links)
		}
		for _, l := range links {
			if !strings.HasPrefix(l, mailBaseURL+"/") { // (no full text here: every link is ours)
				t.Errorf("link %q is not absolute on %s", l, mailBaseURL)
			}
		}
		for _, want := range []string{
			mailBaseURL + "/p/apollo/launch-moved",
			mailBaseURL + "/p/apollo/launch-moved#comment-42",
			mailBaseURL + "/p/apollo/launch-plan#acks",
			mailBaseURL + "/p/hermes",
			mailBaseURL + "/digest?week=2026-W48",
			e.n.UnsubscribeURL(7),
		} {
			if !contains(links, want) {
				t.Errorf("no link to %s in %v", want, links)
			}
		}
		if got := textOf(find(doc, "html")); !strings.Contains(got, "Needs attention") {
			t.Errorf("no attention section")
		}
		if lang := attrs(doc, "html", "lang"); len(lang) != 1 || lang[0] != "en" {
			t.Errorf("html lang %v", lang)
		}
		// The sections come in the order: attention, waiting, projects.
		var ids []string
		for _, s := range findAll(doc, "section") {
			ids = append(ids, attrOf(s, "class"))
		}
		if strings.Join(ids, ",") != "attention,waiting,project,project,project" {
			t.Errorf("sections %v", ids)
		}
	})

	t.Run("FullText", func(t *testing.T) {
		if err := e.n.SaveSettings(7, notify.Settings{DigestHour: 8, WeeklyDay: time.Monday, FullText: true}); err != nil {
			t.Fatal(err)
		}
		defer e.n.SaveSettings(7, notify.DefaultSettings())
		m, err := e.n.ComposeDigest(fakeDigest(t, "en", ""))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(strings.NewReader(m.HTML))
		if err != nil {
			t.Fatal(err)
		}
		links := attrs(doc, "a", "href")
		for _, want := range []string{
			mailBaseURL + "/p/apollo/launch-plan",     // relative link in a post
			mailBaseURL + "/p/zeus/weekly-notes#fn:1", // footnote
		} {
			if !contains(links, want) {
				t.Errorf("full text: no link %s in %v", want, links)
			}
		}
		if imgs := attrs(doc, "img", "src"); len(imgs) != 1 || imgs[0] != mailBaseURL+"/files/lyon.jpg" {
			t.Errorf("img src %v, want absolute", imgs)
		}
		if strings.Contains(m.HTML, `class="anchor"`) {
			t.Error("heading permalinks are left in the mail")
		}
		if !strings.Contains(m.Text, "    - new date: 3 March") {
			t.Errorf("text part lacks the post's Markdown, indented:\n%s", m.Text)
		}
	})

	t.Run("French", func(t *testing.T) {
		m, err := e.n.ComposeDigest(fakeDigest(t, "fr", "Europe/Paris"))
		if err != nil {
			t.Fatal(err)
		}
		if want := "Votre résumé de la semaine : 3 projets, 1 à risque, 1 bilan en retard, 1 en attente de vous (2026-W48)"; m.Subject != want {
			t.Errorf("subject %q, want %q", m.Subject, want)
		}
		for _, want := range []string{
			"Bonjour Ada Lovelace,",
			"du 23 novembre 2026 à 8 h 00 au 30 novembre 2026 à 8 h 00",
			"À surveiller", "En attente de vous", "Nouveaux billets",
			"par Bob Builder, le 25 novembre 2026 à 10 h 00", // 09:00 UTC in Paris
			"3 commentaires", "(auparavant : En bonne voie)",
		} {
			if !strings.Contains(oneLine(m.Text), want) {
				t.Errorf("French text part lacks %q:\n%s", want, m.Text)
			}
		}
		if !strings.Contains(m.HTML, `<html lang="fr">`) {
			t.Error("HTML part is not marked French")
		}
		if m.Headers["Date"] != "Mon, 30 Nov 2026 14:00:00 +0100" {
			t.Errorf("Date %q, want Paris time", m.Headers["Date"])
		}
	})

	t.Run("PlainHTTPBase", func(t *testing.T) {
		n, err := notify.New(e.db, e.posts, e.users, notify.Options{Now: e.clock.Now, BaseURL: "http://localhost:8080"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := n.ComposeDigest(fakeDigest(t, "en", ""))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Headers["List-Unsubscribe-Post"]; ok {
			t.Error("one-click POST advertised for an http:// link (RFC 8058 requires https)")
		}
		if !strings.HasPrefix(m.Headers["List-Unsubscribe"], "<http://localhost:8080/unsubscribe/") {
			t.Errorf("List-Unsubscribe %q", m.Headers["List-Unsubscribe"])
		}
		if m.Headers["Message-ID"] != "<digest.7.2026-W48@localhost>" {
			t.Errorf("Message-ID %q", m.Headers["Message-ID"])
		}
	})

	t.Run("ErrNoReader", func(t *testing.T) {
		if _, err := e.n.ComposeDigest(nil); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("nil digest: %v, want Invalid", err)
		}
		if _, err := e.n.ComposeDigest(&notify.Digest{}); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("digest without user: %v, want Invalid", err)
		}
	})
}

// Small helpers over golang.org/x/net/html.

func findAll(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func find(n *html.Node, tag string) *html.Node {
	if all := findAll(n, tag); len(all) > 0 {
		return all[0]
	}
	return nil
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func attrs(n *html.Node, tag, key string) []string {
	var out []string
	for _, el := range findAll(n, tag) {
		for _, a := range el.Attr {
			if a.Key == key {
				out = append(out, a.Val)
			}
		}
	}
	return out
}

func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// oneLine undoes the text part's line wrapping.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
