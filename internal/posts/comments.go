package posts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
	"projblog/internal/store"
)

// Comments.
//
// Any signed-in reader of a project may comment on its published posts
// (access.Discuss: a viewer, and a non-member of a public or internal
// project; nobody in an archived project). Comments are Markdown, rendered
// once on write by the same safe renderer as posts, with @mentions
// (mentions.go). There is one level of replies: a reply names the comment
// it answers, and joins the thread of that comment's top-level comment, so
// ParentID is always a top-level comment's ID (0 for a top-level comment).
//
// A comment's author may edit and delete it; anyone with access.EditOthers
// (project owners, admins) may delete it too, to moderate. Deletion is
// soft: the record stays with DeletedAt set, leaves Post.CommentCount, and
// a deleted top-level comment whose thread still has live replies is listed
// as an empty placeholder so the replies keep their context.
//
// Limits: a body is 1 to MaxCommentBytes bytes of valid UTF-8, without
// control characters other than \n, \t and \r; blank lines at either end
// are dropped. A longer body is apperr.TooLarge, an empty one Invalid, both
// with Field "body"; a bad ParentID is Invalid with Field "parent_id".
//
// Events (PostID is the comment's post; Data):
//
//	comment.added    {"comment_id","parent_id","parent_author_id","reply_to_id"?}
//	                 parent_id is the thread's top-level comment (0 for a top-level
//	                 comment); parent_author_id the author of the comment answered
//	                 (absent for a top-level comment); reply_to_id that comment
//	                 when it is a reply rather than the top-level comment
//	comment.edited   {"comment_id","parent_id"} (only when the body changed)
//	comment.deleted  {"comment_id","parent_id","author_id"}
//	mention          see mentions.go
//
// Storage:
//
//	posts.comments       Key(commentID) -> commentRec (JSON)
//	posts.post_comments  Key(postID)+Key(threadID)+Key(commentID) -> "" where
//	                     threadID is the top-level comment's ID (its own for a
//	                     top-level comment); comment IDs grow with time, so a
//	                     cursor over Key(postID) walks in thread order
//	posts.visits         Key(userID)+Key(postID) -> Key(Unix nanoseconds of
//	                     the last recorded visit)

// MaxCommentBytes is the largest comment body, in bytes of Markdown.
const MaxCommentBytes = 64 << 10

// visitEvery is how often Visit records a new visit of the same post by
// the same user; visits closer together are reads.
const visitEvery = time.Minute

// Comment is one comment under a post.
type Comment struct {
	ID        uint64
	PostID    uint64
	ProjectID uint64
	AuthorID  uint64
	// ParentID is 0 for a top-level comment, else the ID of the top-level
	// comment whose thread this reply belongs to.
	ParentID uint64
	Body     string   // the Markdown source; "" for a deleted placeholder
	HTML     string   // sanitised HTML rendered when written; "" for a placeholder
	Mentions []uint64 // users @mentioned, resolved when written
	Decision bool     // marked as a decision (decisions.go)

	CreatedAt time.Time
	UpdatedAt time.Time // the last edit; CreatedAt when never edited
	DeletedAt time.Time // zero unless deleted (then it is a placeholder)
}

// Deleted reports whether c is a deleted comment's placeholder.
func (c *Comment) Deleted() bool { return !c.DeletedAt.IsZero() }

// Edited reports whether c was edited after it was written.
func (c *Comment) Edited() bool { return c.UpdatedAt.After(c.CreatedAt) }

// CommentInput is the comment form.
type CommentInput struct {
	Body string
	// ParentID is the comment this one answers; 0 for a top-level
	// comment. A reply to a reply joins the thread of its top-level
	// comment.
	ParentID uint64
	// Key names the comment in a source outside projblog (for mail:
	// "mail:" and the Message-ID). A key already used in the project makes
	// AddComment return what it named (when that is a comment of this
	// post) without writing anything; see SourceTarget.
	Key string
}

// commentRec is the stored form of a Comment.
type commentRec struct {
	ID        uint64    `json:"id"`
	PostID    uint64    `json:"post_id"`
	ProjectID uint64    `json:"project_id"`
	AuthorID  uint64    `json:"author_id"`
	ParentID  uint64    `json:"parent_id,omitempty"`
	Body      string    `json:"body"`
	HTML      string    `json:"html"`
	Mentions  []uint64  `json:"mentions,omitempty"`
	Decision  bool      `json:"decision,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// Rendered is the markdown.Version that made HTML.
	Rendered int `json:"rendered,omitempty"`
}

func (r *commentRec) comment() *Comment {
	return &Comment{
		ID: r.ID, PostID: r.PostID, ProjectID: r.ProjectID, AuthorID: r.AuthorID, ParentID: r.ParentID,
		Body: r.Body, HTML: r.HTML, Mentions: slices.Clone(r.Mentions), Decision: r.Decision,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt,
	}
}

// placeholder is what a deleted top-level comment with live replies shows:
// who and when, without its text.
func (r *commentRec) placeholder() *Comment {
	return &Comment{
		ID: r.ID, PostID: r.PostID, ProjectID: r.ProjectID, AuthorID: r.AuthorID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt,
	}
}

func (r *commentRec) deleted() bool { return !r.DeletedAt.IsZero() }

// thread is the ID of the top-level comment of r's thread.
func (r *commentRec) thread() uint64 {
	if r.ParentID != 0 {
		return r.ParentID
	}
	return r.ID
}

func getComment(tx *bbolt.Tx, id uint64) (*commentRec, error) {
	var r commentRec
	ok, err := getJSON(tx.Bucket(bComments), store.Key(id), &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

func putComment(tx *bbolt.Tx, r *commentRec) error {
	return putJSON(tx.Bucket(bComments), store.Key(r.ID), r)
}

func errNoComment() error { return apperr.New(apperr.NotFound, "No such comment.") }

// loadComment loads a live comment and its post, both visible to the
// actor; NotFound otherwise (a missing or deleted comment, or a post the
// actor may not see).
func loadComment(tx *bbolt.Tx, actor access.Actor, id uint64) (*commentRec, *postRec, *scope, error) {
	c, err := getComment(tx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	if c == nil || c.deleted() {
		return nil, nil, nil, errNoComment()
	}
	p, sc, err := loadPost(tx, actor, c.PostID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil, nil, nil, errNoComment()
		}
		return nil, nil, nil, err
	}
	return c, p, sc, nil
}

// commentOf loads a live comment of post p (for reactions and decisions);
// NotFound when it is missing, deleted or under another post.
func commentOf(tx *bbolt.Tx, p *postRec, id uint64) (*commentRec, error) {
	c, err := getComment(tx, id)
	if err != nil {
		return nil, err
	}
	if c == nil || c.deleted() || c.PostID != p.ID {
		return nil, errNoComment()
	}
	return c, nil
}

// checkDiscussable refuses discussion under a post that is not published:
// a draft takes no comments (or reactions) yet, a deleted one no more.
func checkDiscussable(p *postRec) error {
	switch {
	case !p.DeletedAt.IsZero():
		return apperr.New(apperr.Conflict, "This post is in the trash; it takes no comments or reactions.")
	case p.Draft:
		return apperr.New(apperr.Conflict, "This post is a draft; comments and reactions open when it is published.")
	}
	return nil
}

// cleanCommentBody validates a comment body and drops the blank lines at
// either end.
func cleanCommentBody(body string) (string, error) {
	if len(body) > MaxCommentBytes {
		return "", &apperr.Error{Code: apperr.TooLarge, Field: "body",
			Message: fmt.Sprintf("The comment is too long: at most 64 KiB (%d bytes); it has %d bytes.", MaxCommentBytes, len(body))}
	}
	if err := checkText("body", "comment", body, true); err != nil {
		return "", err
	}
	body = strings.TrimRight(body, " \t\r\n")
	for {
		i := strings.IndexByte(body, '\n')
		if i < 0 || strings.TrimSpace(body[:i]) != "" {
			break
		}
		body = body[i+1:]
	}
	if strings.TrimSpace(body) == "" {
		return "", apperr.FieldErr("body", "Please write a comment.")
	}
	return body, nil
}

func commentIndexKey(c *commentRec) []byte {
	return cat(store.Key(c.PostID), store.Key(c.thread()), store.Key(c.ID))
}

// commentEvent is the Data of the comment.* events.
type commentEvent struct {
	CommentID      uint64 `json:"comment_id"`
	ParentID       uint64 `json:"parent_id"`
	ParentAuthorID uint64 `json:"parent_author_id,omitempty"`
	ReplyToID      uint64 `json:"reply_to_id,omitempty"`
	AuthorID       uint64 `json:"author_id,omitempty"`
}

// AddComment writes a comment by the actor under a post, or (in.ParentID)
// a reply. It needs access.Discuss on a published post the actor can see.
// Errors: NotFound when the actor may not see the post (a private
// project's outsider included); Unauthorized for an anonymous reader who
// could read it; Forbidden in an archived project; Conflict for a draft or
// a post in the trash; Invalid or TooLarge (Field "body") for a bad body;
// Invalid (Field "parent_id") when in.ParentID is not a live comment of the
// post. Events: comment.added, then mention for each person mentioned.
func (s *Service) AddComment(actor access.Actor, postID uint64, in CommentInput) (*Comment, error) {
	body, err := cleanCommentBody(in.Body)
	if err != nil {
		return nil, err
	}
	html, mentions, err := s.render(body)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out *Comment
	err = s.batch(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.Discuss, "You may not comment in this project."); err != nil {
			return err
		}
		if err := checkDiscussable(p); err != nil {
			return err
		}
		if prev, err := keyedComment(tx, p, in.Key); err != nil || prev != nil {
			out = prev
			return err
		}
		ev := commentEvent{}
		var parentID uint64
		if in.ParentID != 0 {
			par, err := getComment(tx, in.ParentID)
			if err != nil {
				return err
			}
			if par == nil || par.PostID != p.ID || par.deleted() {
				return apperr.FieldErr("parent_id", "The comment you are replying to no longer exists.")
			}
			parentID = par.thread()
			ev.ParentID, ev.ParentAuthorID = parentID, par.AuthorID
			if par.ID != parentID {
				ev.ReplyToID = par.ID
			}
		}
		id, err := tx.Bucket(bComments).NextSequence()
		if err != nil {
			return apperr.Wrap(err, "comment sequence")
		}
		c := &commentRec{
			ID: id, PostID: p.ID, ProjectID: p.ProjectID, AuthorID: actor.UserID, ParentID: parentID,
			Body: body, HTML: html, Mentions: mentions, Rendered: markdown.Version,
			CreatedAt: now, UpdatedAt: now,
		}
		if err := putComment(tx, c); err != nil {
			return err
		}
		if err := tx.Bucket(bPostComments).Put(commentIndexKey(c), nil); err != nil {
			return apperr.Wrap(err, "index comment")
		}
		p.CommentCount++
		if err := putPost(tx, p); err != nil {
			return err
		}
		if err := putSourceKey(tx, p.ProjectID, in.Key, p.ID, id); err != nil {
			return err
		}
		if err := linkPending(tx, actor, sc, p, c.Body, c.AuthorID); err != nil {
			return err
		}
		ev.CommentID = id
		if err := s.emit(tx, "comment.added", actor, now, p.ProjectID, p.ID, ev); err != nil {
			return err
		}
		if err := s.emitMentions(tx, actor, now, p.ProjectID, p.ID, id, c.AuthorID, nil, c.Mentions); err != nil {
			return err
		}
		out = c.comment()
		return nil
	})
	return out, err
}

// EditComment replaces the body of one of the actor's own comments (nobody
// else may edit it, not even an owner: they may delete it). It needs
// access.Discuss and a published post. The same body again is a no-op.
// Errors as for AddComment, and NotFound for a missing or deleted comment,
// Forbidden for someone else's. Events: comment.edited, then mention for
// each person the new text mentions and the old did not.
func (s *Service) EditComment(actor access.Actor, commentID uint64, body string) (*Comment, error) {
	body, err := cleanCommentBody(body)
	if err != nil {
		return nil, err
	}
	html, mentions, err := s.render(body)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out *Comment
	err = s.update(func(tx *bbolt.Tx) error {
		c, p, sc, err := loadComment(tx, actor, commentID)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.Discuss, "You may not comment in this project."); err != nil {
			return err
		}
		if c.AuthorID != actor.UserID {
			return apperr.New(apperr.Forbidden, "You may only edit your own comments.")
		}
		if err := checkDiscussable(p); err != nil {
			return err
		}
		if c.Body == body {
			out = c.comment()
			return nil
		}
		before := c.Mentions
		c.Body, c.HTML, c.Mentions, c.Rendered, c.UpdatedAt = body, html, mentions, markdown.Version, now
		if err := putComment(tx, c); err != nil {
			return err
		}
		if err := s.emit(tx, "comment.edited", actor, now, p.ProjectID, p.ID, commentEvent{CommentID: c.ID, ParentID: c.ParentID}); err != nil {
			return err
		}
		if err := s.emitMentions(tx, actor, now, p.ProjectID, p.ID, c.ID, c.AuthorID, before, c.Mentions); err != nil {
			return err
		}
		out = c.comment()
		return nil
	})
	return out, err
}

// DeleteComment deletes a comment: its author may (with access.Discuss),
// and so may anyone with access.EditOthers, to moderate. The record stays
// (see Comments for placeholders); the post's CommentCount goes down by
// one. Deleting a deleted comment is a no-op for those who could delete
// it. Errors: NotFound (a missing comment, or a post the actor may not
// see), Unauthorized, Forbidden (someone else's comment without
// EditOthers, or an archived project). Event: comment.deleted.
func (s *Service) DeleteComment(actor access.Actor, commentID uint64) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		c, err := getComment(tx, commentID)
		if err != nil {
			return err
		}
		if c == nil {
			return errNoComment()
		}
		p, sc, err := loadPost(tx, actor, c.PostID)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return errNoComment()
			}
			return err
		}
		if actor.LoggedIn() && c.AuthorID == actor.UserID {
			err = check(actor, sc, access.Discuss, "You may not comment in this project.")
		} else {
			err = check(actor, sc, access.EditOthers, "You may only delete your own comments.")
		}
		if err != nil {
			return err
		}
		if c.deleted() {
			return nil
		}
		c.DeletedAt = now
		if err := putComment(tx, c); err != nil {
			return err
		}
		p.CommentCount = max(p.CommentCount-1, 0)
		if err := putPost(tx, p); err != nil {
			return err
		}
		return s.emit(tx, "comment.deleted", actor, now, p.ProjectID, p.ID,
			commentEvent{CommentID: c.ID, ParentID: c.ParentID, AuthorID: c.AuthorID})
	})
}

// Comment returns a live comment with its post and project, for a
// permalink or an edit form. NotFound when the comment is missing or
// deleted, or the actor may not see its post.
func (s *Service) Comment(actor access.Actor, commentID uint64) (*Comment, *Post, *ProjectView, error) {
	var (
		out *Comment
		p   *Post
		pv  *ProjectView
	)
	err := s.view(func(tx *bbolt.Tx) error {
		c, pr, sc, err := loadComment(tx, actor, commentID)
		if err != nil {
			return err
		}
		out, p, pv = c.comment(), pr.post(), sc.view()
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return out, p, pv, nil
}

// Comments returns a post's comments in thread order: top-level comments
// oldest first, each followed by its replies oldest first. Deleted
// comments are left out, except a deleted top-level comment that has live
// replies, which stays as a placeholder (Body and HTML empty, DeletedAt
// set). It needs the post to be visible to the actor (NotFound otherwise)
// and costs O(comments of the post).
func (s *Service) Comments(actor access.Actor, postID uint64) ([]*Comment, error) {
	var out []*Comment
	err := s.view(func(tx *bbolt.Tx) error {
		if _, _, err := loadPost(tx, actor, postID); err != nil {
			return err
		}
		prefix := store.Key(postID)
		// A deleted top-level comment waits here until a live reply
		// shows that its placeholder is needed.
		var pending *commentRec
		c := tx.Bucket(bPostComments).Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) != 24 {
				continue
			}
			r, err := getComment(tx, store.U64(k[16:]))
			if err != nil {
				return err
			}
			if r == nil {
				return apperr.New(apperr.Internal, "comment index points at missing comment %d", store.U64(k[16:]))
			}
			if r.ParentID == 0 {
				pending = nil
				if r.deleted() {
					pending = r
					continue
				}
				out = append(out, r.comment())
				continue
			}
			if r.deleted() {
				continue
			}
			if pending != nil && pending.ID == r.ParentID {
				out = append(out, pending.placeholder())
				pending = nil
			}
			out = append(out, r.comment())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Visit records that userID has just looked at a post and returns when
// they had last done so (zero the first time), so that the page can mark
// the comments newer than that. It records at most one visit a minute per
// user and post: a visit within a minute of the recorded one only reads
// it and changes nothing. The anonymous user (0) has no visits: zero, no
// write. It makes no access decision (the caller has shown the post);
// NotFound for a missing post.
//
// A visit that is recorded costs a read transaction and then a write one;
// the read comes first so that the common case — a reload, a second tab —
// never takes the write lock.
func (s *Service) Visit(userID, postID uint64) (previous time.Time, err error) {
	if userID == 0 {
		return time.Time{}, nil
	}
	now := s.clock()
	key := cat(store.Key(userID), store.Key(postID))
	lastOf := func(tx *bbolt.Tx) (time.Time, error) {
		if tx.Bucket(bPosts).Get(store.Key(postID)) == nil {
			return time.Time{}, errNoPost()
		}
		v := tx.Bucket(bVisits).Get(key)
		if v == nil {
			return time.Time{}, nil
		}
		return time.Unix(0, int64(store.U64(v))).UTC(), nil
	}
	fresh := false
	err = s.view(func(tx *bbolt.Tx) error {
		previous, err = lastOf(tx)
		fresh = err == nil && !previous.IsZero() && now.Sub(previous) < visitEvery && !now.Before(previous)
		return err
	})
	if err != nil || fresh {
		return previous, err
	}
	err = s.update(func(tx *bbolt.Tx) error {
		// Read again: another request may have recorded a visit since.
		if previous, err = lastOf(tx); err != nil {
			return err
		}
		if !previous.IsZero() && now.Sub(previous) < visitEvery && !now.Before(previous) {
			return nil
		}
		if err := tx.Bucket(bVisits).Put(key, store.Key(uint64(now.UnixNano()))); err != nil {
			return apperr.Wrap(err, "record visit")
		}
		return nil
	})
	return previous, err
}

// rerenderComments renders again every comment made by an older renderer
// (every comment with all), keeping its mention links, in batches like
// Rerender's posts; it returns how many changed.
func (s *Service) rerenderComments(ctx context.Context, all bool) (changed int, err error) {
	var ids [][]byte
	if err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bComments).ForEach(func(k, _ []byte) error {
			ids = append(ids, clone(k))
			return nil
		})
	}); err != nil {
		return 0, err
	}
	for start := 0; start < len(ids); start += rerenderBatch {
		if err := ctx.Err(); err != nil {
			return changed, err
		}
		batch := ids[start:min(start+rerenderBatch, len(ids))]
		n := 0
		err := s.update(func(tx *bbolt.Tx) error {
			n = 0
			for _, k := range batch {
				r, err := getComment(tx, store.U64(k))
				if err != nil || r == nil {
					return err
				}
				if !all && r.Rendered >= markdown.Version {
					continue
				}
				html, err := rerender(r.Body, r.HTML)
				if err != nil {
					return apperr.Wrap(err, "render comment %d", r.ID)
				}
				r.HTML, r.Rendered = html, markdown.Version
				if err := putComment(tx, r); err != nil {
					return err
				}
				n++
			}
			if n == 0 {
				return nil
			}
			data, _ := json.Marshal(map[string]int{"comments": n, "renderer": markdown.Version})
			_, err := s.db.AppendEvent(tx, store.Event{Type: "posts.rerendered", Time: s.clock(), Data: data})
			return err
		})
		if err != nil {
			return changed, err
		}
		changed += n
	}
	return changed, nil
}
