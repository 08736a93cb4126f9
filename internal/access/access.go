// Package access is the one place that decides who may do what in a
// project. It is a pure function of the actor, the project's visibility and
// archive state, and the actor's role in it; every handler and every domain
// method asks it, and its test walks the whole matrix.
package access

import "projblog/internal/apperr"

// Visibility says who may read a project.
type Visibility string

// The visibilities.
const (
	Public   Visibility = "public"   // anyone, also logged out
	Internal Visibility = "internal" // any logged-in user
	Private  Visibility = "private"  // members only; invisible (404) to everyone else
)

// Valid reports whether v is one of the three visibilities.
func (v Visibility) Valid() bool { return v == Public || v == Internal || v == Private }

// Role is a user's role in one project. The zero value means "not a member".
type Role string

// The roles, weakest first.
const (
	NoRole Role = ""
	Viewer Role = "viewer" // reads a private project
	Member Role = "member" // also writes posts and edits their own
	Owner  Role = "owner"  // also edits others' posts, manages members and the project
)

// Valid reports whether r is a member role (not NoRole).
func (r Role) Valid() bool { return r == Viewer || r == Member || r == Owner }

// rank orders roles so that "at least member" is a comparison.
func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Member:
		return 2
	case Owner:
		return 3
	}
	return 0
}

// AtLeast reports whether r is r2 or stronger.
func (r Role) AtLeast(r2 Role) bool { return r.rank() >= r2.rank() }

// Action is something an actor wants to do in a project.
type Action int

// The actions, as in the access matrix.
const (
	Read          Action = iota // see the project, its published posts and pages
	Post                        // write a new post
	EditOwn                     // edit, delete or restore a post one wrote
	EditOthers                  // edit, delete or restore anyone's post; pin
	ManageMembers               // add, remove and change members
	ManageProject               // rename, change visibility, archive and unarchive
	// Discuss is taking part under a post: comment, react, acknowledge.
	// Any signed-in reader may (a viewer, and in a public or internal
	// project a non-member too: stakeholders ask their questions there).
	Discuss
)

var actionNames = [...]string{"read", "post", "edit own", "edit others'", "manage members", "manage project", "discuss"}

// String names the action as the matrix does.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Actors and subjects.

// Actor is who asks. UserID 0 is an anonymous reader.
//
// GuestOf is a guest grant: the ID of the one project that an outside
// reader without an account (a guest subscriber of that project, who came
// in through their magic link) may read. It is set only for such a reader
// (UserID 0). It lets them read that project exactly as a viewer would —
// its pages, posts, comments and feeds — and nothing more: they may not
// discuss, post or manage anything there (those need a signed-in user),
// and every other project answers them as it answers an anonymous reader.
type Actor struct {
	UserID  uint64
	Admin   bool
	GuestOf uint64
}

// Anonymous is the logged-out reader.
var Anonymous = Actor{}

// LoggedIn reports whether the actor is a signed-in user.
func (a Actor) LoggedIn() bool { return a.UserID != 0 }

// Subject is the project as the decision needs to see it: its ID (which
// a guest grant names), its visibility, whether it is archived, and the
// actor's role in it. A Subject without ProjectID matches no guest grant.
type Subject struct {
	ProjectID  uint64
	Visibility Visibility
	Archived   bool
	Role       Role
}

// Guest reports whether the actor reads through a guest grant.
func (a Actor) Guest() bool { return a.GuestOf != 0 && a.UserID == 0 }

// CanRead reports whether the actor may see the project at all: admins and
// members always, anyone a public project, a signed-in user an internal
// one, and a guest the one project of their grant.
func CanRead(a Actor, s Subject) bool {
	if a.Admin || s.Role.Valid() {
		return true
	}
	if a.Guest() && s.ProjectID != 0 && a.GuestOf == s.ProjectID {
		return true
	}
	switch s.Visibility {
	case Public:
		return true
	case Internal:
		return a.LoggedIn()
	}
	return false
}

// Can reports whether the actor may do act in the project. Admins may do
// everything except write into an archived project; nobody may. An archived
// project stays readable and its owners may still manage it (to unarchive).
func Can(a Actor, s Subject, act Action) bool {
	if !CanRead(a, s) {
		return false
	}
	switch act {
	case Read:
		return true
	case Post, EditOwn:
		return !s.Archived && (a.Admin || s.Role.AtLeast(Member))
	case EditOthers:
		return !s.Archived && (a.Admin || s.Role.AtLeast(Owner))
	case ManageMembers, ManageProject:
		return a.Admin || s.Role.AtLeast(Owner)
	case Discuss:
		return !s.Archived && a.LoggedIn()
	}
	return false
}

// Check is Can as an error: nil when allowed; NotFound when the actor may
// not even read the project, so a private project is indistinguishable from
// a missing one; Forbidden (or Unauthorized for an anonymous reader)
// otherwise, with a message that says why.
func Check(a Actor, s Subject, act Action) error {
	if Can(a, s, act) {
		return nil
	}
	if !CanRead(a, s) {
		return apperr.New(apperr.NotFound, "No such project.")
	}
	if !a.LoggedIn() {
		return apperr.New(apperr.Unauthorized, "Please log in to %s here.", act)
	}
	if s.Archived && act != ManageMembers && act != ManageProject {
		return apperr.New(apperr.Forbidden, "This project is archived and read-only.")
	}
	return apperr.New(apperr.Forbidden, "You may not %s in this project.", act)
}
