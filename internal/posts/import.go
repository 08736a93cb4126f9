package posts

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
	"projblog/internal/store"
)

// Import writes posts as they stood somewhere else — a projblog export, a
// mail archive, a generated data set — keeping their authors, dates, tags,
// health, decisions and comments. It is the one bulk write path: a batch is
// one transaction, its Markdown is rendered before the transaction on every
// core, and nothing in it notifies anyone.
//
// Rules:
//   - The actor needs access.ManageProject (a project owner or an admin);
//     the authors are whoever the caller names (posts does not know users).
//   - Each post is validated like the post form (limits in doc.go), its
//     comments like the comment form; one bad entry fails the whole batch
//     with an error naming its position, and nothing of the batch is stored.
//   - ImportedPost.Key makes a re-run harmless: a key already imported into
//     the project is skipped (ImportResult.Skipped), so running the same
//     import twice imports nothing the second time. An empty Key is never
//     skipped. Comments may have keys too (a mail thread's replies): under
//     a skipped post, the comments whose keys are new are added (a thread
//     that grew since the last import gets its new replies), the others
//     skipped. Keys are source keys (sourcekeys.go), shared with
//     CreatePost and AddComment.
//   - Dates: CreatedAt defaults to now, UpdatedAt to CreatedAt, and a
//     published post's PublishedAt to CreatedAt. A comment's CreatedAt
//     defaults to the post's PublishedAt (or CreatedAt).
//   - Slug: the one given when it is valid and free, else one derived from
//     the title, so an import never fails on a slug.
//   - @mentions are rendered as links and remembered, but nobody is told:
//     imported history is not news. Each post appends one "post.imported"
//     event (Data as post.*), which the search index reads and notify
//     ignores; health history and decisions are kept in step as on a
//     normal write (which may append health.changed).

// ImportedPost is one post to import.
type ImportedPost struct {
	// Key names the post in its source (an export's file name, a mail
	// thread's first Message-ID); see the rules above.
	Key      string
	AuthorID uint64
	Title    string
	Body     string
	Excerpt  string
	Slug     string
	Tags     []string
	Health   Health
	Draft    bool
	Pinned   bool
	Decision bool

	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time
	DeletedAt   time.Time // non-zero: the post arrives in the trash

	Comments []ImportedComment
}

// ImportedComment is one comment of an ImportedPost.
type ImportedComment struct {
	// Key names the comment in its source; see the rules above.
	Key      string
	AuthorID uint64
	// ReplyTo is the 1-based position, in the same Comments slice, of an
	// earlier comment this one answers; 0 for a top-level comment. Replies
	// to replies join their thread, as on the site.
	ReplyTo   int
	Body      string
	Decision  bool
	CreatedAt time.Time
}

// ImportResult tells what a batch did.
type ImportResult struct {
	Created, Skipped int
	Comments         int
	// IDs holds, for each post of the batch in order, its new id, or the id
	// it was imported under before (skipped).
	IDs []uint64
}

// MaxImportBatch is the most posts one Import call takes.
const MaxImportBatch = 10000

// importEntry is an ImportedPost validated and rendered.
type importEntry struct {
	in       *ImportedPost
	clean    *cleanPost
	comments []importedCommentRendered
}

type importedCommentRendered struct {
	body, html string
	mentions   []uint64
}

// Import stores a batch of posts in the project; see the rules above.
func (s *Service) Import(actor access.Actor, projectSlug string, batch []ImportedPost) (ImportResult, error) {
	res := ImportResult{IDs: make([]uint64, len(batch))}
	if len(batch) > MaxImportBatch {
		return res, apperr.New(apperr.Invalid, "An import batch holds at most %d posts.", MaxImportBatch)
	}
	entries, err := s.prepareImport(batch)
	if err != nil {
		return res, err
	}
	now := s.clock()
	err = s.update(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.ManageProject, "Only a project owner or an admin may import posts."); err != nil {
			return err
		}
		res.Created, res.Skipped, res.Comments = 0, 0, 0
		keys := tx.Bucket(bImportKeys)
		for i := range entries {
			e := &entries[i]
			if e.in.Key != "" {
				if v := keys.Get(sourceKey(sc.proj.ID, e.in.Key)); v != nil {
					postID, commentID := decodeSourceTarget(v)
					if commentID != 0 {
						return apperr.New(apperr.Conflict, "Post %d (%s) has the key of a comment imported before.", i+1, quoteShort(e.in.Title))
					}
					n, err := s.importMoreComments(tx, actor, sc, postID, e, now)
					if err != nil {
						return wrapImportErr(err, i, e.in.Title)
					}
					res.IDs[i] = postID
					res.Skipped++
					res.Comments += n
					continue
				}
			}
			id, n, err := s.importOne(tx, actor, sc, e, now)
			if err != nil {
				return wrapImportErr(err, i, e.in.Title)
			}
			if err := putSourceKey(tx, sc.proj.ID, e.in.Key, id, 0); err != nil {
				return err
			}
			res.IDs[i] = id
			res.Created++
			res.Comments += n
		}
		return putProject(tx, sc.proj)
	})
	if err != nil {
		return ImportResult{IDs: make([]uint64, len(batch))}, err
	}
	return res, nil
}

// ImportedAs returns the id of the post imported into the project under
// key, 0 when there is none. It needs access.ManageProject, as Import.
func (s *Service) ImportedAs(actor access.Actor, projectSlug, key string) (uint64, error) {
	var id uint64
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.ManageProject, "Only a project owner or an admin may import posts."); err != nil {
			return err
		}
		if v := tx.Bucket(bImportKeys).Get(sourceKey(sc.proj.ID, key)); v != nil {
			if postID, commentID := decodeSourceTarget(v); commentID == 0 {
				id = postID
			}
		}
		return nil
	})
	return id, err
}

// prepareImport validates and renders the batch on every core, outside any
// transaction.
func (s *Service) prepareImport(batch []ImportedPost) ([]importEntry, error) {
	entries := make([]importEntry, len(batch))
	errs := make([]error, len(batch))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				entries[i], errs[i] = s.prepareOne(&batch[i])
			}
		}()
	}
	for i := range batch {
		work <- i
	}
	close(work)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, wrapImportErr(err, i, batch[i].Title)
		}
	}
	return entries, nil
}

// wrapImportErr names the entry in the message and keeps the error's code.
func wrapImportErr(err error, i int, title string) error {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return err
	}
	out := *ae
	out.Message = strings.TrimSpace(ae.Message) + " (post " + strconv.Itoa(i+1) + ": " + quoteShort(title) + ")"
	return &out
}

func (s *Service) prepareOne(in *ImportedPost) (importEntry, error) {
	e := importEntry{in: in}
	if !in.Health.Valid() {
		return e, errBadHealth()
	}
	if in.AuthorID == 0 {
		return e, apperr.FieldErr("author", "Every imported post needs an author.")
	}
	form := PostInput{Title: in.Title, Body: in.Body, Excerpt: in.Excerpt, Tags: in.Tags}
	if validatePostSlug(strings.TrimSpace(in.Slug)) == nil {
		form.Slug = in.Slug
	}
	c, err := s.cleanPostInput(form)
	if err != nil {
		return e, err
	}
	e.clean = c
	for j, cm := range in.Comments {
		if cm.AuthorID == 0 {
			return e, apperr.FieldErr("author", "Comment %d has no author.", j+1)
		}
		if cm.ReplyTo < 0 || cm.ReplyTo > j {
			return e, apperr.FieldErr("parent_id", "Comment %d answers comment %d, which does not come before it.", j+1, cm.ReplyTo)
		}
		body, err := cleanCommentBody(cm.Body)
		if err != nil {
			return e, err
		}
		html, mentions, err := s.render(body)
		if err != nil {
			return e, err
		}
		e.comments = append(e.comments, importedCommentRendered{body: body, html: html, mentions: mentions})
	}
	return e, nil
}

// importOne writes one prepared post and its comments; it returns the new
// post id and the number of comments written.
func (s *Service) importOne(tx *bbolt.Tx, actor access.Actor, sc *scope, e *importEntry, now time.Time) (uint64, int, error) {
	in, c := e.in, e.clean
	pid := sc.proj.ID
	slug := c.slug
	if slug == "" || tx.Bucket(bPostSlugs).Get(cat(store.Key(pid), []byte(slug))) != nil {
		slug = freeSlug(tx, pid, c.title)
	}
	id, err := tx.Bucket(bPosts).NextSequence()
	if err != nil {
		return 0, 0, apperr.Wrap(err, "post sequence")
	}
	created := utcOr(in.CreatedAt, now)
	p := &postRec{
		ID: id, ProjectID: pid, AuthorID: in.AuthorID, Slug: slug,
		Title: c.title, Body: c.body, HTML: c.html, Excerpt: c.excerpt, Summary: c.summary, Tags: c.tags,
		Mentions: c.mentions, Rendered: markdown.Version,
		Draft: in.Draft, Pinned: in.Pinned, Health: in.Health, Decision: in.Decision,
		CreatedAt: created, UpdatedAt: utcOr(in.UpdatedAt, created), Revision: 1,
	}
	if !p.Draft {
		p.PublishedAt = utcOr(in.PublishedAt, created)
	}
	if !in.DeletedAt.IsZero() {
		p.DeletedAt = in.DeletedAt.UTC().Round(0)
	}
	if p.published() && p.UpdatedAt.After(sc.proj.LastActivity) {
		sc.proj.LastActivity = p.UpdatedAt
	}
	if err := putSlug(tx, pid, slug, id); err != nil {
		return 0, 0, err
	}
	if err := putRevision(tx, p, p.AuthorID, p.UpdatedAt); err != nil {
		return 0, 0, err
	}
	if err := indexPost(tx, p, sc.proj, true); err != nil {
		return 0, 0, err
	}
	if p.Decision {
		if err := logDecision(tx, p, 0, p.AuthorID, markedAt(p)); err != nil {
			return 0, 0, err
		}
	}

	written, err := writeImportedComments(tx, actor, sc, p, e, false)
	if err != nil {
		return 0, 0, err
	}
	if err := putPost(tx, p); err != nil {
		return 0, 0, err
	}
	// Files the body links to that the actor or the author uploaded and
	// that are in no post yet join this one (projblog import stores an
	// export's files first).
	if err := s.attachmentsAfterPostWrite(tx, actor, sc, nil, p); err != nil {
		return 0, 0, err
	}
	if err := s.syncHealth(tx, actor, sc.proj, nil, p, now); err != nil {
		return 0, 0, err
	}
	ev := postEvent{Revision: 1, Slug: slug, Draft: p.Draft}
	if err := s.emit(tx, "post.imported", actor, now, pid, id, ev); err != nil {
		return 0, 0, err
	}
	return id, written, nil
}

// writeImportedComments writes the comments of e under p, skipping those
// whose keys are already known in the project (their ids still anchor
// the replies that follow) and, under a post imported before (onlyKeyed),
// those without a key, which cannot be told apart from what is there. It
// returns how many it wrote. The caller stores p (CommentCount).
func writeImportedComments(tx *bbolt.Tx, actor access.Actor, sc *scope, p *postRec, e *importEntry, onlyKeyed bool) (int, error) {
	in := e.in
	keys := tx.Bucket(bImportKeys)
	// Replies join the thread of what they answer.
	ids := make([]uint64, len(e.comments))
	parents := make([]uint64, len(e.comments))
	written := 0
	for j, rc := range e.comments {
		ic := in.Comments[j]
		var parent uint64
		if ic.ReplyTo > 0 {
			parent = parents[ic.ReplyTo-1]
			if parent == 0 {
				parent = ids[ic.ReplyTo-1]
			}
		}
		if ic.Key == "" && onlyKeyed {
			continue // replies to it join the post's top level
		}
		if ic.Key != "" {
			if v := keys.Get(sourceKey(p.ProjectID, ic.Key)); v != nil {
				postID, commentID := decodeSourceTarget(v)
				if postID != p.ID || commentID == 0 {
					return 0, apperr.New(apperr.Conflict, "Comment %d has the key of something imported elsewhere.", j+1)
				}
				old, err := getComment(tx, commentID)
				if err != nil {
					return 0, err
				}
				ids[j] = commentID
				if old != nil {
					parents[j] = old.ParentID
				}
				continue
			}
		}
		cid, err := tx.Bucket(bComments).NextSequence()
		if err != nil {
			return 0, apperr.Wrap(err, "comment sequence")
		}
		ids[j], parents[j] = cid, parent
		at := utcOr(ic.CreatedAt, utcOr(p.PublishedAt, p.CreatedAt))
		cr := &commentRec{
			ID: cid, PostID: p.ID, ProjectID: p.ProjectID, AuthorID: ic.AuthorID, ParentID: parent,
			Body: rc.body, HTML: rc.html, Mentions: rc.mentions, Rendered: markdown.Version,
			Decision: ic.Decision, CreatedAt: at, UpdatedAt: at,
		}
		if err := putComment(tx, cr); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bPostComments).Put(commentIndexKey(cr), nil); err != nil {
			return 0, apperr.Wrap(err, "index comment")
		}
		if err := putSourceKey(tx, p.ProjectID, ic.Key, p.ID, cid); err != nil {
			return 0, err
		}
		if err := linkPending(tx, actor, sc, p, cr.Body, cr.AuthorID); err != nil {
			return 0, err
		}
		if cr.Decision {
			if err := logDecision(tx, p, cid, ic.AuthorID, at); err != nil {
				return 0, err
			}
		}
		p.CommentCount++
		written++
	}
	return written, nil
}

// importMoreComments adds to an imported post the comments of e whose keys
// are new, and tells the search index (post.imported) when there were any.
func (s *Service) importMoreComments(tx *bbolt.Tx, actor access.Actor, sc *scope, postID uint64, e *importEntry, now time.Time) (int, error) {
	p, err := getPost(tx, postID)
	if err != nil {
		return 0, err
	}
	if p == nil {
		return 0, nil // imported, then deleted for good: nothing to add to
	}
	n, err := writeImportedComments(tx, actor, sc, p, e, true)
	if err != nil || n == 0 {
		return n, err
	}
	if err := putPost(tx, p); err != nil {
		return 0, err
	}
	ev := postEvent{Revision: p.Revision, Slug: p.Slug, Draft: p.Draft}
	return n, s.emit(tx, "post.imported", actor, now, p.ProjectID, p.ID, ev)
}

// logDecision writes a decision log entry for a post (commentID 0) or one
// of its comments, as SetDecision does, dated at.
func logDecision(tx *bbolt.Tx, p *postRec, commentID, by uint64, at time.Time) error {
	b := tx.Bucket(bDecisions)
	seq, err := b.NextSequence()
	if err != nil {
		return apperr.Wrap(err, "decision sequence")
	}
	logKey := cat(store.Key(p.ProjectID), store.TimeKey(at, seq))
	if err := putJSON(b, logKey, decisionRec{PostID: p.ID, CommentID: commentID, MarkedBy: by}); err != nil {
		return err
	}
	if err := b.Put(decisionTargetKey(Target{PostID: p.ID, CommentID: commentID}), logKey); err != nil {
		return apperr.Wrap(err, "index decision")
	}
	return nil
}

func markedAt(p *postRec) time.Time {
	if !p.PublishedAt.IsZero() {
		return p.PublishedAt
	}
	return p.CreatedAt
}

// utcOr is t in UTC without a monotonic reading, or def when t is zero.
func utcOr(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t.UTC().Round(0)
}

func quoteShort(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return "“" + s + "”"
}
