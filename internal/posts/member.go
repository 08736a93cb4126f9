package posts

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// memberRec is the stored form of a Member.
type memberRec struct {
	UserID  uint64      `json:"user_id"`
	Role    access.Role `json:"role"`
	AddedAt time.Time   `json:"added_at"`
}

func hasPrefix(k, prefix []byte) bool { return bytes.HasPrefix(k, prefix) }

func memberKey(pid, uid uint64) []byte { return cat(store.Key(pid), store.Key(uid)) }

// roleIn returns the user's role in the project, NoRole for a non-member
// or the anonymous user.
func roleIn(tx *bbolt.Tx, pid, uid uint64) (access.Role, error) {
	if uid == 0 {
		return access.NoRole, nil
	}
	// user_projects holds the role as its value, so this is one small Get
	// with no decoding.
	v := tx.Bucket(bUserProjects).Get(cat(store.Key(uid), store.Key(pid)))
	return access.Role(v), nil
}

func getMember(tx *bbolt.Tx, pid, uid uint64) (*memberRec, error) {
	var m memberRec
	ok, err := getJSON(tx.Bucket(bMembers), memberKey(pid, uid), &m)
	if err != nil || !ok {
		return nil, err
	}
	return &m, nil
}

// putMember stores a membership in both directions.
func putMember(tx *bbolt.Tx, pid uint64, m memberRec) error {
	if err := putJSON(tx.Bucket(bMembers), memberKey(pid, m.UserID), m); err != nil {
		return err
	}
	if err := tx.Bucket(bUserProjects).Put(cat(store.Key(m.UserID), store.Key(pid)), []byte(m.Role)); err != nil {
		return apperr.Wrap(err, "store membership")
	}
	return nil
}

func deleteMember(tx *bbolt.Tx, pid, uid uint64) error {
	if err := tx.Bucket(bMembers).Delete(memberKey(pid, uid)); err != nil {
		return apperr.Wrap(err, "delete membership")
	}
	if err := tx.Bucket(bUserProjects).Delete(cat(store.Key(uid), store.Key(pid))); err != nil {
		return apperr.Wrap(err, "delete membership")
	}
	return nil
}

// countOwners counts the project's owners; it walks the project's members.
func countOwners(tx *bbolt.Tx, pid uint64) (int, error) {
	n := 0
	prefix := store.Key(pid)
	c := tx.Bucket(bMembers).Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		var m memberRec
		if err := json.Unmarshal(v, &m); err != nil {
			return 0, apperr.Wrap(err, "decode member %x", k)
		}
		if m.Role == access.Owner {
			n++
		}
	}
	return n, nil
}

func errLastOwner() error {
	return apperr.New(apperr.Conflict, "A project needs at least one owner: make someone else an owner first.")
}

var roleOrder = map[access.Role]int{access.Owner: 0, access.Member: 1, access.Viewer: 2}

// Members returns the project's members, owners first, then members, then
// viewers, each group in the order they joined. It needs access.Read.
func (s *Service) Members(actor access.Actor, slug string) ([]Member, error) {
	var out []Member
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, slug)
		if err != nil {
			return err
		}
		prefix := store.Key(sc.proj.ID)
		c := tx.Bucket(bMembers).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			var m memberRec
			if err := json.Unmarshal(v, &m); err != nil {
				return apperr.Wrap(err, "decode member %x", k)
			}
			out = append(out, Member(m))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Member) int {
		if c := cmp.Compare(roleOrder[a.Role], roleOrder[b.Role]); c != 0 {
			return c
		}
		if c := a.AddedAt.Compare(b.AddedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.UserID, b.UserID)
	})
	return out, err
}

// SetMember adds userID to the project with role, or changes their role.
// It needs access.ManageMembers (allowed in an archived project, so owners
// can still tidy up). The caller checks that the user exists: this package
// does not know users. Errors: Invalid for user 0 or a role that is not
// viewer, member or owner; Conflict when it would demote the last owner.
// Setting the role a member already has is a no-op without an event.
func (s *Service) SetMember(actor access.Actor, slug string, userID uint64, role access.Role) error {
	if userID == 0 {
		return apperr.FieldErr("user", "Please choose a person.")
	}
	if !role.Valid() {
		return apperr.FieldErr("role", "The role must be viewer, member or owner.")
	}
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, slug)
		if err != nil {
			return err
		}
		if err := access.Check(actor, sc.subject(), access.ManageMembers); err != nil {
			return err
		}
		pid := sc.proj.ID
		m, err := getMember(tx, pid, userID)
		if err != nil {
			return err
		}
		prev := access.NoRole
		if m != nil {
			prev = m.Role
			if m.Role == role {
				return nil
			}
			if m.Role == access.Owner {
				n, err := countOwners(tx, pid)
				if err != nil {
					return err
				}
				if n <= 1 {
					return errLastOwner()
				}
			}
			m.Role = role
		} else {
			m = &memberRec{UserID: userID, Role: role, AddedAt: now}
		}
		if err := putMember(tx, pid, *m); err != nil {
			return err
		}
		return s.emit(tx, "member.set", actor, now, pid, 0, map[string]any{
			"user_id": userID, "role": role, "previous_role": prev,
		})
	})
}

// RemoveMember removes userID from the project. It needs
// access.ManageMembers. Errors: NotFound when the user is not a member,
// Conflict when they are the last owner.
func (s *Service) RemoveMember(actor access.Actor, slug string, userID uint64) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, slug)
		if err != nil {
			return err
		}
		if err := access.Check(actor, sc.subject(), access.ManageMembers); err != nil {
			return err
		}
		pid := sc.proj.ID
		m, err := getMember(tx, pid, userID)
		if err != nil {
			return err
		}
		if m == nil {
			return apperr.New(apperr.NotFound, "That person is not a member of this project.")
		}
		if m.Role == access.Owner {
			n, err := countOwners(tx, pid)
			if err != nil {
				return err
			}
			if n <= 1 {
				return errLastOwner()
			}
		}
		if err := deleteMember(tx, pid, userID); err != nil {
			return err
		}
		return s.emit(tx, "member.removed", actor, now, pid, 0, map[string]any{
			"user_id": userID, "role": m.Role,
		})
	})
}

// RoleOf returns userID's role in the project (access.NoRole for a
// non-member). It makes no access decision; other packages (feeds, notify)
// use it to build an access.Subject. NotFound when the project is missing.
func (s *Service) RoleOf(projectID, userID uint64) (access.Role, error) {
	var role access.Role
	err := s.view(func(tx *bbolt.Tx) error {
		if tx.Bucket(bProjects).Get(store.Key(projectID)) == nil {
			return errNoProject()
		}
		var err error
		role, err = roleIn(tx, projectID, userID)
		return err
	})
	return role, err
}
