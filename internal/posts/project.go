package posts

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Project is one project and its blog.
type Project struct {
	ID          uint64
	Slug        string // immutable once created
	Name        string
	Description string
	Visibility  access.Visibility
	Archived    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time // last change of the project's own settings
	// LastActivity is the time of the newest publication or edit of a
	// published post in the project, or CreatedAt while there is none.
	LastActivity time.Time
	PostCount    int // published posts that are not deleted

	// Health is the project's current health: that of its newest published
	// status update ("" before the first one), HealthAt when it was
	// published and HealthPostID which post set it (status.go).
	Health       Health
	HealthAt     time.Time
	HealthPostID uint64
	// SeenBy turns on recording who has read each post (acks.go).
	SeenBy bool
	// Cadence is how often a status update is expected; nil = no
	// expectation, never overdue (cadence.go).
	Cadence *Cadence
	// MailPosts is what a message a member sends to the project's e-mail
	// address becomes (internal/mailin); "" reads as MailPublish.
	MailPosts MailMode
}

// MailMode is what mail to a project's address becomes.
type MailMode string

const (
	MailPublish MailMode = "publish" // a published post (the default)
	MailDraft   MailMode = "draft"   // a draft of its sender, to review and publish
	MailOff     MailMode = "off"     // refused: the project takes no mail
)

// Valid reports whether m is one of the modes ("" included: the default).
func (m MailMode) Valid() bool { return m == "" || m == MailPublish || m == MailDraft || m == MailOff }

// Or returns m, or MailPublish when m is "".
func (m MailMode) Or() MailMode {
	if m == "" {
		return MailPublish
	}
	return m
}

// ProjectInput is the project form. Slug is used only by CreateProject.
type ProjectInput struct {
	Slug        string
	Name        string
	Description string
	Visibility  access.Visibility
	SeenBy      bool // record who has read each post
	// MailPosts is what mail to the project's address becomes; "" keeps
	// the current mode on update (MailPublish on create).
	MailPosts MailMode
}

// Member is one user's membership of a project.
type Member struct {
	UserID  uint64
	Role    access.Role
	AddedAt time.Time
}

// ProjectView is a project as one actor sees it, with their role in it
// (access.NoRole when they are not a member, also for admins).
type ProjectView struct {
	*Project
	Role access.Role
}

// Subject returns what access decisions need to know about the project.
func (pv *ProjectView) Subject() access.Subject {
	return access.Subject{ProjectID: pv.ID, Visibility: pv.Visibility, Archived: pv.Archived, Role: pv.Role}
}

// Can reports whether actor (the one the view was made for) may do act in
// the project; templates use it to decide which buttons to show.
func (pv *ProjectView) Can(actor access.Actor, act access.Action) bool {
	return access.Can(actor, pv.Subject(), act)
}

// CanEditPost reports whether actor may edit or delete p: EditOwn for
// their own post, EditOthers for anyone else's.
func (pv *ProjectView) CanEditPost(actor access.Actor, p *Post) bool {
	return access.Can(actor, pv.Subject(), editAction(actor, p.AuthorID))
}

// projectRec is the stored form of a Project.
type projectRec struct {
	ID           uint64            `json:"id"`
	Slug         string            `json:"slug"`
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	Visibility   access.Visibility `json:"visibility"`
	Archived     bool              `json:"archived,omitempty"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	LastActivity time.Time         `json:"last_activity"`
	PostCount    int               `json:"post_count"`

	Health       Health    `json:"health,omitempty"`
	HealthAt     time.Time `json:"health_at,omitzero"`
	HealthPostID uint64    `json:"health_post_id,omitempty"`
	SeenBy       bool      `json:"seen_by,omitempty"`
	Cadence      *Cadence  `json:"cadence,omitempty"`
	// OverdueSince is the due time of the status update whose absence was
	// last reported as an update.overdue event (cadence.go), so that each
	// missed update is reported once.
	OverdueSince time.Time `json:"overdue_since,omitzero"`
	MailPosts    MailMode  `json:"mail_posts,omitempty"`
}

func (r *projectRec) project() *Project {
	return &Project{
		ID: r.ID, Slug: r.Slug, Name: r.Name, Description: r.Description,
		Visibility: r.Visibility, Archived: r.Archived,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, LastActivity: r.LastActivity,
		PostCount: r.PostCount,
		Health:    r.Health, HealthAt: r.HealthAt, HealthPostID: r.HealthPostID,
		SeenBy: r.SeenBy, Cadence: r.Cadence.clone(), MailPosts: r.MailPosts.Or(),
	}
}

// scope is a project together with the actor's role in it.
type scope struct {
	proj *projectRec
	role access.Role
}

// subject is the project as access decisions see it.
func (sc *scope) subject() access.Subject {
	return access.Subject{ProjectID: sc.proj.ID, Visibility: sc.proj.Visibility, Archived: sc.proj.Archived, Role: sc.role}
}

// viewSubject is subject with Archived cleared. It answers "who could edit
// here were the project not archived", which decides who may see drafts,
// deleted posts and the trash: archiving makes a project read-only, it
// does not hide its drafts from their authors.
func (sc *scope) viewSubject() access.Subject {
	s := sc.subject()
	s.Archived = false
	return s
}

func (sc *scope) view() *ProjectView {
	return &ProjectView{Project: sc.proj.project(), Role: sc.role}
}

func getProject(tx *bbolt.Tx, id uint64) (*projectRec, error) {
	var r projectRec
	ok, err := getJSON(tx.Bucket(bProjects), store.Key(id), &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

func putProject(tx *bbolt.Tx, r *projectRec) error {
	return putJSON(tx.Bucket(bProjects), store.Key(r.ID), r)
}

// scopeByID loads a project and the actor's role, and answers NotFound
// when it is missing or the actor may not read it.
func scopeByID(tx *bbolt.Tx, actor access.Actor, id uint64) (*scope, error) {
	r, err := getProject(tx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNoProject()
	}
	role, err := roleIn(tx, id, actor.UserID)
	if err != nil {
		return nil, err
	}
	sc := &scope{proj: r, role: role}
	if err := access.Check(actor, sc.subject(), access.Read); err != nil {
		return nil, err
	}
	return sc, nil
}

// scopeBySlug is scopeByID by the project's slug.
func scopeBySlug(tx *bbolt.Tx, actor access.Actor, slug string) (*scope, error) {
	v := tx.Bucket(bProjectSlugs).Get([]byte(slug))
	if v == nil {
		return nil, errNoProject()
	}
	return scopeByID(tx, actor, store.U64(v))
}

// readableProjects answers, with a per-call cache, whether the actor may
// read a project; cross-project lists use it to skip what they may not show.
type readableProjects struct {
	tx    *bbolt.Tx
	actor access.Actor
	seen  map[uint64]bool
}

func newReadable(tx *bbolt.Tx, actor access.Actor) *readableProjects {
	return &readableProjects{tx: tx, actor: actor, seen: map[uint64]bool{}}
}

func (rp *readableProjects) ok(pid uint64) (bool, error) {
	if ok, found := rp.seen[pid]; found {
		return ok, nil
	}
	r, err := getProject(rp.tx, pid)
	if err != nil || r == nil {
		return false, err
	}
	role, err := roleIn(rp.tx, pid, rp.actor.UserID)
	if err != nil {
		return false, err
	}
	ok := access.Can(rp.actor, access.Subject{ProjectID: pid, Visibility: r.Visibility, Archived: r.Archived, Role: role}, access.Read)
	rp.seen[pid] = ok
	return ok, nil
}

// CreateProject creates a project and makes ownerID (the actor when 0) its
// owner. Any signed-in user (or an admin, such as the CLI) may create a
// project, for themselves; only an admin may name another owner. An empty
// in.Slug is derived from the name and an empty visibility means Internal.
// Errors: Unauthorized for an anonymous actor, Forbidden for a non-admin
// naming someone else, Invalid (with Field) for a bad form, Conflict (Field
// "slug") when the slug is taken.
func (s *Service) CreateProject(actor access.Actor, in ProjectInput, ownerID uint64) (*Project, error) {
	if !actor.LoggedIn() && !actor.Admin {
		return nil, apperr.New(apperr.Unauthorized, "Please log in to create a project.")
	}
	if ownerID == 0 {
		ownerID = actor.UserID
	}
	if ownerID == 0 {
		return nil, apperr.FieldErr("owner", "A project needs an owner.")
	}
	if ownerID != actor.UserID && !actor.Admin {
		return nil, apperr.New(apperr.Forbidden, "Only an administrator may create a project for someone else.")
	}
	c, err := cleanProject(in, true)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out *Project
	err = s.update(func(tx *bbolt.Tx) error {
		slugs := tx.Bucket(bProjectSlugs)
		if slugs.Get([]byte(c.Slug)) != nil {
			return &apperr.Error{Code: apperr.Conflict, Field: "slug",
				Message: "The address “" + c.Slug + "” is already taken by another project; please choose another."}
		}
		projects := tx.Bucket(bProjects)
		id, err := projects.NextSequence()
		if err != nil {
			return apperr.Wrap(err, "project sequence")
		}
		r := &projectRec{
			ID: id, Slug: c.Slug, Name: c.Name, Description: c.Description, Visibility: c.Visibility,
			CreatedAt: now, UpdatedAt: now, LastActivity: now,
		}
		if err := putProject(tx, r); err != nil {
			return err
		}
		if err := slugs.Put([]byte(c.Slug), store.Key(id)); err != nil {
			return apperr.Wrap(err, "store project slug")
		}
		if err := putMember(tx, id, memberRec{UserID: ownerID, Role: access.Owner, AddedAt: now}); err != nil {
			return err
		}
		if err := s.emit(tx, "project.created", actor, now, id, 0, map[string]any{
			"slug": r.Slug, "visibility": r.Visibility, "owner_id": ownerID,
		}); err != nil {
			return err
		}
		if err := s.emit(tx, "member.set", actor, now, id, 0, map[string]any{
			"user_id": ownerID, "role": access.Owner,
		}); err != nil {
			return err
		}
		out = r.project()
		return nil
	})
	return out, err
}

// UpdateProject changes a project's name, description and visibility
// (in.Slug is ignored: a project's slug never changes, so its links do not
// break; an empty visibility keeps the current one). It needs
// access.ManageProject. Nothing changed means no write and no event.
func (s *Service) UpdateProject(actor access.Actor, slug string, in ProjectInput) (*Project, error) {
	c, err := cleanProject(in, false)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out *Project
	err = s.update(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, slug)
		if err != nil {
			return err
		}
		if err := access.Check(actor, sc.subject(), access.ManageProject); err != nil {
			return err
		}
		r := sc.proj
		if c.Visibility == "" {
			c.Visibility = r.Visibility
		}
		mail := in.MailPosts
		if mail == "" {
			mail = r.MailPosts.Or()
		}
		if r.Name == c.Name && r.Description == c.Description && r.Visibility == c.Visibility && r.SeenBy == in.SeenBy && r.MailPosts.Or() == mail {
			out = r.project()
			return nil
		}
		old := r.Visibility
		r.Name, r.Description, r.Visibility, r.UpdatedAt = c.Name, c.Description, c.Visibility, now
		r.SeenBy, r.MailPosts = in.SeenBy, mail
		if err := putProject(tx, r); err != nil {
			return err
		}
		if err := s.emit(tx, "project.updated", actor, now, r.ID, 0, map[string]any{
			"slug": r.Slug, "visibility": r.Visibility, "old_visibility": old,
		}); err != nil {
			return err
		}
		out = r.project()
		return nil
	})
	return out, err
}

// SetArchived archives (read-only: no new posts or edits) or unarchives a
// project. It needs access.ManageProject; setting the state it already has
// is a no-op without an event.
func (s *Service) SetArchived(actor access.Actor, slug string, archived bool) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, slug)
		if err != nil {
			return err
		}
		if err := access.Check(actor, sc.subject(), access.ManageProject); err != nil {
			return err
		}
		r := sc.proj
		if r.Archived == archived {
			return nil
		}
		r.Archived, r.UpdatedAt = archived, now
		if err := putProject(tx, r); err != nil {
			return err
		}
		typ := "project.unarchived"
		if archived {
			typ = "project.archived"
		}
		return s.emit(tx, typ, actor, now, r.ID, 0, map[string]any{"slug": r.Slug})
	})
}

// Project returns the project with the given slug as the actor sees it.
// A missing project and one the actor may not read are both NotFound.
func (s *Service) Project(actor access.Actor, slug string) (*ProjectView, error) {
	var out *ProjectView
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, slug)
		if err != nil {
			return err
		}
		out = sc.view()
		return nil
	})
	return out, err
}

// ProjectByID is Project by id.
func (s *Service) ProjectByID(actor access.Actor, id uint64) (*ProjectView, error) {
	var out *ProjectView
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeByID(tx, actor, id)
		if err != nil {
			return err
		}
		out = sc.view()
		return nil
	})
	return out, err
}

// Projects returns every project the actor may read (admins: all,
// archived ones included), most recently active first. It reads every
// project record: projects are few compared with posts.
func (s *Service) Projects(actor access.Actor) ([]*ProjectView, error) {
	var out []*ProjectView
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bProjects).ForEach(func(k, v []byte) error {
			var r projectRec
			if err := json.Unmarshal(v, &r); err != nil {
				return apperr.Wrap(err, "decode project %d", store.U64(k))
			}
			role, err := roleIn(tx, r.ID, actor.UserID)
			if err != nil {
				return err
			}
			sc := &scope{proj: &r, role: role}
			if access.Can(actor, sc.subject(), access.Read) {
				out = append(out, sc.view())
			}
			return nil
		})
	})
	sortByActivity(out)
	return out, err
}

// ProjectsOf returns the projects userID is a member of, with their role,
// most recently active first. It makes no access decision: it is for
// showing a person their own projects.
func (s *Service) ProjectsOf(userID uint64) ([]*ProjectView, error) {
	var out []*ProjectView
	err := s.view(func(tx *bbolt.Tx) error {
		prefix := store.Key(userID)
		c := tx.Bucket(bUserProjects).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			r, err := getProject(tx, store.U64(k[8:]))
			if err != nil {
				return err
			}
			if r == nil {
				continue
			}
			out = append(out, &ProjectView{Project: r.project(), Role: access.Role(v)})
		}
		return nil
	})
	sortByActivity(out)
	return out, err
}

func sortByActivity(pvs []*ProjectView) {
	slices.SortFunc(pvs, func(a, b *ProjectView) int {
		if c := b.LastActivity.Compare(a.LastActivity); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
