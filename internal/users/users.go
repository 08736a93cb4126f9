// Package users owns projblog's local accounts: who the people are, how
// their passwords are hashed, their server-side sessions and the throttling
// of failed logins. It sits on floor 2 and imports only store, apperr and
// access from projblog.
//
// # Storage
//
// The package owns these bbolt buckets, created by New:
//
//	users              8-byte big-endian ID (NextSequence) -> User as JSON
//	users_by_email     lowercased email -> ID
//	users_by_handle    handle -> ID
//	sessions           sha256(token) -> session as JSON
//	users.feed_tokens  sha256(feed token) -> ID; one entry per user
//	users.meta         "feed_secret" -> 32 random bytes
//	users.api_tokens   sha256(API token) -> token record; see apitoken.go
//	users.api_tokens_by_user  user ID + token ID -> sha256(API token)
//
// (The buckets added later are named "users.*", like the posts package's.)
//
// Every public method opens one transaction; the secondary indexes change in
// the same transaction as the record. The two exceptions are the sliding
// renewal of a session (see Service.Session) and the first call of
// Service.FeedToken for a user, each a separate, rare write so that looking
// up a session or showing a feed URL stays a read.
//
// # Validation and limits
//
// Every text field must be valid UTF-8; invalid UTF-8 yields apperr.Invalid
// naming the field. Otherwise:
//
//   - email ("email"): trimmed and lowercased, at most 254 bytes, a bare
//     address that net/mail parses (name@example.com, not "Name <...>");
//     unique case-insensitively (apperr.Conflict, Field "email").
//   - name ("name"): 1 to 100 characters (runes) after trimming, no control
//     characters or line breaks.
//   - password ("password"): 10 to 72 bytes. 72 bytes is the most bcrypt
//     reads; a longer password would be silently cut, so it is refused.
//   - time zone ("timezone"): "" (UTC) or an IANA name that time.LoadLocation
//     knows, such as "Europe/Paris"; "Local" is refused because it means the
//     server's zone. The IANA database is embedded (time/tzdata), so the
//     answer does not depend on the host.
//   - language ("language"): "" (from the browser), "en" or "fr".
//
// A handle is derived from the email's local part when the account is
// created: lowercased, cut at a "+tag", every run of characters outside
// [a-z0-9._-] replaced by "-", trimmed of punctuation at either end, at most
// 30 bytes, "user" when nothing is left; "-2", "-3", ... is appended when
// it is taken. A handle never changes, so links to /people/{handle} and
// @mentions stay valid.
//
// # Login throttling
//
// Authenticate counts failed logins in memory, in sliding windows of 15
// minutes read from the injected clock: once a remote IP address (IPv6
// addresses grouped by /64) has 20 failures, or an account (the email as
// typed, known or not, so the limit does not reveal which emails exist) has
// 5, further attempts fail with apperr.TooMany, whose message says in how
// many minutes to try again, without checking the password. A successful
// login clears the account's counter. The counters live in one process and
// are lost on restart.
//
// # Events
//
// Creating, updating, deactivating and reactivating an account and
// regenerating its feed token append EventCreated, EventUpdated,
// EventDeactivated, EventReactivated and EventFeedTokenRegenerated to the
// event log in the same transaction. The API does not know who asked, so
// ActorID is the account the event is about; Data is EventData as JSON
// (never a token). Rotating the feed secret appends EventFeedSecretRotated,
// with neither ActorID nor Data. Password changes and sessions append no
// events.
//
// # Feed tokens
//
// Feed readers cannot log in, so each user has a personal feed token that
// the web layer embeds in their feed URLs (see feedtoken.go). The token must
// be shown again whenever a page lists the user's feed URLs, so it is not
// random-and-forgotten but derived:
//
//	"pbf_" + base32 (lowercase, unpadded) of the first 20 bytes of
//	HMAC-SHA256(secret, "feed-token\x00" + user ID + generation)
//
// with the ID and User.FeedTokenGeneration as 8 bytes big-endian each, and
// the secret 32 random bytes created by New in users.meta. Only
// sha256(token) is stored, one entry per user; a lookup finds the user by
// that hash, derives the user's current token again and compares the two in
// constant time. RegenerateFeedToken bumps the generation, which changes the
// token and removes the old hash in one transaction, so the old URLs stop
// working at once. A deactivated user's token is refused; reactivating the
// account makes the same token work again (regenerate it if that is not
// wanted).
//
// The secret lives in the database file on purpose: a backup carries it,
// so feed URLs keep working after a restore. The price is that anyone who
// holds the database file (or a backup) can derive every user's token and
// read every feed. After such a leak, an administrator calls
// RotateFeedSecret, which replaces the secret and so invalidates every feed
// token at once; each user then gets a new one.
//
// # Other ways to log in
//
// A password is one way for a person to prove who they are; Authenticate is
// that method and nothing else depends on it. Sessions and users do not
// record how someone logged in. A single sign-on method (OIDC) would add a
// bucket identities (provider + "\x00" + subject -> user ID) with
// LinkIdentity(userID, provider, subject) and ByIdentity(provider, subject);
// the web layer verifies the ID token, finds (or creates and links) the
// user, and calls CreateSession exactly as it does after Authenticate. An
// account without a password hash can never pass Authenticate.
package users

import (
	"encoding/json"
	"sync"
	"time"
	_ "time/tzdata" // time zones validate and load the same on every host

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Bucket names owned by this package.
const (
	bucketUsers         = "users"
	bucketUsersByEmail  = "users_by_email"
	bucketUsersByHandle = "users_by_handle"
	bucketSessions      = "sessions"
	bucketFeedTokens    = "users.feed_tokens"
	bucketMeta          = "users.meta"
)

// Event types appended to the event log.
const (
	EventCreated     = "user.created"     // a new account
	EventUpdated     = "user.updated"     // profile or administrator flag changed
	EventDeactivated = "user.deactivated" // the account can no longer log in
	EventReactivated = "user.reactivated" // a deactivated account is active again

	EventFeedTokenRegenerated = "user.feed_token_regenerated" // the user's old feed URLs stopped working
	EventFeedSecretRotated    = "user.feed_secret_rotated"    // every feed token stopped working
)

// EventData is the Data of the user events, as JSON.
type EventData struct {
	UserID uint64 `json:"user_id"`
	Handle string `json:"handle"`
	Name   string `json:"name"`
	Admin  bool   `json:"admin"`
	Active bool   `json:"active"`
}

// User is one local account. Users returned by the Service never carry
// PasswordHash; it is kept in storage only.
type User struct {
	ID       uint64
	Email    string // lowercased and trimmed; unique case-insensitively
	Name     string // display name
	Handle   string // unique, [a-z0-9._-]; /people/{handle} and @mentions
	Admin    bool
	Active   bool   // false = deactivated: cannot log in, sessions stop working
	TimeZone string // IANA name, "" = UTC
	Language string // "", "en" or "fr" ("" = from the browser)
	// ShowEmail is the user's consent to show their e-mail address to
	// readers of feeds (as the author of their posts). Off by default.
	ShowEmail bool `json:",omitempty"`
	// External marks an author known only from mail (an imported archive,
	// a message to a project): an account without a password, inactive, so
	// it cannot sign in and is sent nothing. An administrator makes it a
	// real account by setting a password and activating it.
	External     bool   `json:",omitempty"`
	PasswordHash []byte `json:",omitempty"`
	// FeedTokenGeneration counts the user's feed token regenerations; the
	// token is derived from it (see the package comment). Records written
	// before feed tokens existed decode as 0.
	FeedTokenGeneration uint64 `json:",omitempty"`
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// locations caches loaded time zones by name: Location is called for every
// rendered time and LoadLocation reads the zone database each time.
var locations sync.Map // string -> *time.Location

// Location returns the user's time zone, UTC when it is empty or does not
// load.
func (u *User) Location() *time.Location {
	if u == nil || u.TimeZone == "" {
		return time.UTC
	}
	if loc, ok := locations.Load(u.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(u.TimeZone)
	if err != nil {
		return time.UTC
	}
	locations.Store(u.TimeZone, loc)
	return loc
}

// Actor returns the user as access sees them.
func (u *User) Actor() access.Actor {
	if u == nil {
		return access.Anonymous
	}
	return access.Actor{UserID: u.ID, Admin: u.Admin}
}

// NewUser is what Create needs to make an account.
type NewUser struct {
	Email    string
	Name     string
	Password string
	Admin    bool
	TimeZone string
	Language string
}

// Profile is what a user edits about themselves.
type Profile struct {
	Name      string
	TimeZone  string
	Language  string
	ShowEmail bool // show the e-mail address as author in feeds
}

// Options tune New. The zero value gives the defaults.
type Options struct {
	Now        func() time.Time // default time.Now
	BcryptCost int              // default bcrypt.DefaultCost; tests use bcrypt.MinCost
	SessionTTL time.Duration    // default 30 days, sliding
}

// DefaultSessionTTL is how long a session lives after it was last renewed,
// when Options.SessionTTL is zero.
const DefaultSessionTTL = 30 * 24 * time.Hour

// Service is the users package's API. It is safe for concurrent use.
type Service struct {
	db         *store.DB
	now        func() time.Time
	cost       int
	ttl        time.Duration
	renewEvery time.Duration
	dummyHash  []byte // compared against for unknown emails, so timing tells nothing

	throttle *throttle

	purgeMu   sync.Mutex
	lastPurge time.Time

	sessions sessionCache
}

// update runs a write transaction, then marks every remembered session
// lookup stale (sessioncache.go): whatever it changed — an account, a
// session — is read from the database again.
func (s *Service) update(fn func(*bbolt.Tx) error) error {
	err := s.db.Bolt().Update(fn)
	s.sessions.invalidate()
	return err
}

// New creates the package's buckets if they are missing and returns the
// service. It returns apperr.Invalid for a bcrypt cost outside bcrypt's
// range or a negative session lifetime.
func New(db *store.DB, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.DefaultCost
	}
	if opts.BcryptCost < bcrypt.MinCost || opts.BcryptCost > bcrypt.MaxCost {
		return nil, apperr.New(apperr.Invalid, "The bcrypt cost must be between %d and %d.", bcrypt.MinCost, bcrypt.MaxCost)
	}
	if opts.SessionTTL < 0 {
		return nil, apperr.New(apperr.Invalid, "The session lifetime cannot be negative.")
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if err := db.EnsureBuckets(bucketUsers, bucketUsersByEmail, bucketUsersByHandle, bucketSessions,
		bucketFeedTokens, bucketMeta, bucketAPITokens, bucketAPITokensByUser); err != nil {
		return nil, err
	}
	if err := ensureFeedSecret(db); err != nil {
		return nil, err
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(randomPassword()), opts.BcryptCost)
	if err != nil {
		return nil, apperr.Wrap(err, "prepare password hashing")
	}
	s := &Service{
		db:         db,
		now:        opts.Now,
		cost:       opts.BcryptCost,
		ttl:        opts.SessionTTL,
		renewEvery: min(time.Hour, opts.SessionTTL/2),
		dummyHash:  dummy,
		throttle:   newThrottle(),
	}
	return s, nil
}

// clock returns the injected time in UTC, the zone everything is stored in.
func (s *Service) clock() time.Time { return s.now().UTC() }

func eventData(u *User) json.RawMessage {
	b, _ := json.Marshal(EventData{UserID: u.ID, Handle: u.Handle, Name: u.Name, Admin: u.Admin, Active: u.Active})
	return b
}
