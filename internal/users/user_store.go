package users

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// errNoChange ends an Update closure that found nothing to write: returning
// it rolls the transaction back, which skips the commit's fsync. Callers
// turn it into success.
var errNoChange = errors.New("no change")

func noChange(err error) error {
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

func errNoUser() error { return apperr.New(apperr.NotFound, "No such user.") }

// Create validates in and creates an active account with a derived handle.
// It returns apperr.Invalid with Field set to "email", "name", "password",
// "timezone" or "language" for bad input, and apperr.Conflict with Field
// "email" when the email is taken (case-insensitively).
func (s *Service) Create(in NewUser) (*User, error) {
	u, err := s.prepare(in)
	if err != nil {
		return nil, err
	}
	// Hash before the transaction: bcrypt is slow on purpose, and the
	// writer lock should not wait for it.
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cost)
	if err != nil {
		return nil, apperr.Wrap(err, "hash password")
	}
	u.PasswordHash = hash
	err = s.update(func(tx *bbolt.Tx) error {
		return s.insert(tx, u)
	})
	if err != nil {
		return nil, err
	}
	u.PasswordHash = nil
	return u, nil
}

// prepare validates in and returns the user to insert, without hash, ID
// or handle.
func (s *Service) prepare(in NewUser) (*User, error) {
	email, err := validEmail(in.Email)
	if err != nil {
		return nil, err
	}
	name, err := validName(in.Name)
	if err != nil {
		return nil, err
	}
	if err := validPassword(in.Password); err != nil {
		return nil, err
	}
	tz, err := validTimeZone(in.TimeZone)
	if err != nil {
		return nil, err
	}
	lang, err := validLanguage(in.Language)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	return &User{Email: email, Name: name, Admin: in.Admin, Active: true, TimeZone: tz, Language: lang,
		CreatedAt: now, UpdatedAt: now}, nil
}

// insert gives u an ID and a handle, stores it with its indexes and appends
// EventCreated.
func (s *Service) insert(tx *bbolt.Tx, u *User) error {
	byEmail := tx.Bucket([]byte(bucketUsersByEmail))
	if byEmail.Get([]byte(u.Email)) != nil {
		return &apperr.Error{Code: apperr.Conflict, Field: "email", Message: "An account with this email address already exists."}
	}
	b := tx.Bucket([]byte(bucketUsers))
	id, err := b.NextSequence()
	if err != nil {
		return apperr.Wrap(err, "user sequence")
	}
	u.ID = id
	u.Handle = freeHandle(tx, baseHandle(u.Email))
	if err := putUser(tx, u); err != nil {
		return err
	}
	if err := byEmail.Put([]byte(u.Email), store.Key(id)); err != nil {
		return apperr.Wrap(err, "index user email")
	}
	if err := tx.Bucket([]byte(bucketUsersByHandle)).Put([]byte(u.Handle), store.Key(id)); err != nil {
		return apperr.Wrap(err, "index user handle")
	}
	return s.appendEvent(tx, EventCreated, u)
}

// freeHandle returns base, or base-2, base-3, ... whichever is free first.
func freeHandle(tx *bbolt.Tx, base string) string {
	idx := tx.Bucket([]byte(bucketUsersByHandle))
	h := base
	for n := 2; idx.Get([]byte(h)) != nil; n++ {
		h = base + "-" + strconv.Itoa(n)
	}
	return h
}

func (s *Service) appendEvent(tx *bbolt.Tx, typ string, u *User) error {
	_, err := s.db.AppendEvent(tx, store.Event{Type: typ, ActorID: u.ID, Time: u.UpdatedAt, Data: eventData(u)})
	return err
}

// putUser writes u (with its hash) to the users bucket.
func putUser(tx *bbolt.Tx, u *User) error {
	v, err := json.Marshal(u)
	if err != nil {
		return apperr.Wrap(err, "encode user %d", u.ID)
	}
	if err := tx.Bucket([]byte(bucketUsers)).Put(store.Key(u.ID), v); err != nil {
		return apperr.Wrap(err, "store user %d", u.ID)
	}
	return nil
}

// getUser returns the stored user with its hash, nil when there is none.
// The result is decoded, so it does not alias the transaction's memory.
func getUser(tx *bbolt.Tx, id uint64) (*User, error) {
	v := tx.Bucket([]byte(bucketUsers)).Get(store.Key(id))
	if v == nil {
		return nil, nil
	}
	return decodeUser(id, v)
}

func decodeUser(id uint64, v []byte) (*User, error) {
	u := new(User)
	if err := json.Unmarshal(v, u); err != nil {
		return nil, apperr.Wrap(err, "decode user %d", id)
	}
	return u, nil
}

// mustGetUser is getUser with NotFound for a missing user.
func mustGetUser(tx *bbolt.Tx, id uint64) (*User, error) {
	u, err := getUser(tx, id)
	if err == nil && u == nil {
		err = errNoUser()
	}
	return u, err
}

// public strips what must not leave the package.
func public(u *User) *User {
	if u != nil {
		u.PasswordHash = nil
	}
	return u
}

// Count returns the number of accounts, active or not.
func (s *Service) Count() (n int, err error) {
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		n = tx.Bucket([]byte(bucketUsers)).Stats().KeyN
		return nil
	})
	return n, err
}

// EnsureFirstAdmin creates an active administrator with a random
// 20-character password when no account exists yet, and returns it with
// the password (to print once) and created=true. When any account exists it
// does nothing and returns nil, "", false, nil. Invalid email or name yield
// apperr.Invalid as in Create. It is safe to call on every start.
func (s *Service) EnsureFirstAdmin(email, name string) (u *User, password string, created bool, err error) {
	password = randomPassword()
	u, err = s.prepare(NewUser{Email: email, Name: name, Password: password, Admin: true})
	if err != nil {
		return nil, "", false, err
	}
	err = s.update(func(tx *bbolt.Tx) error {
		if k, _ := tx.Bucket([]byte(bucketUsers)).Cursor().First(); k != nil {
			return errNoChange
		}
		// Hashing inside the write transaction holds the writer lock for
		// one bcrypt, once in the life of the database; it keeps the check
		// and the insert in one transaction without hashing on every start.
		hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
		if err != nil {
			return apperr.Wrap(err, "hash password")
		}
		u.PasswordHash = hash
		created = true
		return s.insert(tx, u)
	})
	if errors.Is(err, errNoChange) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	return public(u), password, created, nil
}

// randomPassword returns 20 characters of crypto/rand base32 (100 bits).
func randomPassword() string { return rand.Text()[:20] }

// ByID returns the user with this ID, or apperr.NotFound.
func (s *Service) ByID(id uint64) (u *User, err error) {
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		u, err = mustGetUser(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return public(u), nil
}

// ByIDs returns the users with these IDs, keyed by ID, in one transaction.
// IDs of no user are skipped, so the map may be shorter than ids.
func (s *Service) ByIDs(ids []uint64) (map[uint64]*User, error) {
	out := make(map[uint64]*User, len(ids))
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			u, err := getUser(tx, id)
			if err != nil {
				return err
			}
			if u != nil {
				out[id] = public(u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ByEmail returns the user with this email, compared case-insensitively, or
// apperr.NotFound.
func (s *Service) ByEmail(email string) (*User, error) {
	return s.byIndex(bucketUsersByEmail, normalizeEmail(email))
}

// ByHandle returns the user with this handle, compared case-insensitively,
// or apperr.NotFound.
func (s *Service) ByHandle(handle string) (*User, error) {
	h := strings.ToLower(strings.TrimSpace(handle))
	if !validHandle(h) {
		return nil, errNoUser()
	}
	return s.byIndex(bucketUsersByHandle, h)
}

func (s *Service) byIndex(bucket, key string) (u *User, err error) {
	if key == "" {
		return nil, errNoUser()
	}
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		id := tx.Bucket([]byte(bucket)).Get([]byte(key))
		if id == nil {
			return errNoUser()
		}
		u, err = mustGetUser(tx, store.U64(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return public(u), nil
}

// List returns every account, active or not, ordered by name (ignoring
// case), then email.
func (s *Service) List() ([]*User, error) {
	var out []*User
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketUsers)).ForEach(func(k, v []byte) error {
			u, err := decodeUser(store.U64(k), v)
			if err != nil {
				return err
			}
			out = append(out, public(u))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name)
		if a != b {
			return a < b
		}
		return out[i].Email < out[j].Email
	})
	return out, nil
}

// UpdateProfile validates p and saves it as the user's name, time zone and
// language, appending EventUpdated when something changed. It returns the
// updated user, apperr.Invalid with Field "name", "timezone" or "language",
// or apperr.NotFound.
func (s *Service) UpdateProfile(id uint64, p Profile) (*User, error) {
	name, err := validName(p.Name)
	if err != nil {
		return nil, err
	}
	tz, err := validTimeZone(p.TimeZone)
	if err != nil {
		return nil, err
	}
	lang, err := validLanguage(p.Language)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.update(func(tx *bbolt.Tx) error {
		if u, err = mustGetUser(tx, id); err != nil {
			return err
		}
		if u.Name == name && u.TimeZone == tz && u.Language == lang && u.ShowEmail == p.ShowEmail {
			return errNoChange
		}
		u.Name, u.TimeZone, u.Language, u.ShowEmail = name, tz, lang, p.ShowEmail
		u.UpdatedAt = s.clock()
		if err := putUser(tx, u); err != nil {
			return err
		}
		return s.appendEvent(tx, EventUpdated, u)
	})
	if err = noChange(err); err != nil {
		return nil, err
	}
	return public(u), nil
}

// SetPassword validates and sets the user's password and ends all of the
// user's sessions, in one transaction. It returns apperr.Invalid with Field
// "password", or apperr.NotFound.
func (s *Service) SetPassword(id uint64, password string) error {
	if err := validPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return apperr.Wrap(err, "hash password")
	}
	return s.update(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, id)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		u.UpdatedAt = s.clock()
		if err := putUser(tx, u); err != nil {
			return err
		}
		return deleteUserSessions(tx, id)
	})
}

// SetAdmin grants or removes administrator rights, appending EventUpdated.
// It refuses with apperr.Conflict to remove the rights of the last active
// administrator, and returns apperr.NotFound for no such user.
func (s *Service) SetAdmin(id uint64, admin bool) error {
	err := s.update(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, id)
		if err != nil {
			return err
		}
		if u.Admin == admin {
			return errNoChange
		}
		if !admin && u.Active {
			if err := ensureAnotherAdmin(tx, id); err != nil {
				return err
			}
		}
		u.Admin = admin
		u.UpdatedAt = s.clock()
		if err := putUser(tx, u); err != nil {
			return err
		}
		return s.appendEvent(tx, EventUpdated, u)
	})
	return noChange(err)
}

// SetActive deactivates or reactivates an account. Deactivating ends all of
// the user's sessions and appends EventDeactivated; it is refused with
// apperr.Conflict for the last active administrator. Reactivating appends
// EventReactivated, and makes an external author (User.External) an
// account. It returns apperr.NotFound for no such user.
func (s *Service) SetActive(id uint64, active bool) error {
	err := s.update(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, id)
		if err != nil {
			return err
		}
		if u.Active == active {
			return errNoChange
		}
		typ := EventReactivated
		if !active {
			typ = EventDeactivated
			if u.Admin {
				if err := ensureAnotherAdmin(tx, id); err != nil {
					return err
				}
			}
			if err := deleteUserSessions(tx, id); err != nil {
				return err
			}
		}
		u.Active = active
		if active {
			u.External = false // an administrator turned it into an account
		}
		u.UpdatedAt = s.clock()
		if err := putUser(tx, u); err != nil {
			return err
		}
		return s.appendEvent(tx, typ, u)
	})
	return noChange(err)
}

// ensureAnotherAdmin returns apperr.Conflict unless an active administrator
// other than id exists. It walks the users bucket: there are few accounts,
// and this runs only when rights are taken away.
func ensureAnotherAdmin(tx *bbolt.Tx, id uint64) error {
	c := tx.Bucket([]byte(bucketUsers)).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if store.U64(k) == id {
			continue
		}
		var u struct{ Admin, Active bool }
		if err := json.Unmarshal(v, &u); err != nil {
			return apperr.Wrap(err, "decode user %d", store.U64(k))
		}
		if u.Admin && u.Active {
			return nil
		}
	}
	return apperr.New(apperr.Conflict, "This is the last active administrator; make someone else an administrator first.")
}

// ExternalAuthor returns the account with this e-mail address, creating an
// external one (see User.External) named name when there is none, so that
// mail from people without an account keeps its author. A name that is
// not valid (empty, too long) falls back to the address's local part.
func (s *Service) ExternalAuthor(email, name string) (*User, error) {
	addr, err := validEmail(email)
	if err != nil {
		return nil, err
	}
	if u, err := s.ByEmail(addr); err == nil {
		return u, nil
	} else if !apperr.Is(err, apperr.NotFound) {
		return nil, err
	}
	n, err := validName(name)
	if err != nil {
		local, _, _ := strings.Cut(addr, "@")
		if n, err = validName(local); err != nil {
			n = addr
		}
	}
	now := s.clock()
	u := &User{Email: addr, Name: n, External: true, CreatedAt: now, UpdatedAt: now}
	err = s.update(func(tx *bbolt.Tx) error {
		if v := tx.Bucket([]byte(bucketUsersByEmail)).Get([]byte(addr)); v != nil {
			return errExists
		}
		return s.insert(tx, u)
	})
	if errors.Is(err, errExists) {
		return s.ByEmail(addr)
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// errExists ends ExternalAuthor's transaction when someone created the
// account meanwhile.
var errExists = errors.New("exists")
