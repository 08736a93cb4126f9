package users

import (
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Authenticate checks an email and password, the password login method, and
// returns the active user they belong to. remoteIP is the client's address
// as the web layer trusts it ("" skips the per-address limit).
//
// An unknown email, a wrong password and a deactivated account all return
// apperr.Unauthorized "Wrong email or password.", and all run one bcrypt
// comparison (against a dummy hash for an unknown email), so neither the
// answer nor its timing tells which it was.
//
// Failures are throttled: once the address (IPv6: its /64) has 20 failures,
// or the email 5 failures, within the last 15 minutes of the injected clock,
// Authenticate returns apperr.TooMany, saying in how many minutes to try
// again, without checking the password; a success clears the email's
// failures. See the package comment.
func (s *Service) Authenticate(email, password, remoteIP string) (*User, error) {
	now := s.clock()
	account := normalizeEmail(email)
	ip := ipKey(remoteIP)
	if until := s.throttle.check(ip, account, now); !until.IsZero() {
		return nil, tooMany(until.Sub(now))
	}

	var u *User
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		id := tx.Bucket([]byte(bucketUsersByEmail)).Get([]byte(account))
		if id == nil {
			return nil
		}
		var err error
		u, err = getUser(tx, store.U64(id))
		return err
	})
	if err != nil {
		return nil, err
	}

	// bcrypt runs outside the transaction: it takes tens of milliseconds
	// on purpose, and a long read transaction holds up the file's growth.
	hash := s.dummyHash
	if u != nil && len(u.PasswordHash) > 0 {
		hash = u.PasswordHash
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !ok || u == nil || len(u.PasswordHash) == 0 || !u.Active {
		s.throttle.fail(ip, account, now)
		return nil, apperr.New(apperr.Unauthorized, "Wrong email or password.")
	}
	s.throttle.succeed(account)
	return public(u), nil
}

// tooMany is the throttling error, rounded up to whole minutes.
func tooMany(wait time.Duration) error {
	mins := int((wait + time.Minute - 1) / time.Minute)
	if mins <= 1 {
		return apperr.New(apperr.TooMany, "Too many failed login attempts. Please try again in a minute.")
	}
	return apperr.New(apperr.TooMany, "Too many failed login attempts. Please try again in %d minutes.", mins)
}
