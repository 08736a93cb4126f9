package posts

import (
	"context"
	"encoding/json"
	"testing"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/markdown"
	"projblog/internal/store"
)

// TestRerender makes a stored post look as if an older renderer made it
// (stale HTML, no version), then checks that RenderBehind notices and
// Rerender brings that post, and only it, up to date.
func TestRerender(t *testing.T) {
	f := newFixture(t)
	if behind, err := f.s.RenderBehind(); err != nil || behind {
		t.Fatalf("fresh database: behind=%v, %v", behind, err)
	}
	f.project("alpha", access.Internal)
	a := f.post(member, "alpha", PostInput{Title: "One", Body: "- [x] done"})
	f.post(member, "alpha", PostInput{Title: "Two", Body: "**two**"})

	if err := f.db.Bolt().Update(func(tx *bbolt.Tx) error {
		r, err := getPost(tx, a.ID)
		if err != nil {
			return err
		}
		r.HTML, r.Rendered = "<p>stale</p>", 0
		b, _ := json.Marshal(r)
		if err := tx.Bucket(bPosts).Put(store.Key(a.ID), b); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Delete(keyRendered)
	}); err != nil {
		t.Fatal(err)
	}
	if behind, _ := f.s.RenderBehind(); !behind {
		t.Fatal("RenderBehind does not see the stale post")
	}
	head := f.db.Head()
	calls := 0
	n, err := f.s.Rerender(context.Background(), false, func(done, total int) { calls++ })
	if err != nil || n != 1 {
		t.Fatalf("Rerender = %d, %v; want 1 post changed", n, err)
	}
	if calls == 0 {
		t.Error("progress never called")
	}
	if f.db.Head() == head {
		t.Error("no event appended: caches would keep the stale HTML")
	}
	got, _, err := f.s.Post(member, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := markdown.Render("- [x] done"); got.HTML != want {
		t.Fatalf("HTML after rerender %q, want %q", got.HTML, want)
	}
	if behind, _ := f.s.RenderBehind(); behind {
		t.Fatal("still behind after Rerender")
	}
	if n, _ := f.s.Rerender(context.Background(), false, nil); n != 0 {
		t.Fatalf("second Rerender changed %d posts", n)
	}
	if n, _ := f.s.Rerender(context.Background(), true, nil); n != 2 {
		t.Fatalf("Rerender(all) changed %d posts, want 2", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.s.Rerender(ctx, true, nil); err == nil {
		t.Fatal("a cancelled Rerender did not stop")
	}
}
