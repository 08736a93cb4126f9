package posts

import (
	"slices"
	"strings"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

func importBatch() []ImportedPost {
	spring := time.Date(2024, time.April, 3, 14, 0, 0, 0, time.UTC)
	return []ImportedPost{
		{
			Key: "a", AuthorID: member.UserID, Title: "We choose PostgreSQL", Body: "After the benchmarks, **PostgreSQL**.",
			Tags: []string{"Database", "decision"}, Decision: true, CreatedAt: spring,
			Comments: []ImportedComment{
				{AuthorID: owner.UserID, Body: "Agreed.", CreatedAt: spring.Add(time.Hour)},
				{AuthorID: member2.UserID, Body: "What about backups?", ReplyTo: 1, CreatedAt: spring.Add(2 * time.Hour)},
				{AuthorID: member.UserID, Body: "Nightly, see the runbook.", ReplyTo: 2, Decision: true, CreatedAt: spring.Add(3 * time.Hour)},
			},
		},
		{Key: "b", AuthorID: owner.UserID, Title: "Status", Body: "Slipping a week.", Health: AtRisk, CreatedAt: spring.Add(24 * time.Hour)},
		{Key: "c", AuthorID: member.UserID, Title: "Unfinished thoughts", Body: "draft", Draft: true, CreatedAt: spring.Add(48 * time.Hour)},
	}
}

func TestImportKeepsHistoryAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	head := f.db.Head()

	res, err := f.s.Import(owner, "alpha", importBatch())
	must(t, err)
	if res.Created != 3 || res.Skipped != 0 || res.Comments != 3 {
		t.Fatalf("first import: %+v", res)
	}
	p, _, err := f.s.Post(member, res.IDs[0])
	must(t, err)
	if !p.PublishedAt.Equal(time.Date(2024, time.April, 3, 14, 0, 0, 0, time.UTC)) || p.AuthorID != member.UserID {
		t.Errorf("imported post lost its date or author: %v by %d", p.PublishedAt, p.AuthorID)
	}
	if !strings.Contains(p.HTML, "<strong>PostgreSQL</strong>") || !slices.Equal(p.Tags, []string{"database", "decision"}) || !p.Decision || p.CommentCount != 3 {
		t.Errorf("imported post: html %q tags %v decision %v comments %d", p.HTML, p.Tags, p.Decision, p.CommentCount)
	}
	cs, err := f.s.Comments(member, p.ID)
	must(t, err)
	if len(cs) != 3 || cs[0].ParentID != 0 || cs[1].ParentID != cs[0].ID || cs[2].ParentID != cs[0].ID || !cs[2].Decision {
		t.Fatalf("comments not threaded as imported: %+v", cs)
	}
	ds, _, err := f.s.Decisions(member, "alpha", "", 10)
	must(t, err)
	if len(ds) != 2 {
		t.Errorf("decision log has %d entries, want the post and the comment", len(ds))
	}
	pv, err := f.s.Project(member, "alpha")
	must(t, err)
	if pv.Health != AtRisk {
		t.Errorf("project health %q after importing a status update", pv.Health)
	}
	drafts, err := f.s.Drafts(member, "alpha")
	must(t, err)
	if len(drafts) != 1 || drafts[0].Title != "Unfinished thoughts" {
		t.Errorf("draft not imported as a draft: %v", titles(drafts))
	}
	// Nothing notifies: no post.published, comment.added or mention.
	for _, typ := range eventTypes(t, f.db, head) {
		if typ == "post.published" || typ == "comment.added" || typ == "mention" {
			t.Errorf("import appended %s", typ)
		}
	}

	again, err := f.s.Import(owner, "alpha", importBatch())
	must(t, err)
	if again.Created != 0 || again.Skipped != 3 || !slices.Equal(again.IDs, res.IDs) {
		t.Fatalf("second import: %+v, first %+v", again, res)
	}
	pg, err := f.s.Recent(admin, "", 10)
	must(t, err)
	if len(pg.Posts) != 2 {
		t.Errorf("recent after two imports: %v", titles(pg.Posts))
	}
}

func TestImportRefusals(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Private)
	batch := importBatch()

	_, err := f.s.Import(member, "alpha", batch)
	wantCode(t, err, apperr.Forbidden)
	_, err = f.s.Import(outsider, "alpha", batch)
	wantCode(t, err, apperr.NotFound)

	bad := importBatch()
	bad[1].Title = ""
	_, err = f.s.Import(owner, "alpha", bad)
	wantCode(t, err, apperr.Invalid)
	if !strings.Contains(err.Error(), "post 2") {
		t.Errorf("error does not name the entry: %v", err)
	}
	bad = importBatch()
	bad[0].Comments[0].ReplyTo = 3
	_, err = f.s.Import(owner, "alpha", bad)
	wantCode(t, err, apperr.Invalid)

	// Nothing of a refused batch was stored.
	pinned, page, err := f.s.ProjectPosts(owner, "alpha", "", 10)
	must(t, err)
	if len(pinned)+len(page.Posts) != 0 {
		t.Errorf("a refused batch left posts behind: %v", titles(page.Posts))
	}
}
