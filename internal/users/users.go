// Package users owns projblog's local accounts: who the people are, how
// their passwords are hashed, their server-side sessions and the throttling
// of failed logins. It sits on floor 2 and imports only store, apperr and
// access from projblog.
//
// # Storage
//
// The package owns these bbolt buckets, created by New:
//
//	users            8-byte big-endian ID (NextSequence) -> User as JSON
//	users_by_email   lowercased email -> ID
//	users_by_handle  handle -> ID
//	sessions         sha256(token) -> session as JSON
//
// Every public method opens one transaction; the secondary indexes change in
// the same transaction as the record. The one exception is the sliding
// renewal of a session (see Service.Session), which is a separate, rare
// write so that looking up a session stays a read.
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
// Creating, updating, deactivating and reactivating an account append
// EventCreated, EventUpdated, EventDeactivated and EventReactivated to the
// event log in the same transaction. The API does not know who asked, so
// ActorID is the account the event is about; Data is EventData as JSON.
// Password changes and sessions append no events.
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
)

// Event types appended to the event log.
const (
	EventCreated     = "user.created"     // a new account
	EventUpdated     = "user.updated"     // profile or administrator flag changed
	EventDeactivated = "user.deactivated" // the account can no longer log in
	EventReactivated = "user.reactivated" // a deactivated account is active again
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
	ID           uint64
	Email        string // lowercased and trimmed; unique case-insensitively
	Name         string // display name
	Handle       string // unique, [a-z0-9._-]; /people/{handle} and @mentions
	Admin        bool
	Active       bool   // false = deactivated: cannot log in, sessions stop working
	TimeZone     string // IANA name, "" = UTC
	Language     string // "", "en" or "fr" ("" = from the browser)
	PasswordHash []byte `json:",omitempty"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
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
	Name     string
	TimeZone string
	Language string
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
	if err := db.EnsureBuckets(bucketUsers, bucketUsersByEmail, bucketUsersByHandle, bucketSessions); err != nil {
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
