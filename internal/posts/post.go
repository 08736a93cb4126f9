package posts

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
	"projblog/internal/store"
)

// Post is one post of a project's blog.
type Post struct {
	ID        uint64
	ProjectID uint64
	AuthorID  uint64
	Slug      string
	Title     string
	Body      string // the Markdown source
	HTML      string // sanitised HTML, rendered when the post was written
	Excerpt   string // the explicit excerpt as typed, "" if none
	// Summary is what lists show: the explicit excerpt, else the start of
	// the body (markdown.Excerpt(body, SummaryRunes)).
	Summary     string
	Tags        []string // normalised, sorted, unique
	Draft       bool
	Pinned      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time // first publication; zero for a never-published draft
	DeletedAt   time.Time // zero unless soft-deleted
	Revision    int       // number of the current revision, 1-based

	// Discussion (comments.go, mentions.go, status.go, ...).
	CommentCount int      // comments not deleted
	Mentions     []uint64 // users @mentioned in the body, resolved when written
	Health       Health   // set on a status update; "" for an ordinary post
	Decision     bool     // the post itself is marked as a decision
}

// PostInput is the post form.
type PostInput struct {
	// Health makes the post a status update of the project's health
	// ("" for an ordinary post); see status.go.
	Health Health
	// AckUserIDs asks these people to acknowledge the post, AckAll every
	// member of the project (see acks.go). Honoured when the post is
	// published (on create or update); already requested people are kept.
	AckUserIDs []uint64
	AckAll     bool

	Title   string
	Body    string
	Excerpt string
	// Slug "" keeps the current slug on update and derives one from the
	// title on create.
	Slug string
	Tags []string
	// Draft true saves a draft (on update: unpublishes a published post).
	Draft bool
	// Key, on create, names the post in a source outside projblog (for
	// mail: "mail:" and the Message-ID). A key already used in the project
	// makes CreatePost return the post it named, without writing anything,
	// so a message delivered twice is posted once; see SourceTarget.
	Key string
	// Pinned is honoured only for actors with access.EditOthers; for
	// others it is ignored (a post stays as pinned as it was), so a form
	// that does not offer the checkbox cannot unpin a post by accident.
	Pinned bool
	// BaseRevision is, on update, the revision the editor started from.
	// When the post has moved on since, UpdatePost fails with Conflict. 0
	// skips the check.
	BaseRevision int
}

// postRec is the stored form of a Post.
type postRec struct {
	ID          uint64    `json:"id"`
	ProjectID   uint64    `json:"project_id"`
	AuthorID    uint64    `json:"author_id"`
	Slug        string    `json:"slug"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	HTML        string    `json:"html"`
	Excerpt     string    `json:"excerpt,omitempty"`
	Summary     string    `json:"summary"`
	Tags        []string  `json:"tags,omitempty"`
	Draft       bool      `json:"draft,omitempty"`
	Pinned      bool      `json:"pinned,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	DeletedAt   time.Time `json:"deleted_at,omitzero"`
	Revision    int       `json:"revision"`
	// Rendered is the markdown.Version that made HTML and Summary.
	Rendered int `json:"rendered,omitempty"`

	CommentCount int      `json:"comment_count,omitempty"`
	Mentions     []uint64 `json:"mentions,omitempty"`
	Health       Health   `json:"health,omitempty"`
	Decision     bool     `json:"decision,omitempty"`
}

func (r *postRec) post() *Post {
	return &Post{
		ID: r.ID, ProjectID: r.ProjectID, AuthorID: r.AuthorID,
		Slug: r.Slug, Title: r.Title, Body: r.Body, HTML: r.HTML,
		Excerpt: r.Excerpt, Summary: r.Summary, Tags: slices.Clone(r.Tags),
		Draft: r.Draft, Pinned: r.Pinned,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, PublishedAt: r.PublishedAt, DeletedAt: r.DeletedAt,
		Revision:     r.Revision,
		CommentCount: r.CommentCount, Mentions: slices.Clone(r.Mentions), Health: r.Health, Decision: r.Decision,
	}
}

func (r *postRec) published() bool { return !r.Draft && r.DeletedAt.IsZero() }

func getPost(tx *bbolt.Tx, id uint64) (*postRec, error) {
	var r postRec
	ok, err := getJSON(tx.Bucket(bPosts), store.Key(id), &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

func putPost(tx *bbolt.Tx, r *postRec) error {
	return putJSON(tx.Bucket(bPosts), store.Key(r.ID), r)
}

// editAction is what editing a post by authorID needs: EditOwn for one's
// own post, EditOthers for anyone else's.
func editAction(actor access.Actor, authorID uint64) access.Action {
	if actor.LoggedIn() && actor.UserID == authorID {
		return access.EditOwn
	}
	return access.EditOthers
}

// canSee reports whether the actor, who may read the project, may see p:
// published posts are seen by every reader; drafts and deleted posts only
// by those who may edit them (see scope.viewSubject for archived projects).
func canSee(actor access.Actor, sc *scope, p *postRec) bool {
	if p.published() {
		return true
	}
	return access.Can(actor, sc.viewSubject(), editAction(actor, p.AuthorID))
}

// loadPost loads a post the actor may see, with its project; NotFound
// otherwise, whether the post is missing, in an unreadable project, or a
// draft or deleted post the actor may not edit.
func loadPost(tx *bbolt.Tx, actor access.Actor, id uint64) (*postRec, *scope, error) {
	p, err := getPost(tx, id)
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		return nil, nil, errNoPost()
	}
	sc, err := scopeByID(tx, actor, p.ProjectID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil, nil, errNoPost()
		}
		return nil, nil, err
	}
	if !canSee(actor, sc, p) {
		return nil, nil, errNoPost()
	}
	return p, sc, nil
}

// check is access.Check with a friendlier message for a plain Forbidden in
// a project that is not archived (archived, unauthorised and not-found keep
// access's own message).
func check(actor access.Actor, sc *scope, act access.Action, msg string) error {
	err := access.Check(actor, sc.subject(), act)
	if apperr.Is(err, apperr.Forbidden) && !sc.proj.Archived {
		return apperr.New(apperr.Forbidden, "%s", msg)
	}
	return err
}

func checkEdit(actor access.Actor, sc *scope, p *postRec) error {
	return check(actor, sc, editAction(actor, p.AuthorID), "You may only edit your own posts in this project.")
}

func errTrashed() error {
	return apperr.New(apperr.Conflict, "This post is in the trash; restore it first.")
}

// slugTaken returns the conflict error for an explicit slug that another
// post in the project holds (as its current or an old slug).
func errSlugTaken(slug string) error {
	return &apperr.Error{Code: apperr.Conflict, Field: "slug",
		Message: fmt.Sprintf("The address “%s” is already used by another post in this project; please choose another.", slug)}
}

// freeSlug derives a slug from title that no post of the project holds,
// current or old: the title's slug, else with -2, -3, ...
func freeSlug(tx *bbolt.Tx, pid uint64, title string) string {
	base := cutSlug(Slugify(title), MaxPostSlugLen)
	if base == "" {
		base = "post"
	}
	b := tx.Bucket(bPostSlugs)
	prefix := store.Key(pid)
	for n := 1; ; n++ {
		cand := base
		if n > 1 {
			suffix := "-" + strconv.Itoa(n)
			cand = cutSlug(base, MaxPostSlugLen-len(suffix)) + suffix
		}
		if slices.Contains(ReservedPostSlugs, cand) {
			continue
		}
		if b.Get(cat(prefix, []byte(cand))) == nil {
			return cand
		}
	}
}

func putSlug(tx *bbolt.Tx, pid uint64, slug string, postID uint64) error {
	if err := tx.Bucket(bPostSlugs).Put(cat(store.Key(pid), []byte(slug)), store.Key(postID)); err != nil {
		return apperr.Wrap(err, "store post slug")
	}
	return nil
}

// revisionRec is the stored form of a Revision.
type revisionRec struct {
	N        int       `json:"n"`
	Title    string    `json:"title"`
	Body     string    `json:"body"`
	Excerpt  string    `json:"excerpt,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	EditorID uint64    `json:"editor_id"`
	At       time.Time `json:"at"`
}

func putRevision(tx *bbolt.Tx, p *postRec, editor uint64, at time.Time) error {
	r := revisionRec{N: p.Revision, Title: p.Title, Body: p.Body, Excerpt: p.Excerpt, Tags: p.Tags, EditorID: editor, At: at}
	return putJSON(tx.Bucket(bRevisions), cat(store.Key(p.ID), store.Key(uint64(p.Revision))), r)
}

// postEvent is the Data of every post.* event.
type postEvent struct {
	Revision int    `json:"revision"`
	Slug     string `json:"slug"`
	OldSlug  string `json:"old_slug,omitempty"`
	Draft    bool   `json:"draft,omitempty"`
	First    bool   `json:"first,omitempty"`
}

// CreatePost writes a new post (a draft when in.Draft) in the project,
// authored by the actor. It needs access.Post. The body is rendered here,
// once. Errors: NotFound for an unreadable project; Forbidden (archived,
// viewer) or Unauthorized; Invalid or TooLarge (with Field) for a bad form;
// Conflict (Field "slug") for an explicit slug another post holds.
// Events: post.created for a draft, post.published otherwise.
func (s *Service) CreatePost(actor access.Actor, projectSlug string, in PostInput) (*Post, error) {
	c, err := s.cleanPostInput(in)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out *Post
	err = s.batch(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.Post, "You may not write posts in this project."); err != nil {
			return err
		}
		pid := sc.proj.ID
		if prev, err := keyedPost(tx, actor, sc, in.Key); err != nil || prev != nil {
			out = prev
			return err
		}
		slug := c.slug
		if slug == "" {
			slug = freeSlug(tx, pid, c.title)
		} else if tx.Bucket(bPostSlugs).Get(cat(store.Key(pid), []byte(slug))) != nil {
			return errSlugTaken(slug)
		}
		id, err := tx.Bucket(bPosts).NextSequence()
		if err != nil {
			return apperr.Wrap(err, "post sequence")
		}
		p := &postRec{
			ID: id, ProjectID: pid, AuthorID: actor.UserID, Slug: slug,
			Title: c.title, Body: c.body, HTML: c.html, Excerpt: c.excerpt, Summary: c.summary, Tags: c.tags,
			Mentions:  c.mentions,
			Rendered:  markdown.Version,
			Draft:     in.Draft,
			Pinned:    in.Pinned && access.Can(actor, sc.subject(), access.EditOthers),
			CreatedAt: now, UpdatedAt: now, Revision: 1,
		}
		if !p.Draft {
			p.PublishedAt = now
			sc.proj.LastActivity = now
		}
		if err := putPost(tx, p); err != nil {
			return err
		}
		if err := putSlug(tx, pid, slug, id); err != nil {
			return err
		}
		if err := putRevision(tx, p, actor.UserID, now); err != nil {
			return err
		}
		if err := indexPost(tx, p, sc.proj, true); err != nil {
			return err
		}
		if err := putProject(tx, sc.proj); err != nil {
			return err
		}
		typ, ev := "post.published", postEvent{Revision: 1, Slug: slug, First: true}
		if p.Draft {
			typ, ev = "post.created", postEvent{Revision: 1, Slug: slug, Draft: true}
		}
		if err := s.emit(tx, typ, actor, now, pid, id, ev); err != nil {
			return err
		}
		if err := s.afterPostWrite(tx, actor, sc, nil, p, in, now); err != nil {
			return err
		}
		if err := putSourceKey(tx, pid, in.Key, id, 0); err != nil {
			return err
		}
		out = p.post()
		return nil
	})
	return out, err
}

// UpdatePost saves the form over a post. It needs access.EditOwn for one's
// own post and access.EditOthers for anyone else's. A change of title,
// body, excerpt or tags makes a new revision; a new slug keeps the old one
// as a redirect; Draft false on a draft publishes it (PublishedAt is set
// the first time only, so a re-published post keeps its place); Draft true
// on a published post unpublishes it. A form that changes nothing writes
// nothing.
//
// Errors: NotFound when the actor may not see the post; Forbidden or
// Unauthorized; Conflict when in.BaseRevision is set and the post has a
// newer revision ("This post was changed since you opened it (now revision
// N)."), when the post is in the trash, or (Field "slug") when the new slug
// is held by another post; Invalid or TooLarge for a bad form.
//
// Events: post.published, post.unpublished, or post.edited (content or
// slug changed; Data.draft tells whether it is a draft), and post.pinned
// or post.unpinned when the pin changed.
func (s *Service) UpdatePost(actor access.Actor, postID uint64, in PostInput) (*Post, error) {
	c, err := s.cleanPostInput(in)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out *Post
	err = s.update(func(tx *bbolt.Tx) error {
		old, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if err := checkEdit(actor, sc, old); err != nil {
			return err
		}
		if !old.DeletedAt.IsZero() {
			return errTrashed()
		}
		if in.BaseRevision != 0 && in.BaseRevision != old.Revision {
			return apperr.New(apperr.Conflict, "This post was changed since you opened it (now revision %d).", old.Revision)
		}
		p := *old
		p.Tags = slices.Clone(old.Tags)
		pid := p.ProjectID

		contentChanged := p.Title != c.title || p.Body != c.body || p.Excerpt != c.excerpt || !slices.Equal(p.Tags, c.tags)
		slugChanged := c.slug != "" && c.slug != p.Slug
		if slugChanged {
			// An old slug of this very post may be taken back.
			if v := tx.Bucket(bPostSlugs).Get(cat(store.Key(pid), []byte(c.slug))); v != nil && store.U64(v) != p.ID {
				return errSlugTaken(c.slug)
			}
		}
		if access.Can(actor, sc.subject(), access.EditOthers) {
			p.Pinned = in.Pinned
		}
		p.Draft = in.Draft
		first := false
		if !p.Draft && p.PublishedAt.IsZero() {
			p.PublishedAt, first = now, true
		}
		draftChanged := p.Draft != old.Draft
		pinChanged := p.Pinned != old.Pinned
		// A change of health or new acknowledgement requests alone is a
		// change too (status.go handles them in afterPostWrite).
		statusChanged := in.Health != old.Health || len(in.AckUserIDs) > 0 || in.AckAll
		if !contentChanged && !slugChanged && !draftChanged && !pinChanged && !statusChanged {
			out = old.post()
			return nil
		}

		if contentChanged {
			p.Title, p.Body, p.HTML, p.Excerpt, p.Summary, p.Tags = c.title, c.body, c.html, c.excerpt, c.summary, c.tags
			p.Mentions = c.mentions
			p.Rendered = markdown.Version
			p.Revision++
			if err := putRevision(tx, &p, actor.UserID, now); err != nil {
				return err
			}
		}
		if slugChanged {
			if err := putSlug(tx, pid, c.slug, p.ID); err != nil {
				return err
			}
			p.Slug = c.slug
		}
		if contentChanged || slugChanged || draftChanged {
			p.UpdatedAt = now
			if p.published() {
				sc.proj.LastActivity = now
			}
		}
		if err := indexPost(tx, old, sc.proj, false); err != nil {
			return err
		}
		if err := indexPost(tx, &p, sc.proj, true); err != nil {
			return err
		}
		if err := putPost(tx, &p); err != nil {
			return err
		}
		if err := putProject(tx, sc.proj); err != nil {
			return err
		}

		ev := postEvent{Revision: p.Revision, Slug: p.Slug, Draft: p.Draft}
		if slugChanged {
			ev.OldSlug = old.Slug
		}
		typ := ""
		switch {
		case draftChanged && !p.Draft:
			typ, ev.First = "post.published", first
		case draftChanged && p.Draft:
			typ = "post.unpublished"
		case contentChanged || slugChanged:
			typ = "post.edited"
		}
		if typ != "" {
			if err := s.emit(tx, typ, actor, now, pid, p.ID, ev); err != nil {
				return err
			}
		}
		if pinChanged {
			if err := s.emitPin(tx, actor, now, &p); err != nil {
				return err
			}
		}
		if err := s.afterPostWrite(tx, actor, sc, old, &p, in, now); err != nil {
			return err
		}
		out = p.post()
		return nil
	})
	return out, err
}

func (s *Service) emitPin(tx *bbolt.Tx, actor access.Actor, now time.Time, p *postRec) error {
	typ := "post.unpinned"
	if p.Pinned {
		typ = "post.pinned"
	}
	return s.emit(tx, typ, actor, now, p.ProjectID, p.ID, postEvent{Revision: p.Revision, Slug: p.Slug, Draft: p.Draft})
}

// SetPinned pins a post to the top of its project's first page, or unpins
// it. It needs access.EditOthers. A draft keeps the pin for when it is
// published. Errors: NotFound, Forbidden, Conflict for a post in the trash.
// Events: post.pinned or post.unpinned (none when nothing changes).
func (s *Service) SetPinned(actor access.Actor, postID uint64, pinned bool) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		old, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.EditOthers, "Only a project owner may pin posts."); err != nil {
			return err
		}
		if !old.DeletedAt.IsZero() {
			return errTrashed()
		}
		if old.Pinned == pinned {
			return nil
		}
		p := *old
		p.Pinned = pinned
		if err := s.reindex(tx, old, &p, sc.proj); err != nil {
			return err
		}
		return s.emitPin(tx, actor, now, &p)
	})
}

// reindex moves a post from its old state's index entries to the new
// state's and stores the post and its project.
func (s *Service) reindex(tx *bbolt.Tx, old, p *postRec, proj *projectRec) error {
	if err := indexPost(tx, old, proj, false); err != nil {
		return err
	}
	if err := indexPost(tx, p, proj, true); err != nil {
		return err
	}
	if err := putPost(tx, p); err != nil {
		return err
	}
	return putProject(tx, proj)
}

// DeletePost moves a post to its project's trash: it sets DeletedAt and
// takes the post out of every listing (project, recent, tag, author, and
// the month and tag counts). Its slugs stay reserved, so a restore never
// collides. It needs access.EditOwn for one's own post and
// access.EditOthers otherwise. Deleting a deleted post is a no-op.
// Event: post.deleted.
func (s *Service) DeletePost(actor access.Actor, postID uint64) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		old, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if err := checkEdit(actor, sc, old); err != nil {
			return err
		}
		if !old.DeletedAt.IsZero() {
			return nil
		}
		p := *old
		p.DeletedAt = now
		if err := s.reindex(tx, old, &p, sc.proj); err != nil {
			return err
		}
		if err := s.emit(tx, "post.deleted", actor, now, p.ProjectID, p.ID, postEvent{Revision: p.Revision, Slug: p.Slug, Draft: p.Draft}); err != nil {
			return err
		}
		// A deleted status update leaves the health history (health.go).
		return s.syncHealth(tx, actor, sc.proj, old, &p, now)
	})
}

// RestorePost takes a post out of the trash and puts it back in every
// listing it belongs to (a draft goes back to the drafts). It needs
// access.EditOthers — a project owner or an admin; the author alone may
// not. Restoring a post that is not deleted is a no-op.
// Event: post.restored.
func (s *Service) RestorePost(actor access.Actor, postID uint64) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		old, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.EditOthers, "Only a project owner may restore posts from the trash."); err != nil {
			return err
		}
		if old.DeletedAt.IsZero() {
			return nil
		}
		p := *old
		p.DeletedAt = time.Time{}
		if err := s.reindex(tx, old, &p, sc.proj); err != nil {
			return err
		}
		if err := s.emit(tx, "post.restored", actor, now, p.ProjectID, p.ID, postEvent{Revision: p.Revision, Slug: p.Slug, Draft: p.Draft}); err != nil {
			return err
		}
		// A restored status update rejoins the health history (health.go).
		return s.syncHealth(tx, actor, sc.proj, old, &p, now)
	})
}

// Post returns a post and its project as the actor sees them. NotFound
// when the post is missing, its project unreadable, or it is a draft or
// deleted and the actor may not edit it (deleted posts are thus visible to
// project owners, so the trash can link them).
func (s *Service) Post(actor access.Actor, postID uint64) (*Post, *ProjectView, error) {
	var (
		out *Post
		pv  *ProjectView
	)
	err := s.view(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, postID)
		if err != nil {
			return err
		}
		out, pv = p.post(), sc.view()
		return nil
	})
	return out, pv, err
}

// ResolvePost finds a post by its project's slug and a post slug, current
// or old. canonical is false when postSlug is an old slug of the post: the
// caller should redirect to p.Slug. Visibility as for Post.
func (s *Service) ResolvePost(actor access.Actor, projectSlug, postSlug string) (p *Post, pv *ProjectView, canonical bool, err error) {
	err = s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		v := tx.Bucket(bPostSlugs).Get(cat(store.Key(sc.proj.ID), []byte(postSlug)))
		if v == nil {
			return errNoPost()
		}
		r, err := getPost(tx, store.U64(v))
		if err != nil {
			return err
		}
		if r == nil || !canSee(actor, sc, r) {
			return errNoPost()
		}
		p, pv, canonical = r.post(), sc.view(), r.Slug == postSlug
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	return p, pv, canonical, nil
}
