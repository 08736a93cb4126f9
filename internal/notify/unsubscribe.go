package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// One-click unsubscribe (RFC 8058). Every e-mail carries a link
// BaseURL/unsubscribe/TOKEN that turns all of its reader's e-mail off
// without a login. The token is derived, not stored:
//
//	base64url (unpadded) of  uvarint(userID) || HMAC-SHA256(secret, "unsubscribe" || Key(userID))[:16]
//
// with Key(userID) the 8-byte big-endian ID and secret 32 random bytes kept
// in bucket notify.meta under "unsubscribe_secret", created the first time
// a token is needed. A 128-bit tag cannot be guessed, so nobody can
// unsubscribe someone else without a message sent to them. The token never
// expires: a link in a months-old message still works, as mail providers
// expect. The secret travels with backups, so links survive a restore.

var keyUnsubSecret = []byte("unsubscribe_secret")

const unsubTagLen = 16

// UnsubscribeURL returns the one-click unsubscribe link of the user:
// Options.BaseURL + "/unsubscribe/" + token. It creates the signing secret
// the first time (one write); it returns "" only when the database cannot
// be read or written. Safe for concurrent use.
func (s *Service) UnsubscribeURL(userID uint64) string {
	tok, err := s.unsubscribeToken(userID)
	if err != nil {
		return ""
	}
	return s.opts.BaseURL + "/unsubscribe/" + tok
}

// UserForUnsubscribe returns the ID of the user an unsubscribe token was
// made for. A token that does not decode, was altered, or names a user who
// no longer exists yields apperr.NotFound; the tag is compared in constant
// time.
func (s *Service) UserForUnsubscribe(token string) (uint64, error) {
	bad := apperr.New(apperr.NotFound, "This unsubscribe link is not valid. Use the link of a recent message, or change your e-mail settings after logging in.")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) > 10+unsubTagLen {
		return 0, bad
	}
	id, n := binary.Uvarint(raw)
	if n <= 0 || id == 0 || len(raw)-n != unsubTagLen {
		return 0, bad
	}
	secret, err := s.db.ExistingSecret(bMeta, keyUnsubSecret)
	if err != nil {
		return 0, err
	}
	if len(secret) == 0 || !hmac.Equal(raw[n:], unsubTag(secret, id)) {
		return 0, bad
	}
	if _, err := s.users.ByID(id); err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return 0, bad
		}
		return 0, err
	}
	return id, nil
}

func (s *Service) unsubscribeToken(userID uint64) (string, error) {
	secret, err := s.unsubSecret()
	if err != nil {
		return "", err
	}
	b := binary.AppendUvarint(nil, userID)
	b = append(b, unsubTag(secret, userID)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func unsubTag(secret []byte, userID uint64) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("unsubscribe"))
	m.Write(store.Key(userID))
	return m.Sum(nil)[:unsubTagLen]
}

// unsubSecret reads the secret, creating it the first time.
func (s *Service) unsubSecret() ([]byte, error) { return s.db.Secret(bMeta, keyUnsubSecret) }
