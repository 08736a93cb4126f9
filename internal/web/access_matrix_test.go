package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// The access matrix as a person meets it through HTTP, written out by hand
// (not derived from access.Can) so that it checks the policy, the handlers
// and the domain methods together. One letter per reader, in the order of
// matrixReaders:
//
//	Y  allowed: a page answers 200, a form 303, and the change is made
//	N  404 "Not found": the reader may not read the project, so it looks
//	   like a missing one (never 403, which would say that it exists)
//	F  403: the reader may read the project but not do this
//	L  anonymous on a route behind requireLogin: a GET is redirected (303)
//	   to /login?next=<the path>, a POST is answered 401
//
// The seventh reader is a guest subscriber of the project at hand (an
// outside address the owner added, no account), whose browser came in
// through their magic link: they read the project as a viewer would, and
// everything else asks them to log in. The eighth is a guest of another
// project (Wren, private, outside the matrix): to them every project of
// the matrix is what it is to an anonymous reader.
//
// "archived" is an internal project archived after its posts were written.
// The edit rows also try the delete button (same rule), and "edit others'"
// the pin button (access.EditOthers).
var httpMatrix = map[string]map[string]string{
	"public": {
		"read":           "YYYYYYYY",
		"post":           "LFFYYYLL",
		"edit-own":       "LFFYYYLL",
		"edit-others":    "LFFFYYLL",
		"manage-members": "LFFFYYLL",
		"manage-project": "LFFFYYLL",
	},
	"internal": {
		"read":           "NYYYYYYN",
		"post":           "LFFYYYLL",
		"edit-own":       "LFFYYYLL",
		"edit-others":    "LFFFYYLL",
		"manage-members": "LFFFYYLL",
		"manage-project": "LFFFYYLL",
	},
	"private": {
		"read":           "NNYYYYYN",
		"post":           "LNFYYYLL",
		"edit-own":       "LNFYYYLL",
		"edit-others":    "LNFFYYLL",
		"manage-members": "LNFFYYLL",
		"manage-project": "LNFFYYLL",
	},
	"archived": {
		"read":           "NYYYYYYN",
		"post":           "LFFFFFLL",
		"edit-own":       "LFFFFFLL",
		"edit-others":    "LFFFFFLL",
		"manage-members": "LFFFYYLL",
		"manage-project": "LFFFYYLL",
	},
}

var (
	matrixReaders = []string{"anonymous", "non-member", "viewer", "member", "owner", "admin", "guest", "other-guest"}
	matrixKinds   = []string{"public", "internal", "private", "archived"}
	matrixActions = []string{"read", "post", "edit-own", "edit-others", "manage-members", "manage-project"}
)

// matrixProject is one project of the matrix. Its name and its posts'
// titles start with a word found nowhere else on the site, so a page that
// must not show them can be searched for that word.
type matrixProject struct {
	kind  string
	slug  string
	word  string // distinctive: in the name and every post title
	name  string
	id    uint64
	posts map[string]*posts.Post // by the reader who wrote it
}

type matrixReader struct {
	name  string
	c     *client
	token string // the CSRF token of c's cookie, which stays the same
}

// post submits a form with the reader's CSRF token, fetched once: a
// browser's pages all carry the same one.
func (rd *matrixReader) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	if rd.token == "" {
		rd.token = rd.c.csrf()
	}
	form.Set("_csrf", rd.token)
	return rd.c.postRaw(path, form)
}

type matrixEnv struct {
	*env
	admin    access.Actor // to look at the database behind the pages
	projects map[string]*matrixProject
	readers  map[string]*matrixReader
	guests   map[string]*matrixReader // by project kind: a guest of that project
}

// newMatrixEnv builds the site of the matrix: one project of each kind,
// owned by the same owner, with the same viewer and member, and one client
// per reader, logged in once.
//
// "Edit own" needs a post of one's own. Member, owner and admin wrote
// theirs. The viewer and the non-member wrote theirs too, as members,
// before the viewer was demoted and the non-member removed: their "edit
// own" is editing a post they wrote but may no longer touch, which must be
// refused. The anonymous reader cannot have written anything; their "edit
// own" (and "edit others'") is an attempt on the member's post. All posts
// were written before the archived project was archived.
func newMatrixEnv(t *testing.T) *matrixEnv {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	member := e.user("member@example.com", "Mia Member", false)
	viewer := e.user("viewer@example.com", "Vic Viewer", false)
	outsider := e.user("outsider@example.com", "Nina Nonmember", false)
	admin := e.user("admin@example.com", "Ada Admin", true)
	authors := map[string]*users.User{"member": member, "owner": owner, "viewer": viewer, "non-member": outsider, "admin": admin}

	me := &matrixEnv{env: e, admin: admin.Actor(), projects: map[string]*matrixProject{}, readers: map[string]*matrixReader{},
		guests: map[string]*matrixReader{}}
	specs := []struct{ kind, slug, word string }{
		{"public", "kestrel", "Kestrel"},
		{"internal", "heron", "Heron"},
		{"private", "osprey", "Osprey"},
		{"archived", "plover", "Plover"},
	}
	for _, sp := range specs {
		vis := access.Visibility(sp.kind)
		if sp.kind == "archived" {
			vis = access.Internal
		}
		pr := &matrixProject{kind: sp.kind, slug: sp.slug, word: sp.word, name: sp.word + " Lab", posts: map[string]*posts.Post{}}
		p, err := e.posts.CreateProject(owner.Actor(), posts.ProjectInput{Slug: pr.slug, Name: pr.name, Visibility: vis}, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		pr.id = p.ID
		for _, u := range []*users.User{member, viewer, outsider} {
			if err := e.posts.SetMember(owner.Actor(), pr.slug, u.ID, access.Member); err != nil {
				t.Fatal(err)
			}
		}
		for _, who := range []string{"member", "owner", "viewer", "non-member", "admin"} {
			pr.posts[who] = e.post(authors[who], pr.slug, fmt.Sprintf("%s notes of the %s", sp.word, who), "Written by the "+who+".")
		}
		if err := e.posts.SetMember(owner.Actor(), pr.slug, viewer.ID, access.Viewer); err != nil {
			t.Fatal(err)
		}
		if err := e.posts.RemoveMember(owner.Actor(), pr.slug, outsider.ID); err != nil {
			t.Fatal(err)
		}
		if sp.kind == "archived" {
			if err := e.posts.SetArchived(owner.Actor(), pr.slug, true); err != nil {
				t.Fatal(err)
			}
		}
		me.projects[sp.kind] = pr
	}
	for kind, pr := range me.projects {
		g, err := e.notify.AddGuest(owner.Actor(), pr.slug, "guest-"+kind+"@outside.example", "")
		if err != nil {
			t.Fatal(err)
		}
		token, err := e.notify.GuestToken(g)
		if err != nil {
			t.Fatal(err)
		}
		c := e.client()
		if res := c.get("/guest/" + token); res.Status != http.StatusSeeOther {
			t.Fatalf("the magic link of %s: %d", pr.slug, res.Status)
		}
		me.guests[kind] = &matrixReader{name: "guest", c: c}
	}
	if _, err := e.posts.CreateProject(owner.Actor(), posts.ProjectInput{Slug: "wren", Name: "Wren Lab", Visibility: access.Private}, owner.ID); err != nil {
		t.Fatal(err)
	}
	og, err := e.notify.AddGuest(owner.Actor(), "wren", "guest-wren@outside.example", "")
	if err != nil {
		t.Fatal(err)
	}
	ogToken, err := e.notify.GuestToken(og)
	if err != nil {
		t.Fatal(err)
	}
	me.readers["other-guest"] = &matrixReader{name: "other-guest", c: e.client()}
	if res := me.readers["other-guest"].c.get("/guest/" + ogToken); res.Status != http.StatusSeeOther {
		t.Fatalf("the magic link of wren: %d", res.Status)
	}
	me.readers["anonymous"] = &matrixReader{name: "anonymous", c: e.client()}
	for name, u := range authors {
		me.readers[name] = &matrixReader{name: name, c: e.client().login(u.Email)}
	}
	return me
}

// current is the post as it is stored now.
func (me *matrixEnv) current(t *testing.T, id uint64) *posts.Post {
	t.Helper()
	p, _, err := me.posts.Post(me.admin, id)
	if err != nil {
		t.Fatalf("post %d: %v", id, err)
	}
	return p
}

// project is the project as it is stored now.
func (me *matrixEnv) project(t *testing.T, pr *matrixProject) *posts.ProjectView {
	t.Helper()
	pv, err := me.posts.Project(me.admin, pr.slug)
	if err != nil {
		t.Fatalf("project %s: %v", pr.slug, err)
	}
	return pv
}

// titles are the titles of every published post and draft of the project.
func (me *matrixEnv) titles(t *testing.T, pr *matrixProject) []string {
	t.Helper()
	pinned, page, err := me.posts.ProjectPosts(me.admin, pr.slug, "", posts.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	drafts, err := me.posts.Drafts(me.admin, pr.slug)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range slices.Concat(pinned, page.Posts, drafts) {
		out = append(out, p.Title)
	}
	return out
}

// refusal asserts that res is the refusal the letter want stands for.
// method is that of the request; path is where a GET by an anonymous
// reader must be sent back to after logging in.
func refusal(t *testing.T, res response, want byte, method, path string) {
	t.Helper()
	switch want {
	case 'N':
		if res.Status != http.StatusNotFound {
			t.Fatalf("%s %s: status %d, want 404", method, path, res.Status)
		}
	case 'F':
		if res.Status != http.StatusForbidden {
			t.Fatalf("%s %s: status %d, want 403", method, path, res.Status)
		}
	case 'L':
		if method == http.MethodPost {
			if res.Status != http.StatusUnauthorized {
				t.Fatalf("%s %s: status %d, want 401", method, path, res.Status)
			}
			return
		}
		wantLoc := "/login?next=" + url.QueryEscape(path)
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != wantLoc {
			t.Fatalf("%s %s: status %d to %q, want 303 to %q", method, path, res.Status, res.Header.Get("Location"), wantLoc)
		}
	default:
		t.Fatalf("bad expectation %q", want)
	}
}

// mustNotShow fails when body names the project or any of its posts.
func mustNotShow(t *testing.T, body string, pr *matrixProject) {
	t.Helper()
	if strings.Contains(body, pr.word) {
		t.Errorf("the refusal shows %q (the project's name or a post title)", pr.word)
	}
}

func TestAccessMatrixHTTP(t *testing.T) {
	me := newMatrixEnv(t)
	cells := 0
	for _, kind := range matrixKinds {
		pr := me.projects[kind]
		for _, action := range matrixActions {
			row := httpMatrix[kind][action]
			for i, reader := range matrixReaders {
				want := row[i]
				rd := me.readers[reader]
				if reader == "guest" {
					rd = me.guests[kind]
				}
				cells++
				t.Run(kind+"/"+action+"/"+reader, func(t *testing.T) {
					switch action {
					case "read":
						me.checkRead(t, pr, rd, want)
					case "post":
						me.checkPost(t, pr, rd, want)
					case "edit-own":
						target := pr.posts[reader]
						if reader == "anonymous" || reader == "guest" || reader == "other-guest" {
							target = pr.posts["member"]
						}
						me.checkEdit(t, pr, rd, target, want)
						me.checkDelete(t, pr, rd, target, want)
					case "edit-others":
						target := pr.posts["member"]
						if reader == "member" {
							target = pr.posts["owner"]
						}
						me.checkEdit(t, pr, rd, target, want)
						me.checkDelete(t, pr, rd, target, want)
						me.checkPin(t, pr, rd, target, want)
					case "manage-members":
						me.checkAddMember(t, pr, rd, want)
					case "manage-project":
						me.checkSettings(t, pr, rd, want)
					}
				})
			}
		}
	}
	if cells != len(matrixKinds)*len(matrixActions)*len(matrixReaders) {
		t.Fatalf("walked %d cells", cells)
	}
}

func (me *matrixEnv) checkRead(t *testing.T, pr *matrixProject, rd *matrixReader, want byte) {
	post := me.current(t, pr.posts["member"].ID)
	projectPath, postPath := "/p/"+pr.slug, "/p/"+pr.slug+"/"+post.Slug
	proj, page := rd.c.get(projectPath), rd.c.get(postPath)
	if want == 'Y' {
		if proj.Status != http.StatusOK || page.Status != http.StatusOK {
			t.Fatalf("project page %d, post page %d; want 200 and 200", proj.Status, page.Status)
		}
		if got := texts(t, proj.Body, "h1", ""); len(got) != 1 || got[0] != me.project(t, pr).Name {
			t.Errorf("project page h1 %q", got)
		}
		if entries := strings.Join(texts(t, proj.Body, "article", "entry"), "\n"); !strings.Contains(entries, post.Title) {
			t.Errorf("the project page does not list %q", post.Title)
		}
		if got := texts(t, page.Body, "h1", "p-name"); len(got) != 1 || got[0] != post.Title {
			t.Errorf("post page h1 %q, want %q", got, post.Title)
		}
		return
	}
	refusal(t, proj, want, http.MethodGet, projectPath)
	refusal(t, page, want, http.MethodGet, postPath)
	mustNotShow(t, proj.Body, pr)
	mustNotShow(t, page.Body, pr)
}

func (me *matrixEnv) checkPost(t *testing.T, pr *matrixProject, rd *matrixReader, want byte) {
	newPath := "/p/" + pr.slug + "/new"
	form := rd.c.get(newPath)
	title := fmt.Sprintf("%s entry by the %s", pr.word, rd.name)
	head := me.db.Head()
	res := rd.post(newPath, url.Values{"title": {title}, "body": {"Hello."}, "action": {"publish"}})
	if want == 'Y' {
		if form.Status != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", newPath, form.Status)
		}
		loc := res.Header.Get("Location")
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/p/"+pr.slug+"/") {
			t.Fatalf("POST %s: %d to %q, want 303 to the post\n%s", newPath, res.Status, loc, res.Body)
		}
		page := rd.c.get(loc)
		if got := texts(t, page.Body, "h1", "p-name"); page.Status != http.StatusOK || len(got) != 1 || got[0] != title {
			t.Errorf("GET %s: %d, title %q", loc, page.Status, got)
		}
		if !slices.Contains(me.titles(t, pr), title) {
			t.Errorf("%q is not stored", title)
		}
		return
	}
	refusal(t, form, want, http.MethodGet, newPath)
	refusal(t, res, want, http.MethodPost, newPath)
	if want == 'N' {
		mustNotShow(t, form.Body, pr)
		mustNotShow(t, res.Body, pr)
	}
	if slices.Contains(me.titles(t, pr), title) {
		t.Errorf("the refused post %q was stored", title)
	}
	if me.db.Head() != head {
		t.Errorf("the refused post wrote events")
	}
}

func (me *matrixEnv) checkEdit(t *testing.T, pr *matrixProject, rd *matrixReader, target *posts.Post, want byte) {
	before := me.current(t, target.ID)
	editPath := "/p/" + pr.slug + "/" + before.Slug + "/edit"
	form := rd.c.get(editPath)
	base := fmt.Sprint(before.Revision)
	if want == 'Y' {
		if form.Status != http.StatusOK {
			t.Fatalf("GET %s: %d, want 200", editPath, form.Status)
		}
		base = formValue(t, form.Body, "base_revision")
		if base != fmt.Sprint(before.Revision) || formValue(t, form.Body, "title") != before.Title {
			t.Fatalf("edit form: base_revision %q, title %q; want %d, %q", base, formValue(t, form.Body, "title"), before.Revision, before.Title)
		}
	}
	title := before.Title + " (edited by the " + rd.name + ")"
	head := me.db.Head()
	res := rd.post(editPath, url.Values{"title": {title}, "body": {before.Body}, "base_revision": {base}, "action": {"publish"}})
	after := me.current(t, target.ID)
	if want == 'Y' {
		if loc := res.Header.Get("Location"); res.Status != http.StatusSeeOther || loc != "/p/"+pr.slug+"/"+before.Slug {
			t.Fatalf("POST %s: %d to %q\n%s", editPath, res.Status, loc, res.Body)
		}
		if after.Title != title || after.Revision != before.Revision+1 {
			t.Errorf("after the edit: title %q, revision %d; want %q, %d", after.Title, after.Revision, title, before.Revision+1)
		}
		return
	}
	refusal(t, form, want, http.MethodGet, editPath)
	refusal(t, res, want, http.MethodPost, editPath)
	if want == 'N' {
		mustNotShow(t, form.Body, pr)
		mustNotShow(t, res.Body, pr)
	}
	if after.Title != before.Title || after.Revision != before.Revision {
		t.Errorf("the refused edit changed the post: %q rev %d", after.Title, after.Revision)
	}
	if me.db.Head() != head {
		t.Errorf("the refused edit wrote events")
	}
}

// checkDelete: deleting is part of editing (access.EditOwn and EditOthers
// say "edit, delete or restore"). An allowed delete is undone through the
// service, so the next cells find the post where it was.
func (me *matrixEnv) checkDelete(t *testing.T, pr *matrixProject, rd *matrixReader, target *posts.Post, want byte) {
	path := "/p/" + pr.slug + "/" + target.Slug + "/delete"
	head := me.db.Head()
	res := rd.post(path, nil)
	if want == 'Y' {
		if loc := res.Header.Get("Location"); res.Status != http.StatusSeeOther || loc != "/p/"+pr.slug {
			t.Fatalf("POST %s: %d to %q\n%s", path, res.Status, loc, res.Body)
		}
		if me.current(t, target.ID).DeletedAt.IsZero() {
			t.Fatal("the post was not deleted")
		}
		if err := me.posts.RestorePost(me.admin, target.ID); err != nil {
			t.Fatal(err)
		}
		return
	}
	refusal(t, res, want, http.MethodPost, path)
	if !me.current(t, target.ID).DeletedAt.IsZero() || me.db.Head() != head {
		t.Error("the refused delete deleted the post")
	}
}

// checkPin: pinning needs access.EditOthers. An allowed pin is undone by
// the same reader's unpin.
func (me *matrixEnv) checkPin(t *testing.T, pr *matrixProject, rd *matrixReader, target *posts.Post, want byte) {
	path := "/p/" + pr.slug + "/" + target.Slug + "/pin"
	head := me.db.Head()
	res := rd.post(path, url.Values{"pinned": {"1"}})
	if want == 'Y' {
		if res.Status != http.StatusSeeOther || !me.current(t, target.ID).Pinned {
			t.Fatalf("POST %s: %d, pinned %v\n%s", path, res.Status, me.current(t, target.ID).Pinned, res.Body)
		}
		if res := rd.post(path, url.Values{"pinned": {"0"}}); res.Status != http.StatusSeeOther || me.current(t, target.ID).Pinned {
			t.Fatalf("unpin: %d", res.Status)
		}
		return
	}
	refusal(t, res, want, http.MethodPost, path)
	if me.current(t, target.ID).Pinned || me.db.Head() != head {
		t.Error("the refused pin pinned the post")
	}
}

func (me *matrixEnv) checkAddMember(t *testing.T, pr *matrixProject, rd *matrixReader, want byte) {
	fresh := me.user(fmt.Sprintf("new-%s-by-%s@example.com", pr.kind, rd.name), "Fresh Person", false)
	path := "/p/" + pr.slug + "/members"
	head := me.db.Head()
	res := rd.post(path, url.Values{"email": {fresh.Email}, "role": {"member"}})
	role, err := me.posts.RoleOf(pr.id, fresh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want == 'Y' {
		if loc := res.Header.Get("Location"); res.Status != http.StatusSeeOther || loc != "/p/"+pr.slug+"/settings" {
			t.Fatalf("POST %s: %d to %q\n%s", path, res.Status, loc, res.Body)
		}
		if role != access.Member {
			t.Errorf("role after adding: %q", role)
		}
		return
	}
	refusal(t, res, want, http.MethodPost, path)
	if want == 'N' {
		mustNotShow(t, res.Body, pr)
	}
	if role != access.NoRole {
		t.Errorf("the refused request made them %q", role)
	}
	if me.db.Head() != head {
		t.Errorf("the refused request wrote events")
	}
}

func (me *matrixEnv) checkSettings(t *testing.T, pr *matrixProject, rd *matrixReader, want byte) {
	path := "/p/" + pr.slug + "/settings"
	before := me.project(t, pr)
	form := rd.c.get(path)
	name := pr.name + " (renamed by the " + rd.name + ")"
	head := me.db.Head()
	res := rd.post(path, url.Values{"name": {name}, "description": {before.Description}, "visibility": {string(before.Visibility)}})
	after := me.project(t, pr)
	if want == 'Y' {
		if form.Status != http.StatusOK || formValue(t, form.Body, "name") != before.Name {
			t.Errorf("GET %s: %d, name field %q", path, form.Status, formValue(t, form.Body, "name"))
		}
		if loc := res.Header.Get("Location"); res.Status != http.StatusSeeOther || loc != path {
			t.Fatalf("POST %s: %d to %q\n%s", path, res.Status, loc, res.Body)
		}
		if after.Name != name || after.Visibility != before.Visibility || after.Archived != before.Archived {
			t.Errorf("after renaming: %q %s archived=%v", after.Name, after.Visibility, after.Archived)
		}
		return
	}
	refusal(t, form, want, http.MethodGet, path)
	refusal(t, res, want, http.MethodPost, path)
	if want == 'N' {
		mustNotShow(t, form.Body, pr)
		mustNotShow(t, res.Body, pr)
	}
	if after.Name != before.Name {
		t.Errorf("the refused request renamed the project to %q", after.Name)
	}
	if me.db.Head() != head {
		t.Errorf("the refused request wrote events")
	}
}

// TestListingsHideWhatTheReaderMayNotRead: a project the reader may not
// read leaves no trace on the site's listings — not its name, its slug nor
// its posts' titles — and its posts' permalinks answer 404. The member who
// writes in all three projects sees everything on the same pages, so the
// pages are known to list what they are searched for.
func TestListingsHideWhatTheReaderMayNotRead(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", "Olive Owner", false)
	mira := e.user("mira@example.com", "Mira Member", false)
	e.user("outsider@example.com", "Nina Nonmember", false)
	type proj struct {
		slug, name string
		vis        access.Visibility
		titles     []string
		ids        []uint64
	}
	projects := []*proj{
		{slug: "agora", name: "Agora Commons", vis: access.Public},
		{slug: "heron", name: "Heron Works", vis: access.Internal},
		{slug: "osprey", name: "Osprey Vault", vis: access.Private},
	}
	for _, pr := range projects {
		if _, err := e.posts.CreateProject(owner.Actor(), posts.ProjectInput{Slug: pr.slug, Name: pr.name, Visibility: pr.vis}, owner.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.posts.SetMember(owner.Actor(), pr.slug, mira.ID, access.Member); err != nil {
			t.Fatal(err)
		}
		word := strings.Fields(pr.name)[0]
		for _, title := range []string{word + " roadmap", word + " retro"} {
			p, err := e.posts.CreatePost(mira.Actor(), pr.slug, posts.PostInput{Title: title, Body: "Notes.", Tags: []string{"shared"}})
			if err != nil {
				t.Fatal(err)
			}
			pr.titles = append(pr.titles, title)
			pr.ids = append(pr.ids, p.ID)
		}
	}
	agora, heron, osprey := projects[0], projects[1], projects[2]
	// The site-wide listings, and pages of the public project (which list
	// only its own posts).
	pages := []struct {
		path     string
		siteWide bool
	}{
		{"/", true}, {"/tags/shared", true}, {"/people/" + mira.Handle, true},
		{"/p/agora", false}, {"/p/agora/tags/shared", false}, {"/p/agora/archive/2026/11", false},
	}

	// traces are the strings that give a project away on a page that is
	// not its own.
	traces := func(pr *proj) []string {
		return append([]string{pr.name, "/p/" + pr.slug, pr.slug}, pr.titles...)
	}
	check := func(t *testing.T, c *client, hidden, shown []*proj) {
		for _, pg := range pages {
			path := pg.path
			res := c.get(path)
			if res.Status != http.StatusOK {
				t.Errorf("GET %s: %d", path, res.Status)
				continue
			}
			entries := strings.Join(texts(t, res.Body, "article", "entry"), "\n")
			for _, pr := range shown {
				if (pg.siteWide || pr == agora) && !strings.Contains(entries, pr.titles[0]) {
					t.Errorf("GET %s does not list %q", path, pr.titles[0])
				}
			}
			for _, pr := range hidden {
				for _, s := range traces(pr) {
					if strings.Contains(strings.ToLower(res.Body), strings.ToLower(s)) {
						t.Errorf("GET %s shows %q", path, s)
					}
				}
			}
		}
		for _, pr := range hidden {
			for _, id := range pr.ids {
				res := c.get(fmt.Sprintf("/posts/%d", id))
				if res.Status != http.StatusNotFound || res.Header.Get("Location") != "" {
					t.Errorf("GET /posts/%d: %d to %q, want 404", id, res.Status, res.Header.Get("Location"))
				}
				for _, s := range traces(pr) {
					if strings.Contains(strings.ToLower(res.Body), strings.ToLower(s)) {
						t.Errorf("GET /posts/%d shows %q", id, s)
					}
				}
			}
		}
		for _, pr := range shown {
			res := c.get(fmt.Sprintf("/posts/%d", pr.ids[0]))
			if res.Status != http.StatusMovedPermanently || !strings.HasPrefix(res.Header.Get("Location"), "/p/"+pr.slug+"/") {
				t.Errorf("GET /posts/%d: %d to %q, want 301 to the post", pr.ids[0], res.Status, res.Header.Get("Location"))
			}
		}
	}
	t.Run("anonymous", func(t *testing.T) {
		check(t, e.client(), []*proj{heron, osprey}, []*proj{agora})
	})
	t.Run("non-member", func(t *testing.T) {
		check(t, e.client().login("outsider@example.com"), []*proj{osprey}, []*proj{agora, heron})
	})
	t.Run("member", func(t *testing.T) {
		check(t, e.client().login("mira@example.com"), nil, []*proj{agora, heron, osprey})
	})
}
