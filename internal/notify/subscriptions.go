package notify

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// Subscriptions and settings.
//
// A person follows a project with a Mode. Until they choose, every member
// of a project (viewer, member or owner) follows it Weekly and everyone
// else follows nothing; an explicit choice, once made, wins over that
// default for as long as it is stored, whatever happens to the
// membership: a member who chose Off stays off, and someone who chose to
// follow a public or internal project keeps following it without being
// a member. Nobody ever follows what they cannot read: Following and
// BuildDigest leave out every project the person may not read at the
// time they are asked, even one they chose to follow earlier (the choice
// is kept and applies again if they regain access).
//
// Key layouts:
//
//	notify.subs      Key(userID) + Key(projectID) -> the Mode, as text; explicit choices only
//	notify.settings  Key(userID)                  -> Settings as JSON; absent until saved
//
// Events (ActorID the person; appended in the transaction of the write, so
// that caches of per-person pages such as /digest see the change):
//
//	notify.follow_set      {"mode"}, ProjectID set
//	notify.settings_saved  {}
//	notify.email_off       {"off"}

// Event types appended by this file.
const (
	EventFollowSet     = "notify.follow_set"
	EventSettingsSaved = "notify.settings_saved"
	EventEmailOff      = "notify.email_off"
)

// Followed is one project a person follows, as Following returns it.
type Followed struct {
	Project  *posts.ProjectView
	Mode     Mode // never Off
	Explicit bool // the person chose the mode; false: the member default
}

func subKey(userID, projectID uint64) []byte {
	return append(store.Key(userID), store.Key(projectID)...)
}

// appendEvent appends one of this package's events inside tx.
func (s *Service) appendEvent(tx *bbolt.Tx, typ string, userID, projectID uint64, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return apperr.Wrap(err, "encode %s event", typ)
	}
	_, err = s.db.AppendEvent(tx, store.Event{
		Type: typ, Time: s.now(), ActorID: userID, ProjectID: projectID, Data: raw,
	})
	return err
}

// ProjectMode returns how userID follows the project: their explicit
// choice when they made one, else Weekly when they are a member of the
// project (any role) and Off when they are not. It makes no access
// decision (Following and BuildDigest do); it is for showing a person the
// mode of a project they can see. Errors: NotFound when the project is
// missing and the person made no choice about it.
func (s *Service) ProjectMode(userID, projectID uint64) (Mode, error) {
	var (
		m     Mode
		found bool
	)
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bSubs).Get(subKey(userID, projectID)); v != nil {
			m, found = Mode(v), true
		}
		return nil
	})
	if err != nil {
		return Off, apperr.Wrap(err, "read subscription")
	}
	if found {
		return m, nil
	}
	role, err := s.posts.RoleOf(projectID, userID)
	if err != nil {
		return Off, err
	}
	if role != access.NoRole {
		return Weekly, nil
	}
	return Off, nil
}

// SetProjectMode records the actor's own choice of how to follow the
// project: Off, Immediate, Daily or Weekly. The choice is explicit from
// then on, even when it equals the member default. Errors: Unauthorized
// for an anonymous actor; Invalid (Field "mode") for another mode;
// NotFound when the project is missing or the actor may not read it.
// Choosing the mode already chosen is a no-op without an event. Event:
// notify.follow_set.
func (s *Service) SetProjectMode(actor access.Actor, projectSlug string, m Mode) error {
	if !actor.LoggedIn() {
		return apperr.New(apperr.Unauthorized, "Please log in to follow a project.")
	}
	if !m.Valid() {
		return apperr.FieldErr("mode", "Please choose how to follow the project: immediately, daily, weekly or off.")
	}
	pv, err := s.posts.Project(actor, projectSlug)
	if err != nil {
		return err
	}
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bSubs)
		key := subKey(actor.UserID, pv.ID)
		if bytes.Equal(b.Get(key), []byte(m)) {
			return nil
		}
		if err := b.Put(key, []byte(m)); err != nil {
			return apperr.Wrap(err, "store subscription")
		}
		if err := setDaily(tx, actor.UserID, dailyProject, store.Key(pv.ID), m); err != nil {
			return apperr.Wrap(err, "store subscription")
		}
		return s.appendEvent(tx, EventFollowSet, actor.UserID, pv.ID, map[string]any{"mode": m})
	})
}

// explicitModes returns the person's explicit choices by project id.
func (s *Service) explicitModes(userID uint64) (map[uint64]Mode, error) {
	out := map[uint64]Mode{}
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(userID)
		c := tx.Bucket(bSubs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != 16 {
				continue
			}
			out[store.U64(k[8:])] = Mode(v)
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read subscriptions")
	}
	return out, nil
}

// Following returns every project userID follows (Mode not Off, by
// explicit choice or as a member) and may read now, archived ones
// included, ordered by project name (ignoring case), then id. Errors:
// NotFound for an unknown user. It costs O(memberships + explicit
// choices), not O(projects): members read their projects by membership,
// and each other followed project is checked on its own.
func (s *Service) Following(userID uint64) ([]Followed, error) {
	u, err := s.users.ByID(userID)
	if err != nil {
		return nil, err
	}
	return s.following(u)
}

func (s *Service) following(u *users.User) ([]Followed, error) {
	explicit, err := s.explicitModes(u.ID)
	if err != nil {
		return nil, err
	}
	mine, err := s.posts.ProjectsOf(u.ID)
	if err != nil {
		return nil, err
	}
	var out []Followed
	seen := make(map[uint64]bool, len(mine))
	for _, pv := range mine {
		seen[pv.ID] = true
		m, ok := explicit[pv.ID]
		if !ok {
			m = Weekly
		}
		if m == Off || !m.Valid() {
			continue
		}
		// A membership always lets its holder read the project.
		out = append(out, Followed{Project: pv, Mode: m, Explicit: ok})
	}
	ids := make([]uint64, 0, len(explicit))
	for id, m := range explicit {
		if !seen[id] && m != Off && m.Valid() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // a deterministic order of reads
	actor := u.Actor()
	for _, id := range ids {
		pv, err := s.posts.ProjectByID(actor, id)
		if apperr.Is(err, apperr.NotFound) {
			continue // no longer readable (or gone): the choice waits
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Followed{Project: pv, Mode: explicit[id], Explicit: true})
	}
	slices.SortFunc(out, func(a, b Followed) int {
		if c := cmp.Compare(strings.ToLower(a.Project.Name), strings.ToLower(b.Project.Name)); c != 0 {
			return c
		}
		return cmp.Compare(a.Project.ID, b.Project.ID)
	})
	return out, nil
}

// Settings returns the person's notification settings: DefaultSettings()
// until they save some. Fields added to Settings later keep their default
// for settings saved before.
func (s *Service) Settings(userID uint64) (Settings, error) {
	var st Settings
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		var err error
		st, err = readSettings(tx, userID)
		return err
	})
	return st, err
}

func readSettings(tx *bbolt.Tx, userID uint64) (Settings, error) {
	st := DefaultSettings()
	v := tx.Bucket(bSettings).Get(store.Key(userID))
	if v == nil {
		return st, nil
	}
	if err := json.Unmarshal(v, &st); err != nil {
		return DefaultSettings(), apperr.Wrap(err, "decode notification settings of user %d", userID)
	}
	return st, nil
}

func writeSettings(tx *bbolt.Tx, userID uint64, st Settings) error {
	v, err := json.Marshal(st)
	if err != nil {
		return apperr.Wrap(err, "encode notification settings")
	}
	if err := tx.Bucket(bSettings).Put(store.Key(userID), v); err != nil {
		return apperr.Wrap(err, "store notification settings")
	}
	return nil
}

// validateSettings checks a settings form.
func validateSettings(st Settings) error {
	if st.DigestHour < 0 || st.DigestHour > 23 {
		return apperr.FieldErr("digest_hour", "The digest hour must be between 0 and 23.")
	}
	if st.WeeklyDay < time.Sunday || st.WeeklyDay > time.Saturday {
		return apperr.FieldErr("weekly_day", "Please choose the day of the weekly digest.")
	}
	if st.QuietStart < 0 || st.QuietStart > 23 {
		return apperr.FieldErr("quiet_start", "Quiet hours must start at an hour between 0 and 23.")
	}
	if st.QuietEnd < 0 || st.QuietEnd > 23 {
		return apperr.FieldErr("quiet_end", "Quiet hours must end at an hour between 0 and 23.")
	}
	return nil
}

// SaveSettings validates st and stores it as the person's settings, all
// fields (EmailOff included: the settings form shows it). The time zone
// is not here: it is the user's own (users.User.TimeZone). Errors:
// Unauthorized for user 0; Invalid with Field "digest_hour" (outside
// 0–23), "weekly_day" (outside 0–6), "quiet_start" or "quiet_end"
// (outside 0–23; equal hours mean no quiet hours). Saving what is stored
// is a no-op.
// Event: notify.settings_saved.
func (s *Service) SaveSettings(userID uint64, st Settings) error {
	if userID == 0 {
		return apperr.New(apperr.Unauthorized, "Please log in to change your notification settings.")
	}
	if err := validateSettings(st); err != nil {
		return err
	}
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bSettings).Get(store.Key(userID)) != nil {
			old, err := readSettings(tx, userID)
			if err != nil {
				return err
			}
			if old == st {
				return nil
			}
		}
		if err := writeSettings(tx, userID, st); err != nil {
			return err
		}
		return s.appendEvent(tx, EventSettingsSaved, userID, 0, struct{}{})
	})
}

// SetEmailOff turns all e-mail to the person off (one-click unsubscribe)
// or on again, keeping their other settings. Errors: Unauthorized for
// user 0. No change is a no-op without an event. Event: notify.email_off.
func (s *Service) SetEmailOff(userID uint64, off bool) error {
	if userID == 0 {
		return apperr.New(apperr.Unauthorized, "Please log in to change your notification settings.")
	}
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		st, err := readSettings(tx, userID)
		if err != nil {
			return err
		}
		if st.EmailOff == off {
			return nil
		}
		st.EmailOff = off
		if err := writeSettings(tx, userID, st); err != nil {
			return err
		}
		return s.appendEvent(tx, EventEmailOff, userID, 0, map[string]any{"off": off})
	})
}
