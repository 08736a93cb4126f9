package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// apiEnv is a site for the API: an internal project "apollo" (owner Olive,
// member Mia) with a post, a private project "secret" with a post, and an
// outsider, Otto, who is a member of neither. Each has tokens.
type apiEnv struct {
	*env
	owner, member, outsider *users.User
	post, secretPost        *posts.Post

	ownerW, memberW, memberR, outsiderW string // tokens: W write, R read
	revoked, deactivated                string
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	e := newEnv(t)
	ae := &apiEnv{env: e,
		owner:    e.user("owner@example.com", "Olive Owner", false),
		member:   e.user("member@example.com", "Mia Member", false),
		outsider: e.user("otto@example.com", "Otto Outsider", false),
	}
	e.user("admin@example.com", "Ada Admin", true) // so that Otto's deactivation is allowed
	gone := e.user("gone@example.com", "Gus Gone", false)
	e.project(ae.owner, "apollo", access.Internal)
	e.project(ae.owner, "secret", access.Private)
	if err := e.posts.SetMember(ae.owner.Actor(), "apollo", ae.member.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	if err := e.posts.SetMember(ae.owner.Actor(), "secret", gone.ID, access.Member); err != nil {
		t.Fatal(err)
	}
	ae.post = e.post(ae.owner, "apollo", "Launch plan", "We launch on **Monday**.")
	ae.secretPost = e.post(ae.owner, "secret", "Acquisition talks", "Nobody may know.")

	ae.ownerW = ae.token(ae.owner, "owner CI", users.ScopeWrite)
	ae.memberW = ae.token(ae.member, "member CI", users.ScopeWrite)
	ae.memberR = ae.token(ae.member, "member dashboard", users.ScopeRead)
	ae.outsiderW = ae.token(ae.outsider, "outsider CI", users.ScopeWrite)
	ae.revoked = ae.token(ae.owner, "old laptop", users.ScopeWrite)
	list, err := e.users.APITokens(ae.owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.users.RevokeAPIToken(ae.owner.ID, list[0].ID); err != nil {
		t.Fatal(err)
	}
	ae.deactivated = ae.token(gone, "gone CI", users.ScopeWrite)
	if err := e.users.SetActive(gone.ID, false); err != nil {
		t.Fatal(err)
	}
	return ae
}

func (ae *apiEnv) token(u *users.User, name string, scope users.APIScope) string {
	ae.t.Helper()
	tok, _, err := ae.users.CreateAPIToken(u.ID, name, scope)
	if err != nil {
		ae.t.Fatalf("CreateAPIToken(%s): %v", u.Email, err)
	}
	return tok
}

// api sends one API request with token ("" for none) and body ("" for
// none), as a script would: no cookies.
func (e *env) api(method, path, token, body string) response {
	e.t.Helper()
	var req *http.Request
	if body == "" {
		req, _ = http.NewRequest(method, e.srv.URL+path, nil)
	} else {
		req, _ = http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(res.Body).WriteTo(&b); err != nil {
		e.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b.String()}
}

// apiOK sends a request that must answer want, and decodes the JSON into v
// (when v is not nil).
func (e *env) apiOK(method, path, token, body string, want int, v any) response {
	e.t.Helper()
	res := e.api(method, path, token, body)
	if res.Status != want {
		e.t.Fatalf("%s %s: %d, want %d\n%s", method, path, res.Status, want, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(res.Body), v); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, res.Body, err)
		}
	}
	return res
}

// apiError is the JSON body of every API error.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field"`
}

// apiFail sends a request that must fail with status and code, and returns
// the error.
func (e *env) apiFail(method, path, token, body string, status int, code string) apiError {
	e.t.Helper()
	var ae apiError
	e.apiOK(method, path, token, body, status, &ae)
	if ae.Code != code || ae.Error == "" {
		e.t.Fatalf("%s %s: error %+v, want code %q and a message", method, path, ae, code)
	}
	return ae
}

// apiPostJSON is the post as the API returns it.
type apiPostJSON struct {
	ID      uint64   `json:"id"`
	Project string   `json:"project"`
	Slug    string   `json:"slug"`
	URL     string   `json:"url"`
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	HTML    string   `json:"html"`
	Excerpt string   `json:"excerpt"`
	Summary string   `json:"summary"`
	Tags    []string `json:"tags"`
	Draft   bool     `json:"draft"`
	Pinned  bool     `json:"pinned"`
	Health  string   `json:"health"`
	Author  struct {
		ID     uint64 `json:"id"`
		Name   string `json:"name"`
		Handle string `json:"handle"`
	} `json:"author"`
	PublishedAt  *string `json:"published_at"`
	UpdatedAt    string  `json:"updated_at"`
	Revision     int     `json:"revision"`
	CommentCount int     `json:"comment_count"`
}

type apiPage struct {
	Posts      []apiPostJSON `json:"posts"`
	Pinned     []apiPostJSON `json:"pinned"`
	NextCursor *string       `json:"next_cursor"`
}

type apiCommentJSON struct {
	ID       uint64 `json:"id"`
	PostID   uint64 `json:"post_id"`
	ParentID uint64 `json:"parent_id"`
	URL      string `json:"url"`
	Body     string `json:"body"`
	HTML     string `json:"html"`
	Author   struct {
		ID uint64 `json:"id"`
	} `json:"author"`
}

func apiPostPath(id uint64) string { return fmt.Sprintf("/api/v1/posts/%d", id) }

// wantUTC fails unless s is an RFC 3339 time in UTC.
func wantUTC(t *testing.T, what, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("%s = %q, want RFC 3339 in UTC (%v)", what, s, err)
	}
	return tm
}

// TestAPIAuth: only a working bearer token gets in; the session cookie of
// a browser does not, alone or next to a token.
func TestAPIAuth(t *testing.T) {
	ae := newAPIEnv(t)
	for _, tc := range []struct {
		name, header, challenge, says string
	}{
		{"NoToken", "", `Bearer realm="projblog"`, "Authorization: Bearer"},
		{"Basic", "Basic b3duZXI6cGFzc3dvcmQ=", `Bearer realm="projblog"`, "Basic"},
		{"Garbage", "Bearer not-a-token", `Bearer realm="projblog", error="invalid_token"`, "not valid"},
		{"FeedToken", "Bearer pbf_" + strings.Repeat("a", 32), `Bearer realm="projblog", error="invalid_token"`, "not valid"},
		{"Revoked", "Bearer " + ae.revoked, `Bearer realm="projblog", error="invalid_token"`, "not valid"},
		{"Deactivated", "Bearer " + ae.deactivated, `Bearer realm="projblog", error="invalid_token"`, "deactivated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ae.srv.URL+"/api/v1/me", nil)
			req.Header.Set("Accept", "text/html") // JSON all the same
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res := ae.client().do(req)
			if res.Status != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s\n%s", res.Status, res.Header.Get("Content-Type"), res.Body)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			var e apiError
			if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Code != "unauthorized" || !strings.Contains(e.Error, tc.says) {
				t.Errorf("body %s (%v), want code unauthorized and a message with %q", res.Body, err, tc.says)
			}
		})
	}

	// A logged-in browser: its cookies alone do not open the API, and
	// next to a token they change nothing (the token's owner is the user).
	owner := ae.client().login(ae.owner.Email)
	if res := owner.get("/api/v1/me"); res.Status != http.StatusUnauthorized {
		t.Errorf("session cookie alone: %d\n%s", res.Status, res.Body)
	}
	req, _ := http.NewRequest(http.MethodGet, ae.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+ae.memberR)
	res := owner.do(req)
	var me struct {
		User struct {
			ID     uint64 `json:"id"`
			Handle string `json:"handle"`
		} `json:"user"`
		Scope string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(res.Body), &me); err != nil || res.Status != http.StatusOK || me.User.ID != ae.member.ID || me.Scope != "read" {
		t.Fatalf("cookie of the owner + token of the member: %d %s", res.Status, res.Body)
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("Cache-Control %q, Set-Cookie %q", res.Header.Get("Cache-Control"), res.Header.Get("Set-Cookie"))
	}
	// The bearer scheme is case-insensitive (RFC 6750 / 9110).
	req, _ = http.NewRequest(http.MethodGet, ae.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "bearer "+ae.ownerW)
	if res := ae.client().do(req); res.Status != http.StatusOK {
		t.Errorf("lower-case scheme: %d", res.Status)
	}

	// Unknown paths and methods under /api answer JSON too.
	ae.apiFail(http.MethodGet, "/api/v1/nope", ae.ownerW, "", http.StatusNotFound, "not_found")
	ae.apiFail(http.MethodGet, "/api/v2/projects", ae.ownerW, "", http.StatusNotFound, "not_found")
	ae.apiFail(http.MethodDelete, apiPostPath(ae.post.ID), ae.ownerW, "", http.StatusNotFound, "not_found")
	ae.apiFail(http.MethodGet, "/api/v1/posts/abc", ae.ownerW, "", http.StatusNotFound, "not_found")
}

// TestAPIEveryEndpointByToken runs every endpoint with a read-write token,
// a read-only token, a revoked token and no token.
func TestAPIEveryEndpointByToken(t *testing.T) {
	ae := newAPIEnv(t)
	mine := ae.env.post(ae.member, "apollo", "Mia's notes", "Draft numbers.")
	pp := apiPostPath(mine.ID)
	for _, tc := range []struct {
		method, path, body string
		ok                 int // with the write token
		write              bool
	}{
		{"GET", "/api/v1/me", "", 200, false},
		{"GET", "/api/v1/projects", "", 200, false},
		{"GET", "/api/v1/projects/apollo", "", 200, false},
		{"GET", "/api/v1/projects/apollo/posts", "", 200, false},
		{"POST", "/api/v1/projects/apollo/posts", `{"title":"From CI","body":"Release 1.2 is out."}`, 201, true},
		{"GET", pp, "", 200, false},
		{"PATCH", pp, `{"excerpt":"Monday it is."}`, 200, true},
		{"GET", pp + "/comments", "", 200, false},
		{"POST", pp + "/comments", `{"body":"Looks good."}`, 201, true},
	} {
		// The read-only token: reads work, writes are 403 and change
		// nothing. Revoked and no token: 401. (The helpers fail the test
		// naming the method and path.)
		head := ae.db.Head()
		if tc.write {
			e := ae.apiFail(tc.method, tc.path, ae.memberR, tc.body, http.StatusForbidden, "forbidden")
			if !strings.Contains(e.Error, "write") {
				t.Errorf("%s %s: the 403 does not say a write scope is needed: %q", tc.method, tc.path, e.Error)
			}
		} else {
			ae.apiOK(tc.method, tc.path, ae.memberR, tc.body, http.StatusOK, nil)
		}
		ae.apiFail(tc.method, tc.path, ae.revoked, tc.body, http.StatusUnauthorized, "unauthorized")
		ae.apiFail(tc.method, tc.path, "", tc.body, http.StatusUnauthorized, "unauthorized")
		if ae.db.Head() != head {
			t.Fatalf("%s %s: a refused request wrote events", tc.method, tc.path)
		}
		ae.apiOK(tc.method, tc.path, ae.memberW, tc.body, tc.ok, nil)
		if tc.write && ae.db.Head() == head {
			t.Errorf("%s %s: a write with the write token wrote no event", tc.method, tc.path)
		}
	}
}

// TestAPIPosts: create, read and list a post, and find it on the web.
func TestAPIPosts(t *testing.T) {
	ae := newAPIEnv(t)
	ae.clock.Add(time.Hour)
	body := `{"title": "Release 1.2", "body": "Notes:\r\n\r\n- faster\n- <b>safer</b> @member\n", "tags": ["Release", "ci"],
		"excerpt": "Faster and safer.", "health": "on_track"}`
	var p apiPostJSON
	res := ae.apiOK(http.MethodPost, "/api/v1/projects/apollo/posts", ae.memberW, body, http.StatusCreated, &p)
	if loc := res.Header.Get("Location"); loc != apiPostPath(p.ID) {
		t.Errorf("Location %q, want %q", loc, apiPostPath(p.ID))
	}
	if p.Project != "apollo" || p.Slug != "release-1-2" || p.URL != "http://projblog.test/p/apollo/release-1-2" ||
		p.Title != "Release 1.2" || p.Body != "Notes:\n\n- faster\n- <b>safer</b> @member\n" || p.Excerpt != "Faster and safer." ||
		p.Summary != "Faster and safer." || !slices.Equal(p.Tags, []string{"ci", "release"}) || p.Draft || p.Pinned ||
		p.Health != "on_track" || p.Revision != 1 || p.CommentCount != 0 ||
		p.Author.ID != ae.member.ID || p.Author.Name != "Mia Member" || p.Author.Handle != ae.member.Handle {
		t.Errorf("created post = %+v", p)
	}
	if strings.Contains(p.HTML, "<b>") || !strings.Contains(p.HTML, "<li>faster</li>") || !strings.Contains(p.HTML, "/people/"+ae.member.Handle) {
		t.Errorf("html is not the sanitised rendering with the mention: %s", p.HTML)
	}
	if p.PublishedAt == nil || !wantUTC(t, "published_at", *p.PublishedAt).Equal(ae.clock.Now()) {
		t.Errorf("published_at = %v, want %v", p.PublishedAt, ae.clock.Now())
	}
	wantUTC(t, "updated_at", p.UpdatedAt)

	// Exactly the documented keys, none more: the shape is a contract.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(res.Body), &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"author", "body", "comment_count", "created_at", "excerpt", "health", "html", "id", "pinned", "project",
		"published_at", "revision", "slug", "summary", "tags", "title", "updated_at", "url", "draft"}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if strings.Contains(res.Body, `\u003c`) {
		t.Error("the JSON escapes HTML needlessly")
	}

	// The same post, read back; and on the web, for a person.
	var got apiPostJSON
	ae.apiOK(http.MethodGet, apiPostPath(p.ID), ae.outsiderW, "", http.StatusOK, &got)
	if got.ID != p.ID || got.Body != p.Body || got.Revision != 1 {
		t.Errorf("GET = %+v", got)
	}
	if res := ae.client().login(ae.outsider.Email).get("/p/apollo/release-1-2"); res.Status != http.StatusOK ||
		!slices.Contains(texts(t, res.Body, "h1", ""), "Release 1.2") {
		t.Errorf("the post on the web: %d", res.Status)
	}

	// A draft: no published_at, hidden from others, visible to its author.
	var d apiPostJSON
	ae.apiOK(http.MethodPost, "/api/v1/projects/apollo/posts", ae.memberW, `{"title":"Half-baked","body":"…","draft":true}`, http.StatusCreated, &d)
	if !d.Draft || d.PublishedAt != nil || d.Tags == nil || len(d.Tags) != 0 {
		t.Errorf("draft = %+v", d)
	}
	ae.apiOK(http.MethodGet, apiPostPath(d.ID), ae.memberR, "", http.StatusOK, nil)
	ae.apiFail(http.MethodGet, apiPostPath(d.ID), ae.outsiderW, "", http.StatusNotFound, "not_found")

	// Invalid input is 422 with the field.
	head := ae.db.Head()
	for _, tc := range []struct{ body, field string }{
		{`{"body":"no title"}`, "title"},
		{`{"title":"x","health":"great"}`, "health"},
		{`{"title":"x","tags":["no spaces!"]}`, "tags"},
		{`{"title":"x","slug":"Bad Slug"}`, "slug"},
	} {
		e := ae.apiFail(http.MethodPost, "/api/v1/projects/apollo/posts", ae.memberW, tc.body, http.StatusUnprocessableEntity, "invalid")
		if e.Field != tc.field {
			t.Errorf("%s: field %q, want %q (%s)", tc.body, e.Field, tc.field, e.Error)
		}
	}
	// A slug another post holds is a conflict.
	ae.apiFail(http.MethodPost, "/api/v1/projects/apollo/posts", ae.memberW, `{"title":"x","slug":"release-1-2"}`, http.StatusConflict, "conflict")
	if ae.db.Head() != head {
		t.Error("refused posts wrote events")
	}

	// Projects: what the token's owner may read, with their role.
	var list struct {
		Projects []struct {
			Slug       string `json:"slug"`
			Name       string `json:"name"`
			Visibility string `json:"visibility"`
			Role       string `json:"role"`
			CanPost    bool   `json:"can_post"`
			PostCount  int    `json:"post_count"`
			URL        string `json:"url"`
			Health     string `json:"health"`
		} `json:"projects"`
	}
	ae.apiOK(http.MethodGet, "/api/v1/projects", ae.memberR, "", http.StatusOK, &list)
	if len(list.Projects) != 1 || list.Projects[0].Slug != "apollo" || list.Projects[0].Role != "member" || !list.Projects[0].CanPost ||
		list.Projects[0].PostCount != 2 || list.Projects[0].URL != "http://projblog.test/p/apollo" || list.Projects[0].Health != "on_track" {
		t.Errorf("member's projects = %+v", list.Projects)
	}
	ae.apiOK(http.MethodGet, "/api/v1/projects", ae.ownerW, "", http.StatusOK, &list)
	if len(list.Projects) != 2 {
		t.Errorf("owner's projects = %+v", list.Projects)
	}
	ae.apiOK(http.MethodGet, "/api/v1/projects", ae.outsiderW, "", http.StatusOK, &list)
	if len(list.Projects) != 1 || list.Projects[0].Role != "" || list.Projects[0].CanPost {
		t.Errorf("outsider's projects = %+v", list.Projects)
	}
	// An outsider of an internal project reads it but may not post.
	ae.apiFail(http.MethodPost, "/api/v1/projects/apollo/posts", ae.outsiderW, `{"title":"x"}`, http.StatusForbidden, "forbidden")
}

// TestAPIComments: comment, reply, and list in thread order.
func TestAPIComments(t *testing.T) {
	ae := newAPIEnv(t)
	pp := apiPostPath(ae.post.ID)
	var c1, c2 apiCommentJSON
	ae.apiOK(http.MethodPost, pp+"/comments", ae.memberW, `{"body":"When exactly?"}`, http.StatusCreated, &c1)
	if c1.ParentID != 0 || c1.PostID != ae.post.ID || c1.Author.ID != ae.member.ID || c1.HTML != "<p>When exactly?</p>\n" ||
		c1.URL != fmt.Sprintf("http://projblog.test/p/apollo/launch-plan#comment-%d", c1.ID) {
		t.Errorf("comment = %+v", c1)
	}
	// An outsider of an internal project may discuss (as on the web).
	ae.apiOK(http.MethodPost, pp+"/comments", ae.outsiderW, fmt.Sprintf(`{"body":"At nine.","parent_id":%d}`, c1.ID), http.StatusCreated, &c2)
	if c2.ParentID != c1.ID {
		t.Errorf("reply = %+v", c2)
	}
	var list struct {
		Comments []apiCommentJSON `json:"comments"`
	}
	ae.apiOK(http.MethodGet, pp+"/comments", ae.memberR, "", http.StatusOK, &list)
	if len(list.Comments) != 2 || list.Comments[0].ID != c1.ID || list.Comments[1].ID != c2.ID {
		t.Errorf("comments = %+v", list.Comments)
	}
	var p apiPostJSON
	ae.apiOK(http.MethodGet, pp, ae.memberR, "", http.StatusOK, &p)
	if p.CommentCount != 2 {
		t.Errorf("comment_count = %d", p.CommentCount)
	}
	e := ae.apiFail(http.MethodPost, pp+"/comments", ae.memberW, `{"body":"x","parent_id":999}`, http.StatusUnprocessableEntity, "invalid")
	if e.Field != "parent_id" {
		t.Errorf("bad parent: %+v", e)
	}
	ae.apiFail(http.MethodPost, pp+"/comments", ae.memberW, `{"body":"  "}`, http.StatusUnprocessableEntity, "invalid")
	// Seen on the web.
	if res := ae.client().login(ae.owner.Email).get("/p/apollo/launch-plan"); !strings.Contains(res.Body, fmt.Sprintf(`id="comment-%d"`, c2.ID)) {
		t.Error("the API's comment is not on the post page")
	}
}

// TestAPIPrivateProject: a private project does not exist for an outsider's
// token, exactly as on the web, whatever the endpoint.
func TestAPIPrivateProject(t *testing.T) {
	ae := newAPIEnv(t)
	sp := apiPostPath(ae.secretPost.ID)
	missing := ae.api(http.MethodGet, "/api/v1/projects/no-such-project", ae.outsiderW, "")
	head := ae.db.Head()
	for _, tok := range []string{ae.outsiderW, ae.memberW} {
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/api/v1/projects/secret", ""},
			{"GET", "/api/v1/projects/secret/posts", ""},
			{"POST", "/api/v1/projects/secret/posts", `{"title":"Leak","body":"x"}`},
			{"GET", sp, ""},
			{"PATCH", sp, `{"title":"Leak"}`},
			{"GET", sp + "/comments", ""},
			{"POST", sp + "/comments", `{"body":"Leak"}`},
		} {
			ae.apiFail(tc.method, tc.path, tok, tc.body, http.StatusNotFound, "not_found")
		}
		res := ae.api(http.MethodGet, "/api/v1/projects/secret", tok, "")
		if res.Body != missing.Body {
			t.Errorf("a private project answers %s, a missing one %s", res.Body, missing.Body)
		}
		var list struct {
			Projects []struct{ Slug string } `json:"projects"`
		}
		ae.apiOK(http.MethodGet, "/api/v1/projects", tok, "", http.StatusOK, &list)
		for _, p := range list.Projects {
			if p.Slug == "secret" {
				t.Error("the private project is listed for an outsider")
			}
		}
	}
	if ae.db.Head() != head {
		t.Error("refused requests wrote events")
	}
	// Its owner sees it.
	ae.apiOK(http.MethodGet, sp, ae.ownerW, "", http.StatusOK, nil)
}

// TestAPIBadRequests: malformed JSON, unknown fields, wrong types and
// oversized bodies get a 4xx JSON error that says what is wrong, and
// nothing is written.
func TestAPIBadRequests(t *testing.T) {
	ae := newAPIEnv(t)
	create := "/api/v1/projects/apollo/posts"
	head := ae.db.Head()
	for _, tc := range []struct {
		name, method, path, body string
		says                     []string
	}{
		{"Syntax", "POST", create, `{"title": "x",}`, []string{"not valid JSON", "byte"}},
		{"Truncated", "POST", create, `{"title": "x"`, []string{"ends too early"}},
		{"Empty", "POST", create, ``, []string{"empty"}},
		{"UnknownField", "POST", create, `{"title": "x", "titel": "y"}`, []string{`"titel"`, `"title"`, `"body"`}},
		{"UnknownFieldPatch", "PATCH", apiPostPath(ae.post.ID), `{"pinned": true}`, []string{`"pinned"`, `"revision"`}},
		{"UnknownFieldComment", "POST", apiPostPath(ae.post.ID) + "/comments", `{"text": "hi"}`, []string{`"text"`, `"body"`, `"parent_id"`}},
		{"WrongType", "POST", create, `{"title": "x", "tags": "a,b"}`, []string{`"tags"`, "array of strings"}},
		{"WrongBool", "POST", create, `{"title": "x", "draft": "yes"}`, []string{`"draft"`, "true or false"}},
		{"WrongNumber", "PATCH", apiPostPath(ae.post.ID), `{"revision": "1"}`, []string{`"revision"`, "whole number"}},
		{"NotAnObject", "POST", create, `["title"]`, []string{"JSON object"}},
		{"TwoObjects", "POST", create, `{"title": "x"} {"title": "y"}`, []string{"exactly one JSON object"}},
		{"ZeroRevision", "PATCH", apiPostPath(ae.post.ID), `{"revision": 0}`, []string{"revision"}},
	} {
		e := ae.apiFail(tc.method, tc.path, ae.ownerW, tc.body, http.StatusBadRequest, "invalid")
		for _, s := range tc.says {
			if !strings.Contains(e.Error, s) {
				t.Errorf("%s: message %q does not mention %s", tc.name, e.Error, s)
			}
		}
	}

	// Over the site's 2 MiB limit: 413, JSON, whatever the Accept header.
	big := `{"title": "big", "body": "` + strings.Repeat("a", 3<<20) + `"}`
	req, _ := http.NewRequest(http.MethodPost, ae.srv.URL+create, strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+ae.ownerW)
	req.Header.Set("Accept", "text/html")
	res := ae.client().do(req)
	var e apiError
	if res.Status != http.StatusRequestEntityTooLarge || json.Unmarshal([]byte(res.Body), &e) != nil || e.Code != "too_large" {
		t.Errorf("3 MiB body: %d %.200s", res.Status, res.Body)
	}
	// The same sent in chunks, without a Content-Length, is cut off too.
	req, _ = http.NewRequest(http.MethodPost, ae.srv.URL+create, struct{ *strings.Reader }{strings.NewReader(big)})
	req.Header.Set("Authorization", "Bearer "+ae.ownerW)
	res = ae.client().do(req)
	if res.Status != http.StatusRequestEntityTooLarge || json.Unmarshal([]byte(res.Body), &e) != nil || e.Code != "too_large" {
		t.Errorf("3 MiB chunked body: %d %.200s", res.Status, res.Body)
	}
	// Under the request limit, over a post's 1 MiB: the posts package's
	// 413 naming the field.
	e = ae.apiFail(http.MethodPost, create, ae.ownerW, `{"title": "big", "body": "`+strings.Repeat("a", 1<<20+1)+`"}`, http.StatusRequestEntityTooLarge, "too_large")
	if e.Field != "body" {
		t.Errorf("1 MiB + 1 body: %+v", e)
	}
	// Query parameters.
	ae.apiFail(http.MethodGet, "/api/v1/projects/apollo/posts?limit=0", ae.ownerW, "", http.StatusBadRequest, "invalid")
	ae.apiFail(http.MethodGet, "/api/v1/projects/apollo/posts?limit=101", ae.ownerW, "", http.StatusBadRequest, "invalid")
	ae.apiFail(http.MethodGet, "/api/v1/projects/apollo/posts?limit=ten", ae.ownerW, "", http.StatusBadRequest, "invalid")
	ae.apiFail(http.MethodGet, "/api/v1/projects/apollo/posts?cursor=nonsense", ae.ownerW, "", http.StatusBadRequest, "invalid")

	if ae.db.Head() != head {
		t.Error("bad requests wrote events")
	}
	if p, _, err := ae.posts.Post(ae.owner.Actor(), ae.post.ID); err != nil || p.Revision != 1 {
		t.Errorf("the post changed: %+v, %v", p, err)
	}
}

// TestAPIPatch: only the fields given change; a stale revision is a 409.
func TestAPIPatch(t *testing.T) {
	ae := newAPIEnv(t)
	pp := apiPostPath(ae.post.ID)
	var p apiPostJSON
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{"tags": ["launch"], "excerpt": "Monday.", "health": "at_risk"}`, http.StatusOK, &p)
	if p.Title != "Launch plan" || p.Body != "We launch on **Monday**." || !slices.Equal(p.Tags, []string{"launch"}) ||
		p.Excerpt != "Monday." || p.Health != "at_risk" || p.Revision != 2 || p.Draft {
		t.Fatalf("after the first patch: %+v", p)
	}
	ae.clock.Add(time.Minute)
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{"title": "Launch plan, final"}`, http.StatusOK, &p)
	if p.Title != "Launch plan, final" || p.Body != "We launch on **Monday**." || !slices.Equal(p.Tags, []string{"launch"}) ||
		p.Excerpt != "Monday." || p.Health != "at_risk" || p.Revision != 3 || p.Slug != "launch-plan" {
		t.Fatalf("a title-only patch changed more: %+v", p)
	}
	if wantUTC(t, "updated_at", p.UpdatedAt); p.UpdatedAt == "" {
		t.Fatal("no updated_at")
	}
	// null and absent keep; [] and "" clear.
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{"tags": null, "body": null}`, http.StatusOK, &p)
	if p.Revision != 3 || len(p.Tags) != 1 {
		t.Errorf("null changed something: %+v", p)
	}
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{"tags": [], "health": ""}`, http.StatusOK, &p)
	if len(p.Tags) != 0 || p.Health != "" || p.Excerpt != "Monday." {
		t.Errorf("clearing tags and health: %+v", p)
	}
	// Unpublish and publish again.
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{"draft": true}`, http.StatusOK, &p)
	if !p.Draft || p.PublishedAt == nil {
		t.Errorf("unpublished: %+v", p)
	}
	ae.apiFail(http.MethodGet, pp, ae.outsiderW, "", http.StatusNotFound, "not_found")
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{"draft": false}`, http.StatusOK, &p)
	if p.Draft {
		t.Errorf("republished: %+v", p)
	}
	// A new slug; the old address still leads to the post on the web.
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{"slug": "launch"}`, http.StatusOK, &p)
	if p.Slug != "launch" || p.URL != "http://projblog.test/p/apollo/launch" {
		t.Errorf("new slug: %+v", p)
	}

	// Conflict: the change was made against an older revision.
	rev := p.Revision
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, fmt.Sprintf(`{"body": "Tuesday now.", "revision": %d}`, rev), http.StatusOK, &p)
	head := ae.db.Head()
	e := ae.apiFail(http.MethodPatch, pp, ae.ownerW, fmt.Sprintf(`{"body": "Monday still.", "revision": %d}`, rev), http.StatusConflict, "conflict")
	if !strings.Contains(e.Error, fmt.Sprint(rev+1)) {
		t.Errorf("the conflict does not name the current revision: %q", e.Error)
	}
	if ae.db.Head() != head {
		t.Error("a conflicting patch wrote events")
	}
	// A member may not edit the owner's post.
	ae.apiFail(http.MethodPatch, pp, ae.memberW, `{"title": "Mine now"}`, http.StatusForbidden, "forbidden")
	ae.apiOK(http.MethodGet, pp, ae.memberR, "", http.StatusOK, &p)
	if p.Body != "Tuesday now." || p.Title != "Launch plan, final" {
		t.Errorf("the post after refused patches: %+v", p)
	}
	// An empty patch changes nothing and answers the post.
	ae.apiOK(http.MethodPatch, pp, ae.ownerW, `{}`, http.StatusOK, &p)
	if ae.db.Head() != head || p.Body != "Tuesday now." {
		t.Error("an empty patch wrote")
	}
}

// TestAPIPagination walks a project's posts page by page: every published
// post once, newest first, pinned ones on the first page only.
func TestAPIPagination(t *testing.T) {
	ae := newAPIEnv(t)
	want := map[uint64]bool{ae.post.ID: true}
	for i := range 45 {
		ae.clock.Add(time.Minute)
		p := ae.env.post(ae.member, "apollo", fmt.Sprintf("Update %d", i), "Numbers.")
		want[p.ID] = true
		if i == 3 || i == 30 {
			if err := ae.posts.SetPinned(ae.owner.Actor(), p.ID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := ae.posts.CreatePost(ae.member.Actor(), "apollo", posts.PostInput{Title: "Draft", Draft: true}); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	cursor, pages := "", 0
	var last time.Time
	for {
		path := "/api/v1/projects/apollo/posts?limit=10"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page apiPage
		ae.apiOK(http.MethodGet, path, ae.memberR, "", http.StatusOK, &page)
		pages++
		if pages == 1 && len(page.Pinned) != 2 || pages > 1 && len(page.Pinned) != 0 {
			t.Errorf("page %d has %d pinned posts", pages, len(page.Pinned))
		}
		if page.Pinned == nil || page.Posts == nil {
			t.Errorf("page %d: posts or pinned is null, want []", pages)
		}
		for _, p := range page.Pinned {
			if !p.Pinned || seen[p.ID] {
				t.Errorf("pinned %+v", p)
			}
			seen[p.ID] = true
		}
		for _, p := range page.Posts {
			if seen[p.ID] {
				t.Errorf("post %d twice", p.ID)
			}
			seen[p.ID] = true
			at := wantUTC(t, "published_at", *p.PublishedAt)
			if !last.IsZero() && at.After(last) {
				t.Errorf("post %d is newer than the one before it", p.ID)
			}
			last = at
		}
		if page.NextCursor == nil {
			break
		}
		if len(page.Posts) != 10 {
			t.Errorf("page %d has %d posts and a next cursor", pages, len(page.Posts))
		}
		cursor = *page.NextCursor
		if pages > 10 {
			t.Fatal("the pages do not end")
		}
	}
	if pages != 5 || len(seen) != len(want) {
		t.Errorf("%d pages, %d posts seen; want 5 pages and %d posts", pages, len(seen), len(want))
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("post %d was never listed", id)
		}
	}
	// The default page size is posts.DefaultLimit.
	var page apiPage
	ae.apiOK(http.MethodGet, "/api/v1/projects/apollo/posts", ae.memberR, "", http.StatusOK, &page)
	if len(page.Posts) != posts.DefaultLimit {
		t.Errorf("default page: %d posts", len(page.Posts))
	}
}

// TestAPIDocsMatchRoutes: every curl line of docs/API.md calls a route the
// server has, and every API route has a curl example.
func TestAPIDocsMatchRoutes(t *testing.T) {
	e := newEnv(t)
	ec, ok := e.srv.Config.Handler.(interface{ Routes() []*echo.Route })
	if !ok {
		t.Fatalf("the handler is a %T", e.srv.Config.Handler)
	}
	routes := map[string]*regexp.Regexp{}
	for _, r := range ec.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || strings.HasSuffix(r.Path, "*") || r.Method == echo.RouteNotFound {
			continue
		}
		pat := regexp.MustCompile(`:[a-z_]+`).ReplaceAllString(regexp.QuoteMeta(r.Path), `[^/]+`)
		routes[r.Method+" "+r.Path] = regexp.MustCompile("^" + pat + "$")
	}
	if len(routes) < 8 {
		t.Fatalf("only %d API routes: %v", len(routes), routes)
	}

	doc, err := os.ReadFile("../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	// A curl example may continue over lines ending in "\".
	var cmds []string
	var cur strings.Builder
	for line := range strings.SplitSeq(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if cur.Len() == 0 && !strings.HasPrefix(line, "curl ") {
			continue
		}
		cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
		if !strings.HasSuffix(line, "\\") {
			cmds = append(cmds, cur.String())
			cur.Reset()
		}
	}
	if len(cmds) < len(routes) {
		t.Fatalf("docs/API.md has %d curl examples for %d routes", len(cmds), len(routes))
	}
	urlRe := regexp.MustCompile(`http://localhost:8080(/[^\s"'?]*)`)
	methodRe := regexp.MustCompile(`(?:-X|--request)\s+([A-Z]+)`)
	used := map[string]bool{}
	for _, cmd := range cmds {
		m := urlRe.FindStringSubmatch(cmd)
		if m == nil {
			t.Errorf("curl example without a http://localhost:8080 URL: %s", cmd)
			continue
		}
		method := http.MethodGet
		if mm := methodRe.FindStringSubmatch(cmd); mm != nil {
			method = mm[1]
		} else if strings.Contains(cmd, " -d ") || strings.Contains(cmd, " --data") {
			method = http.MethodPost
		}
		path := m[1]
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		if !strings.Contains(cmd, "Authorization: Bearer") {
			t.Errorf("curl example without a token: %s", cmd)
		}
		found := false
		for name, re := range routes {
			if strings.HasPrefix(name, method+" ") && re.MatchString(path) {
				used[name] = true
				found = true
			}
		}
		if !found {
			t.Errorf("docs/API.md calls %s %s, which is no route", method, path)
		}
	}
	for name := range routes {
		if !used[name] {
			t.Errorf("route %s has no curl example in docs/API.md", name)
		}
	}
}

// TestSettingsAPITokens: a person creates a token in Settings, sees it
// once, uses it, and revokes it.
func TestSettingsAPITokens(t *testing.T) {
	e := newEnv(t)
	mia := e.user("mia@example.com", "Mia", false)
	other := e.user("otto@example.com", "Otto", false)
	_, othersToken, err := e.users.CreateAPIToken(other.ID, "Otto's", users.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client().login(mia.Email)
	res := c.get("/settings")
	if !slices.Contains(texts(t, res.Body, "h2", ""), "API tokens") || !slices.Contains(texts(t, res.Body, "p", "hint"), "You have no API tokens.") {
		t.Fatalf("settings without tokens:\n%s", res.Body)
	}

	// A bad name: the form again with the error at its field (not at the
	// profile's name).
	res = c.post("/settings/api-tokens", url.Values{"token_name": {"  "}, "token_scope": {"write"}})
	if res.Status != http.StatusUnprocessableEntity || len(texts(t, res.Body, "p", "field-error")) != 1 ||
		!strings.Contains(res.Body, `id="err-token_name"`) {
		t.Fatalf("empty name: %d\n%s", res.Status, res.Body)
	}
	res = c.post("/settings/api-tokens", url.Values{"token_name": {"CI"}, "token_scope": {"admin"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, `id="err-token_scope"`) || formValue(t, res.Body, "token_name") != "CI" {
		t.Fatalf("bad scope: %d", res.Status)
	}

	res = c.post("/settings/api-tokens", url.Values{"token_name": {"CI release notes"}, "token_scope": {"write"}})
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %q", res.Status, res.Header.Get("Cache-Control"))
	}
	var token string
	walk(t, res.Body, func(n *htmlNode) bool {
		if n.Data == "input" && attr(n, "id") == "new-api-token" {
			token = attr(n, "value")
			return false
		}
		return true
	})
	if !strings.HasPrefix(token, "pba_") {
		t.Fatalf("no token on the page:\n%s", res.Body)
	}
	var me struct {
		User  struct{ ID uint64 } `json:"user"`
		Scope string              `json:"scope"`
	}
	e.apiOK(http.MethodGet, "/api/v1/me", token, "", http.StatusOK, &me)
	if me.User.ID != mia.ID || me.Scope != "write" {
		t.Errorf("the new token is %+v", me)
	}

	// Shown once: the settings page lists it by name, without the token.
	res = c.get("/settings")
	if strings.Contains(res.Body, token) || !slices.Contains(texts(t, res.Body, "td", ""), "CI release notes") {
		t.Fatalf("settings after creating: token shown again, or not listed")
	}
	list, err := e.users.APITokens(mia.ID)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}

	// Someone else's token cannot be revoked from here.
	if res := c.post(fmt.Sprintf("/settings/api-tokens/%d/revoke", othersToken.ID), nil); res.Status != http.StatusNotFound {
		t.Errorf("revoking someone else's token: %d", res.Status)
	}
	if l, _ := e.users.APITokens(other.ID); len(l) != 1 {
		t.Error("someone else's token was revoked")
	}
	res = c.post(fmt.Sprintf("/settings/api-tokens/%d/revoke", list[0].ID), nil)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/settings#api-h" {
		t.Fatalf("revoke: %d %q", res.Status, res.Header.Get("Location"))
	}
	if got := texts(t, c.get("/settings").Body, "p", "flash"); len(got) != 1 || !strings.Contains(got[0], "revoked") {
		t.Errorf("flash after revoking: %q", got)
	}
	e.apiFail(http.MethodGet, "/api/v1/me", token, "", http.StatusUnauthorized, "unauthorized")
}

// TestAPIPatchConcurrent: two scripts patch different fields of one post
// at the same time, without "revision". Neither loses the other's change:
// a patch is applied to the post as it is when it is written.
func TestAPIPatchConcurrent(t *testing.T) {
	ae := newAPIEnv(t)
	pp := ae.srv.URL + apiPostPath(ae.post.ID)
	patch := func(body string) (int, error) {
		req, _ := http.NewRequest(http.MethodPatch, pp, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ae.ownerW)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	const n = 15
	type outcome struct {
		last      int // the last value written with 200
		conflicts int
		err       error
	}
	run := func(field string, out *outcome, done chan<- struct{}) {
		defer func() { done <- struct{}{} }()
		for i := 1; i <= n; i++ {
			status, err := patch(fmt.Sprintf(`{%q: "%s %d"}`, field, field, i))
			switch {
			case err != nil:
				out.err = err
				return
			case status == http.StatusOK:
				out.last = i
			case status == http.StatusConflict:
				out.conflicts++ // the retries ran out: allowed, but nothing may be lost
			default:
				out.err = fmt.Errorf("%s %d: status %d", field, i, status)
				return
			}
		}
	}
	var titles, bodies outcome
	done := make(chan struct{})
	go run("title", &titles, done)
	go run("body", &bodies, done)
	<-done
	<-done
	if titles.err != nil || bodies.err != nil {
		t.Fatal(titles.err, bodies.err)
	}
	p, _, err := ae.posts.Post(ae.owner.Actor(), ae.post.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != fmt.Sprintf("title %d", titles.last) || p.Body != fmt.Sprintf("body %d", bodies.last) {
		t.Errorf("title %q body %q, want the last written: title %d, body %d (conflicts: %d, %d)",
			p.Title, p.Body, titles.last, bodies.last, titles.conflicts, bodies.conflicts)
	}
	if titles.last == 0 || bodies.last == 0 {
		t.Errorf("a writer never got through (%d and %d conflicts)", titles.conflicts, bodies.conflicts)
	}
}
