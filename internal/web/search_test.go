package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// catchUp brings the search index up to date with what the test wrote.
func (e *env) catchUp() {
	e.t.Helper()
	if _, err := e.search.CatchUp(context.Background()); err != nil {
		e.t.Fatalf("search CatchUp: %v", err)
	}
}

// hitRow is one result of /search as a person sees it.
type hitRow struct {
	Title, Href, Meta, Snippet string
	Marks                      []string // the highlighted words, title and snippet
}

// hits reads the result list of a /search page.
func hits(t *testing.T, body string) []hitRow {
	t.Helper()
	var out []hitRow
	walk(t, body, func(n *htmlNode) bool {
		if n.Type != html.ElementNode || n.Data != "li" || !hasClass(n, "hit") {
			return true
		}
		var h hitRow
		var rec func(*htmlNode)
		rec = func(m *htmlNode) {
			if m.Type == html.ElementNode {
				switch {
				case m.Data == "a" && m.Parent != nil && m.Parent.Data == "h3":
					h.Title, h.Href = strings.TrimSpace(textOf(m)), attr(m, "href")
				case m.Data == "p" && hasClass(m, "meta"):
					h.Meta = strings.Join(strings.Fields(textOf(m)), " ")
				case m.Data == "p" && hasClass(m, "snippet"):
					h.Snippet = textOf(m)
				case m.Data == "mark":
					h.Marks = append(h.Marks, strings.ToLower(textOf(m)))
				}
			}
			for c := m.FirstChild; c != nil; c = c.NextSibling {
				rec(c)
			}
		}
		rec(n)
		out = append(out, h)
		return true
	})
	return out
}

func hitTitles(rows []hitRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Title
	}
	return out
}

// searchEnv: a public project with posts, an internal and a private one,
// a member of the private one and an outsider who is a member of another
// private project.
type searchEnv struct {
	*env
	owner, member, outsider, admin *users.User
	plan, secret                   *posts.Post
}

func newSearchEnv(t *testing.T) *searchEnv {
	t.Helper()
	e := newEnv(t)
	se := &searchEnv{env: e,
		owner:    e.user("owner@example.com", "Olive Owner", false),
		member:   e.user("member@example.com", "Mia Member", false),
		outsider: e.user("otto@example.com", "Otto Outsider", false),
		admin:    e.user("admin@example.com", "Ada Admin", true),
	}
	e.project(se.owner, "pub", access.Public)
	e.project(se.owner, "staff", access.Internal)
	e.project(se.owner, "vault", access.Private)
	e.project(se.outsider, "elsewhere", access.Private)
	if err := e.posts.SetMember(se.owner.Actor(), "vault", se.member.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	se.plan = e.post(se.owner, "pub", "Database migration plan", "We migrate the **database** to PostgreSQL & retire `<mysql>` on Sunday.")
	e.post(se.owner, "pub", "Weekly notes", "Coffee, hiring, and a word about the database.")
	e.post(se.owner, "staff", "Staff corner", "The lunch menu mentions the pangolin.")
	se.secret = e.post(se.owner, "vault", "Takeover", "The zanzibar deal is secret.")
	if _, err := e.posts.AddComment(se.member.Actor(), se.secret.ID, posts.CommentInput{Body: "Keep the quokka clause."}); err != nil {
		t.Fatal(err)
	}
	e.post(se.outsider, "elsewhere", "Elsewhere", "Nothing about the vault.")
	e.catchUp()
	return se
}

// TestSearchPage: an anonymous reader searches a public project and gets
// ranked results with links, highlighted and escaped snippets.
func TestSearchPage(t *testing.T) {
	se := newSearchEnv(t)
	anon := se.client()
	res := anon.get("/search?q=databases")
	if res.Status != http.StatusOK {
		t.Fatalf("status %d\n%s", res.Status, res.Body)
	}
	pageStructure(t, "/search?q=databases", res.Body)
	rows := hits(t, res.Body)
	if got := hitTitles(rows); !slices.Equal(got, []string{"Database migration plan", "Weekly notes"}) {
		t.Fatalf("titles %q", got)
	}
	r := rows[0]
	if r.Href != "/p/pub/"+se.plan.Slug || !slices.Contains(r.Marks, "database") {
		t.Errorf("first hit %+v", r)
	}
	if !strings.Contains(r.Snippet, "PostgreSQL & retire <mysql> on Sunday") {
		t.Errorf("snippet %q: the text, unescaped once, should read as written", r.Snippet)
	}
	if !strings.Contains(res.Body, "&amp; retire &lt;mysql&gt;") {
		t.Error("the snippet is not HTML-escaped in the page")
	}
	if !strings.Contains(r.Meta, "Pub") || !strings.Contains(r.Meta, "Olive Owner") || !strings.Contains(r.Meta, "2026") {
		t.Errorf("meta %q: want project, author and date", r.Meta)
	}
	if got := texts(t, res.Body, "p", "meta"); len(got) == 0 || got[0] != "2 results" {
		t.Errorf("count %q", got)
	}
	// The form keeps the query.
	if v := formValue(t, res.Body, "q"); v != "databases" {
		t.Errorf("q = %q", v)
	}

	// The empty form, also when only the language changes.
	for _, path := range []string{"/search", "/search?lang=fr", "/search?project=pub"} {
		res := se.client().get(path)
		if res.Status != http.StatusOK || len(hits(t, res.Body)) != 0 || strings.Contains(res.Body, `role="status"`) {
			t.Errorf("%s: %d", path, res.Status)
		}
		pageStructure(t, path, res.Body)
	}

	// Nothing found: said so.
	res = anon.get("/search?q=unicorn")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "Nothing found for “unicorn”.") {
		t.Errorf("no results: %d", res.Status)
	}

	// Every page has the search box in its header, with a label; the
	// search page has its own form instead.
	for _, path := range []string{"/", "/p/pub", "/search"} {
		var forms, labels int
		walk(t, anon.get(path).Body, func(n *htmlNode) bool {
			if n.Data == "form" && attr(n, "role") == "search" {
				forms++
				if attr(n, "action") != "/search" || attr(n, "method") != "get" {
					t.Errorf("%s: search form %v", path, n.Attr)
				}
			}
			if n.Data == "label" && (attr(n, "for") == "site-q" || attr(n, "for") == "search-q") {
				labels++
			}
			return true
		})
		if forms != 1 || labels != 1 {
			t.Errorf("%s: %d search forms, %d labels; want one of each", path, forms, labels)
		}
	}

	// French.
	res = se.client().get("/search?q=base+de+donn%C3%A9es&lang=fr")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "Recherche") {
		t.Errorf("French page: %d", res.Status)
	}
}

// TestSearchPermissionsWeb: a private project's words never match for an
// outsider, through the page and through the API (with the outsider's
// read token); its members and admins find them.
func TestSearchPermissionsWeb(t *testing.T) {
	se := newSearchEnv(t)
	browsers := map[string]*client{
		"anonymous": se.client(),
		"outsider":  se.client().login(se.outsider.Email),
		"member":    se.client().login(se.member.Email),
		"admin":     se.client().login(se.admin.Email),
	}
	tokens := map[string]string{}
	for name, u := range map[string]*users.User{"outsider": se.outsider, "member": se.member, "admin": se.admin} {
		tok, _, err := se.users.CreateAPIToken(u.ID, "search", users.ScopeRead)
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = tok
	}
	for _, tc := range []struct {
		q     string
		finds []string
	}{
		{"zanzibar", []string{"member", "admin"}},
		{"quokka", []string{"member", "admin"}},
		{"pangolin", []string{"outsider", "member", "admin"}},
		{"database", []string{"anonymous", "outsider", "member", "admin"}},
	} {
		for name, c := range browsers {
			want := slices.Contains(tc.finds, name)
			res := c.get("/search?q=" + tc.q)
			if res.Status != http.StatusOK {
				t.Fatalf("%s %s: %d", name, tc.q, res.Status)
			}
			if got := len(hits(t, res.Body)) > 0; got != want || (!want && strings.Contains(res.Body, se.secret.Title)) {
				t.Errorf("/search?q=%s as %s: found %v, want %v", tc.q, name, got, want)
			}
			if tok, ok := tokens[name]; ok {
				var out struct {
					Total int `json:"total"`
					Hits  []struct {
						Title   string `json:"title"`
						Snippet string `json:"snippet"`
					} `json:"hits"`
				}
				se.apiOK(http.MethodGet, "/api/v1/search?q="+tc.q, tok, "", http.StatusOK, &out)
				if got := out.Total > 0; got != want || len(out.Hits) != out.Total {
					t.Errorf("API %s as %s: %+v, want found %v", tc.q, name, out, want)
				}
			}
		}
	}
	// Naming the private project is a 404, exactly as for a missing one.
	for _, name := range []string{"anonymous", "outsider"} {
		for _, slug := range []string{"vault", "no-such-project"} {
			res := browsers[name].get("/search?q=zanzibar&project=" + slug)
			if res.Status != http.StatusNotFound || len(hits(t, res.Body)) != 0 || formValue(t, res.Body, "q") != "zanzibar" {
				t.Errorf("project=%s as %s: %d", slug, name, res.Status)
			}
		}
	}
	se.apiFail(http.MethodGet, "/api/v1/search?q=zanzibar&project=vault", tokens["outsider"], "", http.StatusNotFound, "not_found")
	// And the project list of the form only offers what the reader may read.
	var options []string
	walk(t, browsers["outsider"].get("/search").Body, func(n *htmlNode) bool {
		if n.Data == "option" && n.Parent != nil && attr(n.Parent, "name") == "project" && attr(n, "value") != "" {
			options = append(options, attr(n, "value"))
		}
		return true
	})
	slices.Sort(options)
	if !slices.Equal(options, []string{"elsewhere", "pub", "staff"}) {
		t.Errorf("the outsider's project list: %q", options)
	}
}

// TestSearchFiltersWeb: the filters of the form, with dates in the
// reader's time zone, the end day included.
func TestSearchFiltersWeb(t *testing.T) {
	se := newSearchEnv(t)
	se.clock.Add(40 * 24 * time.Hour) // 2026-12-12
	dec := se.post(se.member, "vault", "Database decision", "We keep PostgreSQL.")
	if err := se.posts.SetDecision(se.member.Actor(), posts.Target{PostID: dec.ID}, true); err != nil {
		t.Fatal(err)
	}
	status, err := se.posts.CreatePost(se.owner.Actor(), "pub", posts.PostInput{Title: "Database status", Body: "Slow.", Health: posts.AtRisk, Tags: []string{"infra"}})
	if err != nil {
		t.Fatal(err)
	}
	se.catchUp()
	_ = status
	c := se.client().login(se.member.Email)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"q=database", []string{"Database migration plan", "Weekly notes", "Database decision", "Database status"}},
		{"q=database&decisions=1", []string{"Database decision"}},
		{"q=database&project=pub", []string{"Database migration plan", "Weekly notes", "Database status"}},
		{"q=database&author=@mia", nil}, // handles come from names: see below
		{"q=database&health=at_risk", []string{"Database status"}},
		{"q=database&tag=INFRA", []string{"Database status"}},
		{"q=database&from=2026-12-01", []string{"Database decision", "Database status"}},
		{"q=database&to=2026-11-02", []string{"Database migration plan", "Weekly notes"}},
		{"q=database&from=2026-11-03&to=2026-12-11", nil},
	} {
		if strings.Contains(tc.query, "author=") {
			tc.query = "q=database&author=@" + se.member.Handle
			tc.want = []string{"Database decision"}
		}
		res := c.get("/search?" + tc.query)
		if res.Status != http.StatusOK {
			t.Errorf("%s: %d\n%s", tc.query, res.Status, texts(t, res.Body, "div", "error-box"))
			continue
		}
		got := hitTitles(hits(t, res.Body))
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", tc.query, got, want)
		}
	}
	// A reader in Paris: a post published at 23:30 UTC on 2 November is
	// on 3 November for them.
	if _, err := se.users.UpdateProfile(se.member.ID, usersProfile(se.member.Name, "Europe/Paris", "en")); err != nil {
		t.Fatal(err)
	}
	se.clock.Add(-40*24*time.Hour + 9*time.Hour) // 2026-11-02 23:30 UTC
	se.post(se.owner, "pub", "Late database note", "Written late.")
	se.catchUp()
	if got := hitTitles(hits(t, c.get("/search?q=database&from=2026-11-03&to=2026-11-03").Body)); !slices.Equal(got, []string{"Late database note"}) {
		t.Errorf("3 November in Paris: %q", got)
	}
}

// TestSearchBadInput: bad input is a 400 page with the form as it was and
// a message beside the field; the API answers 422 naming the field (400
// for a bad limit or offset).
func TestSearchBadInput(t *testing.T) {
	se := newSearchEnv(t)
	c := se.client()
	for _, tc := range []struct {
		query, field, msg string
	}{
		{"q=", "q", "Type what to search for."},
		{"q=%20%20", "q", "Type what to search for."},
		{"q=" + strings.Repeat("a", 501), "q", "A search can be at most 500 characters long."},
		{"q=-mysql", "q", "not only what to leave out"},
		{"q=x&from=31/12/2026", "from", "Give the date as YYYY-MM-DD"},
		{"q=x&to=2026-02-30", "to", "Give the date as YYYY-MM-DD"},
		{"q=x&from=2026-05-02&to=2026-05-01", "to", "The end date comes before the start date."},
		{"q=x&health=green", "health", "Choose the health from the list."},
		{"q=x&tag=%3F%3F", "tag", "A tag is made of"},
		{"q=x&author=nobody", "author", "No one has the handle @nobody."},
		{"q=x&page=999", "page", "Only the first 1000 results can be shown"},
		{"q=%FF", "q", "not valid text"},
	} {
		res := c.get("/search?" + tc.query)
		if res.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tc.query, res.Status)
			continue
		}
		pageStructure(t, tc.query, res.Body)
		if box := texts(t, res.Body, "div", "error-box"); len(box) != 1 || !strings.Contains(box[0], tc.msg) {
			t.Errorf("%s: error %q, want %q", tc.query, box, tc.msg)
		}
		form, _ := url.ParseQuery(tc.query)
		if got := formValue(t, res.Body, "q"); got != form.Get("q") {
			t.Errorf("%s: the form lost q: %q", tc.query, got)
		}
		if tc.field != "page" && len(texts(t, res.Body, "p", "field-error")) != 1 {
			t.Errorf("%s: no message beside the field", tc.query)
		}
	}
	// French.
	if res := c.get("/search?q=&lang=fr"); res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "Saisissez ce que vous cherchez.") {
		t.Errorf("French error: %d", res.Status)
	}

	tok, _, err := se.users.CreateAPIToken(se.member.ID, "search", users.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query, field string
	}{
		{"", "q"}, {"q=", "q"}, {"q=x&from=yesterday", "from"}, {"q=x&health=green", "health"}, {"q=x&author=nobody", "author"},
	} {
		ae := se.apiFail(http.MethodGet, "/api/v1/search?"+tc.query, tok, "", http.StatusUnprocessableEntity, "invalid")
		if ae.Field != tc.field {
			t.Errorf("API %s: field %q, want %q (%s)", tc.query, ae.Field, tc.field, ae.Error)
		}
	}
	se.apiFail(http.MethodGet, "/api/v1/search?q=x&limit=0", tok, "", http.StatusBadRequest, "invalid")
	se.apiFail(http.MethodGet, "/api/v1/search?q=x&offset=-1", tok, "", http.StatusBadRequest, "invalid")
	se.apiFail(http.MethodGet, "/api/v1/search?q=x", "", "", http.StatusUnauthorized, "unauthorized")
}

// TestSearchAPI: the JSON of a search, and paging by offset.
func TestSearchAPI(t *testing.T) {
	se := newSearchEnv(t)
	for i := range 3 {
		se.post(se.owner, "pub", fmt.Sprintf("Database note %d", i), "More about the database.")
	}
	cm, err := se.posts.AddComment(se.member.Actor(), se.plan.ID, posts.CommentInput{Body: "Which database version?"})
	if err != nil {
		t.Fatal(err)
	}
	se.catchUp()
	tok, _, err := se.users.CreateAPIToken(se.member.ID, "search", users.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	type hit struct {
		Kind      string  `json:"kind"`
		PostID    uint64  `json:"post_id"`
		CommentID uint64  `json:"comment_id"`
		Project   string  `json:"project"`
		Title     string  `json:"title"`
		TitleHTML string  `json:"title_html"`
		URL       string  `json:"url"`
		Time      string  `json:"time"`
		Score     float64 `json:"score"`
		Snippet   string  `json:"snippet"`
		Author    struct {
			ID     uint64 `json:"id"`
			Handle string `json:"handle"`
		} `json:"author"`
	}
	var page struct {
		Total      int   `json:"total"`
		Offset     int   `json:"offset"`
		Limit      int   `json:"limit"`
		NextOffset *int  `json:"next_offset"`
		Hits       []hit `json:"hits"`
	}
	se.apiOK(http.MethodGet, "/api/v1/search?q=database&limit=4", tok, "", http.StatusOK, &page)
	if page.Total != 6 || len(page.Hits) != 4 || page.Limit != 4 || page.Offset != 0 || page.NextOffset == nil || *page.NextOffset != 4 {
		t.Fatalf("first page: total %d, %d hits, limit %d, next %v", page.Total, len(page.Hits), page.Limit, page.NextOffset)
	}
	seen := map[string]bool{}
	all := slices.Clone(page.Hits)
	page.Hits = nil
	se.apiOK(http.MethodGet, "/api/v1/search?q=database&limit=4&offset=4", tok, "", http.StatusOK, &page)
	if len(page.Hits) != 2 || page.NextOffset != nil {
		t.Fatalf("second page: %d hits, next %v", len(page.Hits), page.NextOffset)
	}
	all = append(all, page.Hits...)
	var comment *hit
	for i, h := range all {
		key := fmt.Sprint(h.Kind, h.PostID, h.CommentID)
		if seen[key] {
			t.Errorf("%s twice", key)
		}
		seen[key] = true
		wantUTC(t, "time", h.Time)
		if h.Score <= 0 || h.Project == "" || !strings.HasPrefix(h.URL, "http://projblog.test/p/") || !strings.Contains(strings.ToLower(h.Snippet+h.TitleHTML), "<mark>database</mark>") {
			t.Errorf("hit %+v", h)
		}
		if h.Kind == "comment" {
			comment = &all[i]
		}
	}
	if comment == nil || comment.CommentID != cm.ID || comment.PostID != se.plan.ID || comment.Title != "Database migration plan" ||
		comment.URL != fmt.Sprintf("http://projblog.test/p/pub/%s#comment-%d", se.plan.Slug, cm.ID) || comment.Author.Handle != se.member.Handle {
		t.Errorf("the comment's hit: %+v", comment)
	}
}
