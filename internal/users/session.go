package users

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
)

// session is what the sessions bucket keeps under sha256(token). It does
// not say how the person logged in: any login method ends in CreateSession.
type session struct {
	UserID    uint64    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	RenewedAt time.Time `json:"renewed_at"`
	ExpiresAt time.Time `json:"expires_at"`
	UserAgent string    `json:"user_agent,omitempty"`
}

const tokenBytes = 32

func errSessionExpired() error {
	return apperr.New(apperr.Unauthorized, "Your session has expired; please log in again.")
}

// sessionKey returns sha256(token), the only form of a token that is
// stored, and false when token cannot be one of ours.
func sessionKey(token string) ([]byte, bool) {
	if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) != tokenBytes {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:], true
}

func getSession(tx *bbolt.Tx, key []byte) (*session, error) {
	v := tx.Bucket([]byte(bucketSessions)).Get(key)
	if v == nil {
		return nil, nil
	}
	var se session
	if err := json.Unmarshal(v, &se); err != nil {
		return nil, apperr.Wrap(err, "decode session")
	}
	return &se, nil
}

func putSession(tx *bbolt.Tx, key []byte, se *session) error {
	v, err := json.Marshal(se)
	if err != nil {
		return apperr.Wrap(err, "encode session")
	}
	if err := tx.Bucket([]byte(bucketSessions)).Put(key, v); err != nil {
		return apperr.Wrap(err, "store session")
	}
	return nil
}

// CreateSession starts a session for an active user, however they proved
// who they are, and returns its token: 32 random bytes, base64url without
// padding, to be sent in a cookie. Only sha256(token) is stored. It returns
// apperr.NotFound for no such user and apperr.Unauthorized for a
// deactivated one. The session lives SessionTTL (30 days by default) from
// its last renewal; see Session. Expired sessions are purged here, at most
// once an hour.
func (s *Service) CreateSession(userID uint64, userAgent string) (token string, err error) {
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", apperr.Wrap(err, "session token")
	}
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	key, _ := sessionKey(token)
	now := s.clock()
	err = s.update(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, userID)
		if err != nil {
			return err
		}
		if !u.Active {
			return apperr.New(apperr.Unauthorized, "This account is deactivated.")
		}
		if s.purgeDue(now) {
			if _, err := purgeExpired(tx, now); err != nil {
				return err
			}
		}
		return putSession(tx, key, &session{UserID: userID, CreatedAt: now, RenewedAt: now,
			ExpiresAt: now.Add(s.ttl), UserAgent: cleanUserAgent(userAgent)})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// purgeDue reports whether an opportunistic purge is due, and if so marks
// it done.
func (s *Service) purgeDue(now time.Time) bool {
	s.purgeMu.Lock()
	defer s.purgeMu.Unlock()
	if now.Sub(s.lastPurge) < time.Hour {
		return false
	}
	s.lastPurge = now
	return true
}

// Session returns the active user a session token belongs to. An unknown,
// malformed or expired token, or a deactivated user, yields
// apperr.Unauthorized "Your session has expired; please log in again."
//
// The expiry slides: a session used within SessionTTL of its last renewal
// is renewed for another SessionTTL. So that looking a session up stays a
// read, the renewal is written at most once an hour per session (every
// SessionTTL/2 when that is shorter), in a second, short write
// transaction that checks the session again.
func (s *Service) Session(token string) (*User, error) {
	key, ok := sessionKey(token)
	if !ok {
		return nil, errSessionExpired()
	}
	now := s.clock()
	if u := s.sessions.get(string(key), now); u != nil {
		return u, nil
	}
	gen := s.sessions.generation()
	var u *User
	var se *session
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		var err error
		if se, err = getSession(tx, key); err != nil {
			return err
		}
		if se == nil || !now.Before(se.ExpiresAt) {
			return errSessionExpired()
		}
		if u, err = getUser(tx, se.UserID); err != nil {
			return err
		}
		if u == nil || !u.Active {
			return errSessionExpired()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	u = public(u)
	if renewAt := se.RenewedAt.Add(s.renewEvery); !now.Before(renewAt) {
		// The write moves the generation: the next request reads the
		// renewed session and remembers that.
		if err := s.renew(key, now); err != nil {
			return nil, err
		}
	} else {
		s.sessions.put(string(key), gen, u, se.ExpiresAt, renewAt)
	}
	return u, nil
}

// renew slides a session's expiry. Concurrent requests of one session may
// all decide to renew; the first writes and the others find nothing to do
// and roll back.
func (s *Service) renew(key []byte, now time.Time) error {
	err := s.update(func(tx *bbolt.Tx) error {
		se, err := getSession(tx, key)
		if err != nil {
			return err
		}
		if se == nil || !now.Before(se.ExpiresAt) {
			return errSessionExpired() // ended (logout, password change) meanwhile
		}
		if now.Sub(se.RenewedAt) < s.renewEvery {
			return errNoChange
		}
		se.RenewedAt = now
		se.ExpiresAt = now.Add(s.ttl)
		return putSession(tx, key, se)
	})
	return noChange(err)
}

// DeleteSession ends the session of token (logging out). An unknown token
// is not an error.
func (s *Service) DeleteSession(token string) error {
	key, ok := sessionKey(token)
	if !ok {
		return nil
	}
	return s.update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte(bucketSessions)).Delete(key); err != nil {
			return apperr.Wrap(err, "delete session")
		}
		return nil
	})
}

// DeleteUserSessions ends every session of the user, everywhere. A user
// without sessions, or no such user, is not an error.
func (s *Service) DeleteUserSessions(userID uint64) error {
	return s.update(func(tx *bbolt.Tx) error {
		return deleteUserSessions(tx, userID)
	})
}

// PurgeExpiredSessions deletes expired sessions and returns how many. It
// runs on its own from CreateSession at most once an hour; a scheduler or
// CLI command may also call it.
func (s *Service) PurgeExpiredSessions() (n int, err error) {
	err = s.update(func(tx *bbolt.Tx) error {
		n, err = purgeExpired(tx, s.clock())
		return err
	})
	return n, err
}

// deleteSessionsWhere deletes the sessions for which match is true. Keys
// are collected first: deleting under a bbolt cursor skips entries.
func deleteSessionsWhere(tx *bbolt.Tx, match func(*session) bool) (int, error) {
	b := tx.Bucket([]byte(bucketSessions))
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var se session
		if err := json.Unmarshal(v, &se); err != nil {
			return apperr.Wrap(err, "decode session")
		}
		if match(&se) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, apperr.Wrap(err, "delete session")
		}
	}
	return len(doomed), nil
}

func deleteUserSessions(tx *bbolt.Tx, userID uint64) error {
	_, err := deleteSessionsWhere(tx, func(se *session) bool { return se.UserID == userID })
	return err
}

func purgeExpired(tx *bbolt.Tx, now time.Time) (int, error) {
	return deleteSessionsWhere(tx, func(se *session) bool { return !now.Before(se.ExpiresAt) })
}
