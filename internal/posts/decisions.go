package posts

import (
	"encoding/json"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Decisions.
//
// A post or a comment can be marked as a decision, and unmarked. A post's
// mark is set by those who may edit it (access.EditOwn for its author,
// access.EditOthers for anyone else's), a comment's by its author (with
// access.Discuss) or anyone with access.EditOthers. The mark is kept on the
// record (Post.Decision, Comment.Decision) and in the project's decision
// log, newest mark first; unmarking takes the entry out, and marking again
// puts it back at the top. Deleting a post or a comment leaves its entry,
// which the log skips while the post or comment is deleted.
//
// Events (PostID is the post; Data):
//
//	decision.marked    {"comment_id"?}
//	decision.unmarked  {"comment_id"?}
//
// Storage (one bucket, two key spaces; project IDs start at 1, so Key(0)
// is free for the second):
//
//	posts.decisions  Key(pid)+TimeKey(MarkedAt, seq) -> decisionRec (JSON)   the log
//	                 Key(0)+Key(postID)+Key(commentID) -> the log key         to unmark
//
// seq comes from the bucket's sequence, so marks at the same instant are
// still ordered.

// Decision is one entry of a project's decision log.
type Decision struct {
	PostID    uint64
	CommentID uint64 // 0: the post itself is the decision
	MarkedBy  uint64
	MarkedAt  time.Time
	// Post is the post (the decision, or the comment's post) and Comment
	// the comment (nil for a post), as the actor may see them, so the log
	// page needs no further reads.
	Post    *Post
	Comment *Comment
}

// decisionRec is the stored value of a log entry.
type decisionRec struct {
	PostID    uint64 `json:"post_id"`
	CommentID uint64 `json:"comment_id,omitempty"`
	MarkedBy  uint64 `json:"marked_by"`
}

func decisionTargetKey(t Target) []byte {
	return cat(store.Key(0), store.Key(t.PostID), store.Key(t.CommentID))
}

// decisionEvent is the Data of the decision.* events.
type decisionEvent struct {
	CommentID uint64 `json:"comment_id,omitempty"`
}

// SetDecision marks (on) or unmarks (!on) a post or a comment as a
// decision. Setting the state it has is a no-op without an event. Errors:
// NotFound when the actor may not see the post, or the comment is missing,
// deleted or under another post; Unauthorized or Forbidden (not allowed,
// archived project); Conflict for a post in the trash. A draft post may be
// marked (its log entry shows only to those who see the draft). Events:
// decision.marked or decision.unmarked.
func (s *Service) SetDecision(actor access.Actor, t Target, on bool) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, t.PostID)
		if err != nil {
			return err
		}
		var c *commentRec
		if t.CommentID == 0 {
			if err := check(actor, sc, editAction(actor, p.AuthorID), "Only the author or a project owner may mark this post as a decision."); err != nil {
				return err
			}
		} else {
			if c, err = commentOf(tx, p, t.CommentID); err != nil {
				return err
			}
			if actor.LoggedIn() && c.AuthorID == actor.UserID {
				err = check(actor, sc, access.Discuss, "You may not take part in this project's discussion.")
			} else {
				err = check(actor, sc, access.EditOthers, "Only the comment's author or a project owner may mark it as a decision.")
			}
			if err != nil {
				return err
			}
		}
		if !p.DeletedAt.IsZero() {
			return errTrashed()
		}
		if c == nil {
			if p.Decision == on {
				return nil
			}
			p.Decision = on
			if err := putPost(tx, p); err != nil {
				return err
			}
		} else {
			if c.Decision == on {
				return nil
			}
			c.Decision = on
			if err := putComment(tx, c); err != nil {
				return err
			}
		}
		b := tx.Bucket(bDecisions)
		tk := decisionTargetKey(Target{PostID: p.ID, CommentID: t.CommentID})
		typ := "decision.unmarked"
		if on {
			typ = "decision.marked"
			seq, err := b.NextSequence()
			if err != nil {
				return apperr.Wrap(err, "decision sequence")
			}
			logKey := cat(store.Key(p.ProjectID), store.TimeKey(now, seq))
			if err := putJSON(b, logKey, decisionRec{PostID: p.ID, CommentID: t.CommentID, MarkedBy: actor.UserID}); err != nil {
				return err
			}
			if err := b.Put(tk, logKey); err != nil {
				return apperr.Wrap(err, "index decision")
			}
		} else {
			if logKey := b.Get(tk); logKey != nil {
				if err := b.Delete(clone(logKey)); err != nil {
					return apperr.Wrap(err, "delete decision")
				}
			}
			if err := b.Delete(tk); err != nil {
				return apperr.Wrap(err, "delete decision index")
			}
		}
		return s.emit(tx, typ, actor, now, p.ProjectID, p.ID, decisionEvent{CommentID: t.CommentID})
	})
}

// Decisions returns one page of a project's decision log, newest mark
// first, and the cursor of the next page ("" when there is none). Entries
// whose post or comment is deleted, or whose post is a draft the actor may
// not see, are skipped. It needs access.Read (NotFound otherwise) and costs
// O(limit) plus the skipped entries. limit <= 0 means DefaultLimit; it is
// capped at MaxLimit. A malformed cursor is Invalid.
func (s *Service) Decisions(actor access.Actor, projectSlug, cursor string, limit int) ([]Decision, string, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit)
	var (
		out  []Decision
		next string
	)
	err = s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		prefix := store.Key(sc.proj.ID)
		bound := cat(prefix, maxTK)
		if after != nil {
			bound = cat(prefix, after)
		}
		cur := tx.Bucket(bDecisions).Cursor()
		var v []byte
		k, _ := cur.Seek(bound)
		if k == nil {
			k, v = cur.Last()
		} else {
			k, v = cur.Prev()
		}
		var last []byte
		for ; k != nil && hasPrefix(k, prefix); k, v = cur.Prev() {
			if len(k) != len(prefix)+tkLen {
				continue
			}
			var rec decisionRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return apperr.Wrap(err, "decode decision %x", k)
			}
			p, err := getPost(tx, rec.PostID)
			if err != nil {
				return err
			}
			if p == nil || !p.DeletedAt.IsZero() || !canSee(actor, sc, p) {
				continue
			}
			d := Decision{PostID: rec.PostID, CommentID: rec.CommentID, MarkedBy: rec.MarkedBy}
			if rec.CommentID != 0 {
				c, err := getComment(tx, rec.CommentID)
				if err != nil {
					return err
				}
				if c == nil || c.deleted() {
					continue
				}
				d.Comment = c.comment()
			}
			if len(out) == limit {
				next = encodeCursor(last)
				break
			}
			tk := k[len(prefix):]
			d.MarkedAt, _ = store.SplitTimeKey(tk)
			d.Post = p.post()
			out = append(out, d)
			last = clone(tk)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
