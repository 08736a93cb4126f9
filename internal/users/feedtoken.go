package users

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"strings"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Personal feed tokens; the design and its trade-offs are in the package
// comment, "Feed tokens".

const (
	feedTokenPrefix = "pbf_" // so people (and secret scanners) recognise one
	feedTokenBytes  = 20     // of the HMAC: 160 bits, 32 base32 characters
	feedSecretBytes = 32
)

// feedTokenDomain separates this use of the secret from any later one.
const feedTokenDomain = "feed-token\x00"

var keyFeedSecret = []byte("feed_secret")

// feedTokenEncoding is lowercase base32 without padding: URL-safe, easy to
// read aloud, and 20 bytes fill 32 characters exactly, so every token has
// one spelling.
var feedTokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// feedTokenLen is the length of every feed token.
var feedTokenLen = len(feedTokenPrefix) + feedTokenEncoding.EncodedLen(feedTokenBytes)

// errNoFeed is the one answer for every token that does not work, so the
// answer does not tell an unknown token from a deactivated user's.
func errNoFeed() error { return apperr.New(apperr.NotFound, "No such feed.") }

// FeedToken returns the user's current personal feed token, creating it on
// first use, and apperr.NotFound for no such user. The same token is
// returned on every call until RegenerateFeedToken or RotateFeedSecret
// replaces it, so pages can show the user's feed URLs at any time. A
// deactivated user has a token too, but UserByFeedToken refuses it while
// the account is deactivated.
//
// The first call for a user writes the token's hash (a write transaction);
// later calls are reads. It is safe for concurrent use.
func (s *Service) FeedToken(userID uint64) (string, error) {
	var token string
	indexed := false
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, userID)
		if err != nil {
			return err
		}
		if token, err = currentFeedToken(tx, u); err != nil {
			return err
		}
		key, _ := feedTokenKey(token)
		indexed = store.U64(tx.Bucket([]byte(bucketFeedTokens)).Get(key)) == userID
		return nil
	})
	if err != nil {
		return "", err
	}
	if indexed {
		return token, nil
	}
	// First use (or first since the secret was rotated). The token is
	// derived again inside the write transaction: a regeneration or a
	// rotation may have committed in between.
	err = s.update(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, userID)
		if err != nil {
			return err
		}
		if token, err = currentFeedToken(tx, u); err != nil {
			return err
		}
		key, _ := feedTokenKey(token)
		b := tx.Bucket([]byte(bucketFeedTokens))
		if store.U64(b.Get(key)) == userID {
			return errNoChange // a concurrent first call wrote it
		}
		if err := b.Put(key, store.Key(userID)); err != nil {
			return apperr.Wrap(err, "store feed token of user %d", userID)
		}
		return nil
	})
	if err = noChange(err); err != nil {
		return "", err
	}
	return token, nil
}

// RegenerateFeedToken replaces the user's feed token and returns the new
// one; the old token stops working at once. It appends
// EventFeedTokenRegenerated (which carries no token) in the same
// transaction, so caches keyed by the event log's head drop pages bound to
// the old token. It returns apperr.NotFound for no such user.
func (s *Service) RegenerateFeedToken(userID uint64) (token string, err error) {
	err = s.update(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, userID)
		if err != nil {
			return err
		}
		secret, err := feedSecret(tx)
		if err != nil {
			return err
		}
		b := tx.Bucket([]byte(bucketFeedTokens))
		oldKey, _ := feedTokenKey(deriveFeedToken(secret, u.ID, u.FeedTokenGeneration))
		if err := b.Delete(oldKey); err != nil {
			return apperr.Wrap(err, "delete feed token of user %d", userID)
		}
		u.FeedTokenGeneration++
		u.UpdatedAt = s.clock()
		if err := putUser(tx, u); err != nil {
			return err
		}
		token = deriveFeedToken(secret, u.ID, u.FeedTokenGeneration)
		key, _ := feedTokenKey(token)
		if err := b.Put(key, store.Key(u.ID)); err != nil {
			return apperr.Wrap(err, "store feed token of user %d", userID)
		}
		return s.appendEvent(tx, EventFeedTokenRegenerated, u)
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// UserByFeedToken returns the active user whose current feed token this is.
// An unknown, malformed or regenerated-away token, a token from before
// RotateFeedSecret, or the token of a deactivated user all yield
// apperr.NotFound "No such feed.", so the web layer answers 404 without
// revealing which. The token is compared in constant time. It opens one
// read transaction and is safe for concurrent use.
func (s *Service) UserByFeedToken(token string) (*User, error) {
	key, ok := feedTokenKey(token)
	if !ok {
		return nil, errNoFeed()
	}
	var u *User
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		id := tx.Bucket([]byte(bucketFeedTokens)).Get(key)
		if id == nil {
			return errNoFeed()
		}
		var err error
		if u, err = getUser(tx, store.U64(id)); err != nil {
			return err
		}
		if u == nil || !u.Active {
			return errNoFeed()
		}
		// The index alone would do; deriving the current token again makes
		// a stale entry (one a bug failed to remove) harmless.
		want, err := currentFeedToken(tx, u)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
			return errNoFeed()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return public(u), nil
}

// RotateFeedSecret replaces the secret feed tokens are derived from, which
// invalidates every user's feed token at once; each user's next FeedToken
// is a new one. It is for an administrator after the database file or a
// backup of it leaked (see the package comment). It appends
// EventFeedSecretRotated in the same transaction.
func (s *Service) RotateFeedSecret() error {
	return s.update(func(tx *bbolt.Tx) error {
		// Emptying the index by recreating it frees its pages at once;
		// the entries are useless under the new secret.
		if err := tx.DeleteBucket([]byte(bucketFeedTokens)); err != nil {
			return apperr.Wrap(err, "empty bucket %s", bucketFeedTokens)
		}
		if _, err := tx.CreateBucket([]byte(bucketFeedTokens)); err != nil {
			return apperr.Wrap(err, "create bucket %s", bucketFeedTokens)
		}
		if err := putFeedSecret(tx); err != nil {
			return err
		}
		_, err := s.db.AppendEvent(tx, store.Event{Type: EventFeedSecretRotated, Time: s.clock()})
		return err
	})
}

// ensureFeedSecret creates the feed secret when the database has none yet.
func ensureFeedSecret(db *store.DB) error {
	err := db.Bolt().Update(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte(bucketMeta)).Get(keyFeedSecret) != nil {
			return errNoChange
		}
		return putFeedSecret(tx)
	})
	return noChange(err)
}

// putFeedSecret stores a new random secret.
func putFeedSecret(tx *bbolt.Tx) error {
	secret := make([]byte, feedSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return apperr.Wrap(err, "feed token secret")
	}
	if err := tx.Bucket([]byte(bucketMeta)).Put(keyFeedSecret, secret); err != nil {
		return apperr.Wrap(err, "store feed token secret")
	}
	return nil
}

// feedSecret returns the stored secret. It aliases the transaction's
// memory, so it must not be kept after tx ends.
func feedSecret(tx *bbolt.Tx) ([]byte, error) {
	v := tx.Bucket([]byte(bucketMeta)).Get(keyFeedSecret)
	if len(v) != feedSecretBytes {
		return nil, apperr.New(apperr.Internal, "The feed token secret is missing or damaged (%d bytes).", len(v))
	}
	return v, nil
}

// currentFeedToken derives u's token under the stored secret.
func currentFeedToken(tx *bbolt.Tx, u *User) (string, error) {
	secret, err := feedSecret(tx)
	if err != nil {
		return "", err
	}
	return deriveFeedToken(secret, u.ID, u.FeedTokenGeneration), nil
}

// deriveFeedToken returns the token of user id at generation gen.
func deriveFeedToken(secret []byte, id, gen uint64) string {
	var msg [len(feedTokenDomain) + 16]byte
	n := copy(msg[:], feedTokenDomain)
	binary.BigEndian.PutUint64(msg[n:], id)
	binary.BigEndian.PutUint64(msg[n+8:], gen)
	mac := hmac.New(sha256.New, secret)
	mac.Write(msg[:])
	return feedTokenPrefix + feedTokenEncoding.EncodeToString(mac.Sum(nil)[:feedTokenBytes])
}

// feedTokenKey returns sha256(token), the only form of a feed token that is
// stored, and false when token cannot be one of ours, so that garbage never
// reaches the database.
func feedTokenKey(token string) ([]byte, bool) {
	return prefixedTokenKey(token, feedTokenPrefix, feedTokenLen, feedTokenBytes)
}

// prefixedTokenKey returns sha256(token) for a token of the form prefix +
// the base32 of rawBytes random bytes, totalLen characters in all (feed
// and API tokens), and false for anything else.
func prefixedTokenKey(token, prefix string, totalLen, rawBytes int) ([]byte, bool) {
	if len(token) != totalLen {
		return nil, false
	}
	body, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return nil, false
	}
	// The decoder skips line breaks, so the decoded length is checked too.
	if raw, err := feedTokenEncoding.DecodeString(body); err != nil || len(raw) != rawBytes {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:], true
}
