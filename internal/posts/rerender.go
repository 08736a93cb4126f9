package posts

import (
	"context"
	"encoding/json"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/markdown"
	"projblog/internal/store"
)

// keyRendered holds, in bMeta, the markdown.Version that every stored post
// has been rendered with (absent: unknown, so older than any).
var keyRendered = []byte("rendered")

// rerenderBatch is how many posts one write transaction re-renders: large
// enough to be quick, small enough not to hold the write lock for long.
const rerenderBatch = 200

// RenderBehind reports whether some stored posts may have been rendered by
// an older Markdown renderer than this build's. It reads one key.
func (s *Service) RenderBehind() (behind bool, err error) {
	err = s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bMeta).Get(keyRendered)
		if v == nil {
			// A database with no posts yet is up to date.
			k, _ := tx.Bucket(bPosts).Cursor().First()
			behind = k != nil
			return nil
		}
		behind = store.U64(v) < markdown.Version
		return nil
	})
	return behind, err
}

// Rerender renders again the HTML and summary of every post, and the HTML
// of every comment, made by an older renderer (every one with all), keeping
// the @mention links they had, in batches of a few hundred posts
// per write transaction, and then records that the database is at this
// renderer's version. Each batch appends a "posts.rerendered" event so that
// caches stamped with the log head see the change. progress, if not nil,
// is called after each batch with the posts looked at and the total. It is
// safe to run while the server serves; cancelling ctx stops it between
// batches, and the next run (or a crash's) resumes where it stopped, since
// finished posts carry their version.
func (s *Service) Rerender(ctx context.Context, all bool, progress func(done, total int)) (changed int, err error) {
	var ids [][]byte
	if err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bPosts).ForEach(func(k, _ []byte) error {
			ids = append(ids, append([]byte(nil), k...))
			return nil
		})
	}); err != nil {
		return 0, err
	}
	for start := 0; start < len(ids); start += rerenderBatch {
		if err := ctx.Err(); err != nil {
			return changed, err // stopped; the next run resumes
		}
		batch := ids[start:min(start+rerenderBatch, len(ids))]
		err := s.update(func(tx *bbolt.Tx) error {
			n := 0
			for _, k := range batch {
				r, err := getPost(tx, store.U64(k))
				if err != nil || r == nil {
					return err
				}
				if !all && r.Rendered >= markdown.Version {
					continue
				}
				html, err := rerender(r.Body, r.HTML) // keeps its mention links (mentions.go)
				if err != nil {
					return apperr.Wrap(err, "render post %d", r.ID)
				}
				r.HTML, r.Summary, r.Rendered = html, summaryOf(r.Body, r.Excerpt), markdown.Version
				if err := putPost(tx, r); err != nil {
					return err
				}
				n++
			}
			if n == 0 {
				return nil
			}
			changed += n
			data, _ := json.Marshal(map[string]int{"posts": n, "renderer": markdown.Version})
			_, err := s.db.AppendEvent(tx, store.Event{Type: "posts.rerendered", Time: s.clock(), Data: data})
			return err
		})
		if err != nil {
			return changed, err
		}
		if progress != nil {
			progress(start+len(batch), len(ids))
		}
	}
	// Comments next (comments.go); they are few and small next to posts,
	// so progress reports the posts only.
	n, err := s.rerenderComments(ctx, all)
	changed += n
	if err != nil {
		return changed, err
	}
	return changed, s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bMeta).Put(keyRendered, store.Key(markdown.Version))
	})
}
