package users

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Personal API tokens.
//
// Scripts (a CI job posting release notes, a weekly-numbers cron) call the
// JSON API with a personal API token instead of a session. A token acts as
// the person who created it, with exactly their access, narrowed by its
// scope: ScopeRead only reads, ScopeWrite also writes.
//
// A token is "pba_" followed by the lowercase, unpadded base32 of 32
// random bytes (56 characters in all). It is shown once, when it is
// created: only sha256(token) is stored, so nobody — not an administrator,
// not someone holding a backup — can read a token back. Unlike a feed token
// it is not derived from anything, so there is nothing to rotate.
//
// Storage:
//
//	users.api_tokens          sha256(token) -> apiTokenRec as JSON; the bucket's
//	                          sequence numbers the tokens
//	users.api_tokens_by_user  Key(user ID) + Key(token ID) -> sha256(token)
//
// A lookup finds the record by the hash, then compares the stored hash
// with the token's in constant time. Revoking a token deletes both entries
// in one transaction, so it stops working at once. Changing a password
// does not revoke tokens (they are meant to outlive a password rotation);
// deactivating the account makes every token of it fail, and reactivating
// it makes them work again (revoke them first if that is not wanted).
//
// LastUsedAt tells a person which tokens are still in use. So that
// checking a token stays a read, it is written at most once an hour per
// token (apiTokenTouchEvery), in a second, short write transaction, and it
// appends no event.
//
// Events (ActorID is the token's owner; Data is APITokenEventData, never
// the token): EventAPITokenCreated and EventAPITokenRevoked, in the same
// transaction as the change.

// APIScope says what an API token may do.
type APIScope string

// The scopes. A write token may also read.
const (
	ScopeRead  APIScope = "read"
	ScopeWrite APIScope = "write"
)

// Valid reports whether s is one of the scopes.
func (s APIScope) Valid() bool { return s == ScopeRead || s == ScopeWrite }

// Allows reports whether a token of scope s may do what needs scope need.
func (s APIScope) Allows(need APIScope) bool {
	switch need {
	case ScopeRead:
		return s == ScopeRead || s == ScopeWrite
	case ScopeWrite:
		return s == ScopeWrite
	}
	return false
}

// Limits of API tokens.
const (
	MaxAPITokens         = 50  // live tokens per user
	MaxAPITokenNameRunes = 100 // longest token name, in characters (runes)
)

// Event types of API tokens.
const (
	EventAPITokenCreated = "user.api_token_created"
	EventAPITokenRevoked = "user.api_token_revoked"
)

// APITokenEventData is the Data of the API token events, as JSON. It never
// carries the token or its hash.
type APITokenEventData struct {
	UserID  uint64   `json:"user_id"`
	TokenID uint64   `json:"token_id"`
	Name    string   `json:"name"`
	Scope   APIScope `json:"scope"`
}

// APIToken is what may be shown about a token: everything but the token.
type APIToken struct {
	ID         uint64
	UserID     uint64
	Name       string
	Scope      APIScope
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used; updated at most once an hour
}

const (
	bucketAPITokens       = "users.api_tokens"
	bucketAPITokensByUser = "users.api_tokens_by_user"

	apiTokenPrefix = "pba_" // so people (and secret scanners) recognise one
	apiTokenBytes  = 32

	// apiTokenTouchEvery is how stale LastUsedAt may get before a lookup
	// writes it.
	apiTokenTouchEvery = time.Hour
)

// apiTokenLen is the length of every API token.
var apiTokenLen = len(apiTokenPrefix) + feedTokenEncoding.EncodedLen(apiTokenBytes)

// apiTokenRec is the stored form of an API token.
type apiTokenRec struct {
	ID         uint64    `json:"id"`
	UserID     uint64    `json:"user_id"`
	Name       string    `json:"name"`
	Scope      APIScope  `json:"scope"`
	Hash       []byte    `json:"hash"` // sha256(token), also the record's key
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func (r *apiTokenRec) token() APIToken {
	return APIToken{ID: r.ID, UserID: r.UserID, Name: r.Name, Scope: r.Scope, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt}
}

// errBadAPIToken is the one answer for a token that is malformed, unknown
// or revoked, so the answer does not tell them apart.
func errBadAPIToken() error {
	return apperr.New(apperr.Unauthorized, "This API token is not valid: it is mistyped, unknown or revoked.")
}

func errNoAPIToken() error { return apperr.New(apperr.NotFound, "No such API token.") }

// apiTokenKey returns sha256(token), the only form of an API token that is
// stored, and false when token cannot be one of ours, so that garbage never
// reaches the database.
func apiTokenKey(token string) ([]byte, bool) {
	return prefixedTokenKey(token, apiTokenPrefix, apiTokenLen, apiTokenBytes)
}

func apiTokenIndexKey(userID, tokenID uint64) []byte {
	return append(store.Key(userID), store.Key(tokenID)...)
}

// validAPITokenName returns the trimmed name or an Invalid error for "name".
func validAPITokenName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", apperr.FieldErr("name", "The token name contains invalid characters.")
	}
	n := strings.TrimSpace(name)
	if n == "" {
		return "", apperr.FieldErr("name", "Give the token a name that says where it is used, like “CI release notes”.")
	}
	if utf8.RuneCountInString(n) > MaxAPITokenNameRunes {
		return "", apperr.FieldErr("name", "The token name is too long; it can have at most %d characters.", MaxAPITokenNameRunes)
	}
	for _, r := range n {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return "", apperr.FieldErr("name", "The token name cannot contain line breaks, tabs or other control characters.")
		}
	}
	return n, nil
}

func getAPIToken(tx *bbolt.Tx, key []byte) (*apiTokenRec, error) {
	v := tx.Bucket([]byte(bucketAPITokens)).Get(key)
	if v == nil {
		return nil, nil
	}
	var r apiTokenRec
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, apperr.Wrap(err, "decode API token")
	}
	return &r, nil
}

func putAPIToken(tx *bbolt.Tx, r *apiTokenRec) error {
	v, err := json.Marshal(r)
	if err != nil {
		return apperr.Wrap(err, "encode API token %d", r.ID)
	}
	if err := tx.Bucket([]byte(bucketAPITokens)).Put(r.Hash, v); err != nil {
		return apperr.Wrap(err, "store API token %d", r.ID)
	}
	return nil
}

func (s *Service) appendAPITokenEvent(tx *bbolt.Tx, typ string, r *apiTokenRec, at time.Time) error {
	data, err := json.Marshal(APITokenEventData{UserID: r.UserID, TokenID: r.ID, Name: r.Name, Scope: r.Scope})
	if err != nil {
		return apperr.Wrap(err, "encode %s event", typ)
	}
	_, err = s.db.AppendEvent(tx, store.Event{Type: typ, ActorID: r.UserID, Time: at, Data: data})
	return err
}

// CreateAPIToken makes a new API token for an active user and returns it
// with its description. The token is returned only here: it is not
// stored, so the caller must show it now. It returns apperr.Invalid with
// Field "name" (1 to MaxAPITokenNameRunes characters, one line) or
// "scope" (ScopeRead or ScopeWrite), apperr.NotFound for no such user,
// apperr.Unauthorized for a deactivated one, and apperr.Conflict when the
// user already has MaxAPITokens tokens. It appends EventAPITokenCreated in
// the same transaction. It is safe for concurrent use.
func (s *Service) CreateAPIToken(userID uint64, name string, scope APIScope) (token string, t *APIToken, err error) {
	name, err = validAPITokenName(name)
	if err != nil {
		return "", nil, err
	}
	if !scope.Valid() {
		return "", nil, apperr.FieldErr("scope", "The scope must be “read” or “write”.")
	}
	raw := make([]byte, apiTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, apperr.Wrap(err, "API token")
	}
	token = apiTokenPrefix + feedTokenEncoding.EncodeToString(raw)
	key, _ := apiTokenKey(token)
	now := s.clock()
	err = s.update(func(tx *bbolt.Tx) error {
		u, err := mustGetUser(tx, userID)
		if err != nil {
			return err
		}
		if !u.Active {
			return apperr.New(apperr.Unauthorized, "This account is deactivated.")
		}
		idx := tx.Bucket([]byte(bucketAPITokensByUser))
		prefix := store.Key(userID)
		n := 0
		c := idx.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		if n >= MaxAPITokens {
			return apperr.New(apperr.Conflict, "There are already %d API tokens, the most one person may have; revoke one that is no longer used first.", MaxAPITokens)
		}
		b := tx.Bucket([]byte(bucketAPITokens))
		if b.Get(key) != nil {
			// 256 random bits do not collide; a broken random source would.
			return apperr.New(apperr.Internal, "a new API token collides with an existing one")
		}
		id, err := b.NextSequence()
		if err != nil {
			return apperr.Wrap(err, "API token sequence")
		}
		r := &apiTokenRec{ID: id, UserID: userID, Name: name, Scope: scope, Hash: key, CreatedAt: now}
		if err := putAPIToken(tx, r); err != nil {
			return err
		}
		if err := idx.Put(apiTokenIndexKey(userID, id), key); err != nil {
			return apperr.Wrap(err, "index API token %d", id)
		}
		tok := r.token()
		t = &tok
		return s.appendAPITokenEvent(tx, EventAPITokenCreated, r, now)
	})
	if err != nil {
		return "", nil, err
	}
	return token, t, nil
}

// APITokens returns the user's tokens, newest first (never the tokens
// themselves), and apperr.NotFound for no such user.
func (s *Service) APITokens(userID uint64) ([]APIToken, error) {
	var out []APIToken
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		if _, err := mustGetUser(tx, userID); err != nil {
			return err
		}
		prefix := store.Key(userID)
		c := tx.Bucket([]byte(bucketAPITokensByUser)).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r, err := getAPIToken(tx, v)
			if err != nil {
				return err
			}
			if r == nil {
				return apperr.New(apperr.Internal, "API token index of user %d points at a missing token %d", userID, store.U64(k[8:]))
			}
			out = append(out, r.token())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The index walks in ID order, which is creation order.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// RevokeAPIToken deletes one of the user's tokens; it stops working at
// once. A token ID that is not one of this user's tokens (someone else's,
// or already revoked) is apperr.NotFound, so nobody learns about others'
// tokens. It appends EventAPITokenRevoked in the same transaction.
func (s *Service) RevokeAPIToken(userID, tokenID uint64) error {
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		idx := tx.Bucket([]byte(bucketAPITokensByUser))
		ik := apiTokenIndexKey(userID, tokenID)
		hash := idx.Get(ik)
		if hash == nil {
			return errNoAPIToken()
		}
		key := bytes.Clone(hash)
		r, err := getAPIToken(tx, key)
		if err != nil {
			return err
		}
		if err := idx.Delete(ik); err != nil {
			return apperr.Wrap(err, "unindex API token %d", tokenID)
		}
		if r == nil {
			// A dangling index entry (a bug) is cleaned up without an event.
			return nil
		}
		if err := tx.Bucket([]byte(bucketAPITokens)).Delete(key); err != nil {
			return apperr.Wrap(err, "delete API token %d", tokenID)
		}
		return s.appendAPITokenEvent(tx, EventAPITokenRevoked, r, now)
	})
}

// UserByAPIToken returns the active user an API token belongs to and the
// token's scope. A malformed, unknown or revoked token is
// apperr.Unauthorized "This API token is not valid: …"; a token whose
// account is deactivated is apperr.Unauthorized too, with a message that
// says so. The stored hash is compared in constant time. Looking a token
// up is a read, except at most once an hour per token, when LastUsedAt is
// brought up to date in a second, short write transaction. It is safe for
// concurrent use.
func (s *Service) UserByAPIToken(token string) (*User, APIScope, error) {
	key, ok := apiTokenKey(token)
	if !ok {
		return nil, "", errBadAPIToken()
	}
	now := s.clock()
	var (
		u     *User
		scope APIScope
		touch bool
	)
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		r, err := getAPIToken(tx, key)
		if err != nil {
			return err
		}
		// The bucket lookup found the record by its hash; comparing the
		// hash again in constant time keeps the final check free of
		// timing differences whatever the storage does.
		if r == nil || subtle.ConstantTimeCompare(r.Hash, key) != 1 {
			return errBadAPIToken()
		}
		if u, err = getUser(tx, r.UserID); err != nil {
			return err
		}
		if u == nil {
			return errBadAPIToken()
		}
		if !u.Active {
			return apperr.New(apperr.Unauthorized, "The account this API token belongs to is deactivated.")
		}
		scope = r.Scope
		touch = r.LastUsedAt.IsZero() || now.Sub(r.LastUsedAt) >= apiTokenTouchEvery
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if touch {
		if err := s.touchAPIToken(key, now); err != nil {
			return nil, "", err
		}
	}
	return public(u), scope, nil
}

// touchAPIToken records a use of the token. Concurrent requests may all
// decide to; the first writes and the others find nothing to do. A token
// revoked meanwhile is left alone: the request that used it had been let
// in just before.
func (s *Service) touchAPIToken(key []byte, now time.Time) error {
	err := s.update(func(tx *bbolt.Tx) error {
		r, err := getAPIToken(tx, key)
		if err != nil {
			return err
		}
		if r == nil || (!r.LastUsedAt.IsZero() && now.Sub(r.LastUsedAt) < apiTokenTouchEvery) {
			return errNoChange
		}
		r.LastUsedAt = now
		return putAPIToken(tx, r)
	})
	return noChange(err)
}
