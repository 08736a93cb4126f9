package posts

import (
	"slices"
	"testing"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

func TestSourceKeysMakeMailWritesIdempotent(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Private)

	in := PostInput{Title: "Launch date", Body: "We launch on Monday.", Key: "mail:a1@example.com"}
	p1, err := f.s.CreatePost(member, "alpha", in)
	must(t, err)
	head := f.db.Head()
	p2, err := f.s.CreatePost(member, "alpha", in)
	must(t, err)
	if p2.ID != p1.ID || f.db.Head() != head {
		t.Fatalf("the same message posted twice: ids %d and %d, events %d → %d", p1.ID, p2.ID, head, f.db.Head())
	}

	c1, err := f.s.AddComment(member2, p1.ID, CommentInput{Body: "Monday works.", Key: "mail:b2@example.com"})
	must(t, err)
	c2, err := f.s.AddComment(member2, p1.ID, CommentInput{Body: "Monday works.", Key: "mail:b2@example.com"})
	must(t, err)
	if c2.ID != c1.ID {
		t.Fatalf("the same reply stored twice: %d and %d", c1.ID, c2.ID)
	}
	cs, err := f.s.Comments(member, p1.ID)
	must(t, err)
	if len(cs) != 1 {
		t.Fatalf("%d comments after a duplicate delivery, want 1", len(cs))
	}

	// A key of a comment used for a post, or of a post for a comment: a
	// Conflict, nothing written.
	_, err = f.s.CreatePost(member, "alpha", PostInput{Title: "Other", Body: "x", Key: "mail:b2@example.com"})
	wantCode(t, err, apperr.Conflict)
	other := f.post(member, "alpha", titled("Other post"))
	_, err = f.s.AddComment(member, other.ID, CommentInput{Body: "x", Key: "mail:b2@example.com"})
	wantCode(t, err, apperr.Conflict)
	_, err = f.s.AddComment(member, other.ID, CommentInput{Body: "x", Key: "mail:a1@example.com"})
	wantCode(t, err, apperr.Conflict)

	// SourceTarget finds the post of a thread by any of its messages,
	// the first known key winning; outsiders see nothing.
	pid, cid, err := f.s.SourceTarget(member, "alpha", "mail:unknown@x", "mail:b2@example.com", "mail:a1@example.com")
	must(t, err)
	if pid != p1.ID || cid != c1.ID {
		t.Errorf("SourceTarget = %d/%d, want post %d comment %d", pid, cid, p1.ID, c1.ID)
	}
	pid, cid, err = f.s.SourceTarget(member, "alpha", "mail:a1@example.com")
	must(t, err)
	if pid != p1.ID || cid != 0 {
		t.Errorf("SourceTarget of the post's key = %d/%d", pid, cid)
	}
	if pid, _, _ := f.s.SourceTarget(member, "alpha", "mail:none@x"); pid != 0 {
		t.Errorf("an unknown key found post %d", pid)
	}
	_, _, err = f.s.SourceTarget(outsider, "alpha", "mail:a1@example.com")
	wantCode(t, err, apperr.NotFound)

	// Keys are per project: the same Message-ID may start a post in
	// another project.
	f.project("beta", access.Internal)
	if _, err := f.s.CreatePost(member, "beta", in); err != nil {
		t.Errorf("the same key in another project: %v", err)
	}
}

func TestImportAddsOnlyNewKeyedComments(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	at := time.Date(2025, time.January, 6, 9, 0, 0, 0, time.UTC)
	thread := ImportedPost{
		Key: "mail:root@x", AuthorID: member.UserID, Title: "Which database?", Body: "Postgres or SQLite?", CreatedAt: at,
		Comments: []ImportedComment{
			{Key: "mail:r1@x", AuthorID: member2.UserID, Body: "Postgres.", CreatedAt: at.Add(time.Hour)},
			{Key: "mail:r2@x", AuthorID: owner.UserID, ReplyTo: 1, Body: "Agreed.", CreatedAt: at.Add(2 * time.Hour)},
		},
	}
	res, err := f.s.Import(owner, "alpha", []ImportedPost{thread})
	must(t, err)
	if res.Created != 1 || res.Comments != 2 {
		t.Fatalf("first import: %+v", res)
	}
	again, err := f.s.Import(owner, "alpha", []ImportedPost{thread})
	must(t, err)
	if again.Skipped != 1 || again.Comments != 0 {
		t.Fatalf("re-import: %+v", again)
	}

	// The thread grew: one reply to the second message, one new top-level.
	grown := thread
	grown.Comments = append(slices.Clone(thread.Comments),
		ImportedComment{Key: "mail:r3@x", AuthorID: member.UserID, ReplyTo: 2, Body: "Then it is settled.", CreatedAt: at.Add(3 * time.Hour)},
		ImportedComment{Key: "mail:r4@x", AuthorID: viewer.UserID, Body: "What about backups?", CreatedAt: at.Add(4 * time.Hour)},
	)
	more, err := f.s.Import(owner, "alpha", []ImportedPost{grown})
	must(t, err)
	if more.Skipped != 1 || more.Comments != 2 || more.IDs[0] != res.IDs[0] {
		t.Fatalf("import of the grown thread: %+v", more)
	}
	cs, err := f.s.Comments(member, res.IDs[0])
	must(t, err)
	var bodies []string
	for _, c := range cs {
		bodies = append(bodies, c.Body)
	}
	if !slices.Equal(bodies, []string{"Postgres.", "Agreed.", "Then it is settled.", "What about backups?"}) {
		t.Fatalf("comments %q", bodies)
	}
	if cs[2].ParentID != cs[0].ID || cs[3].ParentID != 0 {
		t.Errorf("the new reply did not join its thread: parents %d %d (first comment %d)", cs[2].ParentID, cs[3].ParentID, cs[0].ID)
	}
	p, _, err := f.s.Post(member, res.IDs[0])
	must(t, err)
	if p.CommentCount != 4 {
		t.Errorf("comment count %d, want 4", p.CommentCount)
	}
	// A live reply by mail to a message of the imported thread finds it.
	pid, cid, err := f.s.SourceTarget(member, "alpha", "mail:r4@x")
	must(t, err)
	if pid != p.ID || cid != cs[3].ID {
		t.Errorf("SourceTarget of an imported reply = %d/%d", pid, cid)
	}
}

func TestProjectMailMode(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Internal)
	pv, err := f.s.Project(member, "alpha")
	must(t, err)
	if pv.MailPosts != MailPublish {
		t.Fatalf("default mail mode %q", pv.MailPosts)
	}
	in := ProjectInput{Name: pv.Name, Visibility: pv.Visibility, MailPosts: MailDraft}
	_, err = f.s.UpdateProject(owner, "alpha", in)
	must(t, err)
	// An empty mode keeps the current one (a form without the field).
	in.MailPosts, in.Description = "", "now with a description"
	_, err = f.s.UpdateProject(owner, "alpha", in)
	must(t, err)
	pv, err = f.s.Project(member, "alpha")
	must(t, err)
	if pv.MailPosts != MailDraft {
		t.Errorf("mail mode %q after an update without it, want draft", pv.MailPosts)
	}
	in.MailPosts = "sometimes"
	_, err = f.s.UpdateProject(owner, "alpha", in)
	wantField(t, err, apperr.Invalid, "mail_posts")
}
