package notify

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// Guest subscribers.
//
// A project's owners (access.ManageProject: owners and admins) add an
// outside e-mail address — a client, an executive without an account — as
// a read-only subscriber of the project: a guest. A guest
//
//   - receives the project's digest by e-mail: weekly (Monday 08:00) by
//     default, or daily at 08:00, as the owner chose, in the time zone and
//     language of the owner who added them (a guest has no settings page);
//     an empty digest is not sent, and each digest is sent at most once
//     per guest and window, across crashes too (the outbox's keys, like
//     members' digests);
//   - gets, in a welcome message when added and in every digest, a MAGIC
//     LINK (BaseURL/guest/TOKEN) that lets them read the project in a
//     browser without a password, and a personal feed link
//     (BaseURL/p/PROJECT/feed.atom?token=TOKEN) for a feed reader;
//   - unsubscribes from the e-mail with one click (RFC 8058), without a
//     login, like members (GuestUnsubscribeURL); the owner sees it on the
//     list.
//
// What the token grants is decided in ONE place, package access: the web
// layer turns a valid token into access.Actor{GuestOf: projectID}, which
// reads that project exactly as a viewer would (its pages, posts,
// comments and feeds) and nothing else: no comment, no reaction, no post;
// every other private or internal project stays NotFound. After the first
// visit the token lives in an HttpOnly cookie.
//
// # Tokens
//
// Like members' feed tokens (package users), a guest's token is derived,
// not stored, so every digest can carry it again:
//
//	"pbg_" + base32 (lowercase, unpadded) of the first 20 bytes of
//	HMAC-SHA256(secret, "guest-token\x00" + Key(guestID) + Key(generation))
//
// with secret 32 random bytes in notify.meta "guest_secret", created the
// first time a guest is added. Only sha256(token) is stored, as the key of
// an index to the guest; a lookup finds the guest by that hash, derives
// their current token again and compares the two in constant time. The
// token has no expiry of its own: it works exactly as long as the guest is
// on the project's list, so a link in an old digest still opens the
// project. REVOCATION: RemoveGuest deletes the guest and the hash in one
// transaction, so the magic link, the feed link and every browser cookie
// made from them stop working at the next request; RenewGuestLink bumps
// the generation, which kills the old links the same way and mails the
// new one. The secret lives in the database (a backup carries it, so links
// survive a restore); whoever holds the file can derive every guest's
// token, as for feed tokens.
//
// # Limits
//
// MaxGuests (200) per project. The address must be one bare address
// (users.ValidEmail) and not an account's: a person with an account is
// added as a viewer instead (they then have their own settings). Adding an
// address twice is Conflict.
//
// # Storage
//
//	notify.guests       Key(projectID) + Key(guestID) -> Guest (JSON); IDs from the bucket's sequence
//	notify.guest_tokens sha256(token)                 -> Key(projectID) + Key(guestID)
//	notify.meta         "guest_secret"                -> 32 random bytes
//
// Events (ActorID the owner acting, ProjectID the project; the guest's
// own unsubscribe has ActorID 0), appended in the transaction of the
// write, so that anything cached for the guest's view is stale at once:
//
//	notify.guest_added      {"guest_id"}
//	notify.guest_removed    {"guest_id"}
//	notify.guest_renewed    {"guest_id"}
//	notify.guest_email_off  {"guest_id"}

// Event types appended by this file.
const (
	EventGuestAdded    = "notify.guest_added"
	EventGuestRemoved  = "notify.guest_removed"
	EventGuestRenewed  = "notify.guest_renewed"
	EventGuestEmailOff = "notify.guest_email_off"
)

// MaxGuests is how many guest subscribers one project may have.
const MaxGuests = 200

// GuestTokenPrefix starts every guest token (so that people and secret
// scanners recognise one, and feed URLs tell it from a member's token).
const GuestTokenPrefix = "pbg_"

// GuestCookie is the name of the browser cookie that holds a guest's
// token after their first visit through the magic link.
const GuestCookie = "projblog_guest"

const (
	guestTokenBytes  = 20
	guestTokenDomain = "guest-token\x00"
)

var (
	bGuests      = []byte("notify.guests")
	bGuestTokens = []byte("notify.guest_tokens")

	keyGuestSecret = []byte("guest_secret")

	guestTokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	guestTokenLen      = len(GuestTokenPrefix) + guestTokenEncoding.EncodedLen(guestTokenBytes)
)

// Guest is one guest subscriber of one project.
type Guest struct {
	ID         uint64    `json:"id"`
	ProjectID  uint64    `json:"project_id"`
	Email      string    `json:"email"`
	Mode       Mode      `json:"mode"`                // Weekly or Daily
	Language   string    `json:"language,omitempty"`  // of the digests; "" English
	TimeZone   string    `json:"time_zone,omitempty"` // of the digests; "" UTC
	AddedBy    uint64    `json:"added_by"`
	AddedAt    time.Time `json:"added_at"`
	EmailOff   bool      `json:"email_off,omitempty"` // unsubscribed with one click
	Generation uint64    `json:"generation"`          // of the token; bumped by RenewGuestLink
}

// Location is the time zone of the guest's digests.
func (g *Guest) Location() *time.Location {
	u := &users.User{TimeZone: g.TimeZone}
	return u.Location()
}

// GuestGrant is what a valid guest token grants: reading one project.
type GuestGrant struct {
	GuestID, ProjectID       uint64
	Email                    string
	ProjectSlug, ProjectName string
}

// Actor is the access actor of the grant's holder.
func (g *GuestGrant) Actor() access.Actor { return access.Actor{GuestOf: g.ProjectID} }

func guestKey(projectID, guestID uint64) []byte {
	return append(store.Key(projectID), store.Key(guestID)...)
}

func guestTokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func deriveGuestToken(secret []byte, guestID, generation uint64) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(guestTokenDomain))
	m.Write(store.Key(guestID))
	m.Write(store.Key(generation))
	return GuestTokenPrefix + guestTokenEncoding.EncodeToString(m.Sum(nil)[:guestTokenBytes])
}

// guestSecret reads the secret, creating it the first time (checked again
// inside the write transaction, so two callers agree on one).
func (s *Service) guestSecret() ([]byte, error) { return s.db.Secret(bMeta, keyGuestSecret) }

// mustGetGuest is getGuest with NotFound for a guest not on the list.
func mustGetGuest(tx *bbolt.Tx, projectID, guestID uint64) (*Guest, error) {
	g, err := getGuest(tx, projectID, guestID)
	if err == nil && g == nil {
		err = errNoGuest()
	}
	return g, err
}

func getGuest(tx *bbolt.Tx, projectID, guestID uint64) (*Guest, error) {
	v := tx.Bucket(bGuests).Get(guestKey(projectID, guestID))
	if v == nil {
		return nil, nil
	}
	var g Guest
	if err := json.Unmarshal(v, &g); err != nil {
		return nil, apperr.Wrap(err, "decode guest %d", guestID)
	}
	return &g, nil
}

func errNoGuest() error { return apperr.New(apperr.NotFound, "No such guest in this project.") }

// GuestToken returns the guest's current token (for their links). It
// creates the secret on first use.
func (s *Service) GuestToken(g *Guest) (string, error) {
	secret, err := s.guestSecret()
	if err != nil {
		return "", err
	}
	return deriveGuestToken(secret, g.ID, g.Generation), nil
}

// GuestMagicURL is the guest's magic link: BaseURL/guest/TOKEN.
func (s *Service) GuestMagicURL(token string) string {
	return strings.TrimSuffix(s.opts.BaseURL, "/") + "/guest/" + token
}

// GuestFeedURL is the guest's personal Atom feed of the project.
func (s *Service) GuestFeedURL(projectSlug, token string) string {
	return strings.TrimSuffix(s.opts.BaseURL, "/") + "/p/" + projectSlug + "/feed.atom?token=" + token
}

// AddGuest adds email as a guest subscriber of the project, with mode
// Weekly ("" means Weekly) or Daily, and queues a welcome message with
// their links (outbox key "guest-welcome/GUESTID/GENERATION"). The
// digests use the time zone and language of the owner who adds them.
// Errors: NotFound when the actor may not read the project; Unauthorized
// or Forbidden when they may not manage it; Invalid with Field
// "guest_email" for an address that is not one, or one of an account, and
// with Field "guest_mode" for another mode; Conflict (Field
// "guest_email") for an address on the list already or when the project
// has MaxGuests guests. Event: notify.guest_added.
func (s *Service) AddGuest(actor access.Actor, projectSlug, email string, mode Mode) (*Guest, error) {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return nil, err
	}
	if mode == "" {
		mode = Weekly
	}
	if mode != Weekly && mode != Daily {
		return nil, apperr.FieldErr("guest_mode", "A guest receives the weekly or the daily digest.")
	}
	addr, err := users.ValidEmail(email)
	if err != nil {
		var e *apperr.Error
		if errors.As(err, &e) {
			return nil, &apperr.Error{Code: e.Code, Field: "guest_email", Message: e.Message}
		}
		return nil, err
	}
	if _, err := s.users.ByEmail(addr); err == nil {
		return nil, apperr.FieldErr("guest_email", "%s has an account here: add them as a viewer under Members instead.", addr)
	}
	var owner *users.User
	if actor.LoggedIn() {
		if owner, err = s.users.ByID(actor.UserID); err != nil {
			return nil, err
		}
	}
	secret, err := s.guestSecret()
	if err != nil {
		return nil, err
	}
	unsub, err := s.unsubSecret()
	if err != nil {
		return nil, err
	}
	now := s.now()
	g := &Guest{ProjectID: pv.ID, Email: addr, Mode: mode, AddedBy: actor.UserID, AddedAt: now, Generation: 1}
	if owner != nil {
		g.Language, g.TimeZone = owner.Language, owner.TimeZone
	}
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bGuests)
		prefix := store.Key(pv.ID)
		n := 0
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var other Guest
			if json.Unmarshal(v, &other) == nil && other.Email == addr {
				return &apperr.Error{Code: apperr.Conflict, Field: "guest_email", Message: addr + " is a guest of this project already."}
			}
			n++
		}
		if n >= MaxGuests {
			return &apperr.Error{Code: apperr.Conflict, Field: "guest_email",
				Message: "This project has " + strconv.Itoa(MaxGuests) + " guests, the most it may have; remove one first."}
		}
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		g.ID = id
		if err := putJSON(b, guestKey(pv.ID, id), g); err != nil {
			return err
		}
		token := deriveGuestToken(secret, g.ID, g.Generation)
		if err := tx.Bucket(bGuestTokens).Put(guestTokenHash(token), guestKey(pv.ID, id)); err != nil {
			return err
		}
		m, err := s.composeGuestWelcome(g, pv, owner, token, s.guestUnsubURL(unsub, g))
		if err != nil {
			return err
		}
		if _, err := s.enqueueTx(tx, guestWelcomeKey(g), m); err != nil {
			return err
		}
		return s.appendEvent(tx, EventGuestAdded, actor.UserID, pv.ID, map[string]any{"guest_id": id})
	})
	if err != nil {
		return nil, webhookErr(err, "add guest %s", addr)
	}
	return g, nil
}

func guestWelcomeKey(g *Guest) string {
	return "guest-welcome/" + strconv.FormatUint(g.ID, 10) + "/" + strconv.FormatUint(g.Generation, 10)
}

// Guests returns the project's guests, by address. Errors as AddGuest's
// for access.
func (s *Service) Guests(actor access.Actor, projectSlug string) ([]Guest, error) {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return nil, err
	}
	var out []Guest
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(pv.ID)
		c := tx.Bucket(bGuests).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var g Guest
			if err := json.Unmarshal(v, &g); err != nil {
				return apperr.Wrap(err, "decode guest %d", store.U64(k[8:]))
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, webhookErr(err, "read the guests")
	}
	slices.SortFunc(out, func(a, b Guest) int { return cmp.Compare(a.Email, b.Email) })
	return out, nil
}

// RemoveGuest removes a guest from the project: their magic link, feed
// link and browser cookie stop working at once, and they receive nothing
// more (a message already in the outbox still goes). Errors: as AddGuest's
// for access; NotFound for a guest not on this project's list. Event:
// notify.guest_removed.
func (s *Service) RemoveGuest(actor access.Actor, projectSlug string, guestID uint64) error {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return err
	}
	secret, err := s.guestSecret()
	if err != nil {
		return err
	}
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		g, err := mustGetGuest(tx, pv.ID, guestID)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bGuests).Delete(guestKey(pv.ID, guestID)); err != nil {
			return err
		}
		if err := tx.Bucket(bGuestTokens).Delete(guestTokenHash(deriveGuestToken(secret, g.ID, g.Generation))); err != nil {
			return err
		}
		return s.appendEvent(tx, EventGuestRemoved, actor.UserID, pv.ID, map[string]any{"guest_id": guestID})
	})
	return webhookErr(err, "remove guest %d", guestID)
}

// RenewGuestLink gives the guest a new token: their old magic link, feed
// link and cookies stop working at once, and a welcome message with the
// new links is queued. Errors as RemoveGuest's. Event:
// notify.guest_renewed.
func (s *Service) RenewGuestLink(actor access.Actor, projectSlug string, guestID uint64) error {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return err
	}
	secret, err := s.guestSecret()
	if err != nil {
		return err
	}
	var owner *users.User
	if actor.LoggedIn() {
		if owner, err = s.users.ByID(actor.UserID); err != nil {
			return err
		}
	}
	unsub, err := s.unsubSecret()
	if err != nil {
		return err
	}
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		g, err := mustGetGuest(tx, pv.ID, guestID)
		if err != nil {
			return err
		}
		tokens := tx.Bucket(bGuestTokens)
		if err := tokens.Delete(guestTokenHash(deriveGuestToken(secret, g.ID, g.Generation))); err != nil {
			return err
		}
		g.Generation++
		token := deriveGuestToken(secret, g.ID, g.Generation)
		if err := tokens.Put(guestTokenHash(token), guestKey(pv.ID, g.ID)); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bGuests), guestKey(pv.ID, g.ID), g); err != nil {
			return err
		}
		m, err := s.composeGuestWelcome(g, pv, owner, token, s.guestUnsubURL(unsub, g))
		if err != nil {
			return err
		}
		if _, err := s.enqueueTx(tx, guestWelcomeKey(g), m); err != nil {
			return err
		}
		return s.appendEvent(tx, EventGuestRenewed, actor.UserID, pv.ID, map[string]any{"guest_id": guestID})
	})
	return webhookErr(err, "renew the link of guest %d", guestID)
}

// errBadGuestToken is the one answer for every token that does not work.
func errBadGuestToken() error {
	return apperr.New(apperr.NotFound, "This guest link does not work any more: the project's owner may have removed or renewed it. Ask them for a new one.")
}

// GuestByToken returns what a guest token grants, or NotFound for a token
// that is malformed, unknown, renewed or removed (the same answer for all).
// One read transaction; the comparison is in constant time. Safe for
// concurrent use.
func (s *Service) GuestByToken(token string) (*GuestGrant, error) {
	if len(token) != guestTokenLen || !strings.HasPrefix(token, GuestTokenPrefix) {
		return nil, errBadGuestToken()
	}
	var g *Guest
	var secret []byte
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bGuestTokens).Get(guestTokenHash(token))
		if len(v) != 16 {
			return errBadGuestToken()
		}
		var err error
		if g, err = getGuest(tx, store.U64(v[:8]), store.U64(v[8:])); err != nil {
			return err
		}
		if g == nil {
			return errBadGuestToken()
		}
		secret = append(secret, tx.Bucket(bMeta).Get(keyGuestSecret)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The index alone would do; deriving the current token again makes a
	// stale entry harmless.
	if len(secret) == 0 || subtle.ConstantTimeCompare([]byte(deriveGuestToken(secret, g.ID, g.Generation)), []byte(token)) != 1 {
		return nil, errBadGuestToken()
	}
	pv, err := s.posts.ProjectByID(systemActor, g.ProjectID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil, errBadGuestToken()
		}
		return nil, err
	}
	return &GuestGrant{GuestID: g.ID, ProjectID: g.ProjectID, Email: g.Email, ProjectSlug: pv.Slug, ProjectName: pv.Name}, nil
}

// allGuests returns every guest of every project, for the scheduler.
func (s *Service) allGuests(tx *bbolt.Tx) ([]Guest, error) {
	var out []Guest
	err := tx.Bucket(bGuests).ForEach(func(k, v []byte) error {
		var g Guest
		if err := json.Unmarshal(v, &g); err != nil {
			return apperr.Wrap(err, "decode guest %d", store.U64(k[8:]))
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

// Guest unsubscribe tokens are the members' (unsubscribe.go) with another
// domain and a prefix that no member's token has ('.' is not in base64url):
//
//	"g." + base64url(uvarint(projectID) || uvarint(guestID) || tag)
//	tag = HMAC-SHA256(secret, "unsubscribe-guest" || Key(projectID) || Key(guestID))[:16]

const guestUnsubPrefix = "g."

func guestUnsubTag(secret []byte, projectID, guestID uint64) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("unsubscribe-guest"))
	m.Write(store.Key(projectID))
	m.Write(store.Key(guestID))
	return m.Sum(nil)[:unsubTagLen]
}

// GuestUnsubscribeURL is the guest's one-click unsubscribe link, "" when
// the database cannot be read or written.
func (s *Service) GuestUnsubscribeURL(g *Guest) string {
	secret, err := s.unsubSecret()
	if err != nil {
		return ""
	}
	return s.guestUnsubURL(secret, g)
}

func (s *Service) guestUnsubURL(unsubSecret []byte, g *Guest) string {
	b := binary.AppendUvarint(nil, g.ProjectID)
	b = binary.AppendUvarint(b, g.ID)
	b = append(b, guestUnsubTag(unsubSecret, g.ProjectID, g.ID)...)
	return strings.TrimSuffix(s.opts.BaseURL, "/") + "/unsubscribe/" + guestUnsubPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// IsGuestUnsubscribeToken reports whether token has the form of a guest's
// unsubscribe token (rather than a member's).
func IsGuestUnsubscribeToken(token string) bool { return strings.HasPrefix(token, guestUnsubPrefix) }

// GuestForUnsubscribe returns the guest a guest unsubscribe token was made
// for, with their project's name. A token that does not decode, was
// altered, or names a guest no longer on the list is NotFound; the tag is
// compared in constant time.
func (s *Service) GuestForUnsubscribe(token string) (*Guest, string, error) {
	bad := apperr.New(apperr.NotFound, "This unsubscribe link is not valid any more: you may have been removed from the project's guests, and then receive nothing.")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, guestUnsubPrefix))
	if !IsGuestUnsubscribeToken(token) || err != nil || len(raw) > 20+unsubTagLen {
		return nil, "", bad
	}
	pid, n := binary.Uvarint(raw)
	if n <= 0 || pid == 0 {
		return nil, "", bad
	}
	gid, m := binary.Uvarint(raw[n:])
	if m <= 0 || gid == 0 || len(raw)-n-m != unsubTagLen {
		return nil, "", bad
	}
	var g *Guest
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		secret := tx.Bucket(bMeta).Get(keyUnsubSecret)
		if len(secret) == 0 || !hmac.Equal(raw[n+m:], guestUnsubTag(secret, pid, gid)) {
			return bad
		}
		var err error
		g, err = getGuest(tx, pid, gid)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if g == nil {
		return nil, "", bad
	}
	pv, err := s.projectOf(g.ProjectID)
	if err != nil {
		return nil, "", err
	}
	return g, pv.Name, nil
}

// SetGuestEmailOff turns the guest's e-mail off (their one-click
// unsubscribe); they stay on the list, marked, and may still read the
// project with their link until the owner removes them. No change is a
// no-op without an event. Event: notify.guest_email_off (ActorID 0).
func (s *Service) SetGuestEmailOff(g *Guest) error {
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		cur, err := mustGetGuest(tx, g.ProjectID, g.ID)
		if err != nil {
			return err
		}
		if cur.EmailOff {
			return nil
		}
		cur.EmailOff = true
		if err := putJSON(tx.Bucket(bGuests), guestKey(cur.ProjectID, cur.ID), cur); err != nil {
			return err
		}
		return s.appendEvent(tx, EventGuestEmailOff, 0, cur.ProjectID, map[string]any{"guest_id": cur.ID})
	})
}

// BuildGuestDigest returns the digest of a guest for the window w: their
// one project, read as the guest reads it (access.Actor{GuestOf}), with
// the same content as a member's project part (see BuildDigest), nothing
// marked as theirs, and nothing waiting. An archived project gives an
// empty digest. Errors: storage failures only (a project gone gives an
// empty digest).
func (s *Service) BuildGuestDigest(g *Guest, w Window) (*Digest, error) {
	d := &Digest{Guest: g, Window: w}
	actor := access.Actor{GuestOf: g.ProjectID}
	pv, err := s.posts.ProjectByID(actor, g.ProjectID)
	if apperr.Is(err, apperr.NotFound) {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	if pv.Archived {
		return d, nil
	}
	pd, err := s.projectDigest(pv, w)
	if err != nil {
		return nil, err
	}
	if len(pd.Posts) > 0 || len(pd.Decisions) > 0 || pd.HealthChanged || pd.Overdue {
		d.Projects = append(d.Projects, *pd)
	}
	if err := s.fillAuthors(d, 0); err != nil {
		return nil, err
	}
	return d, nil
}

// GuestDigestKey is the outbox key of a guest's digest for the window
// labelled label: "digest/guest/GUESTID/2026-W48".
func GuestDigestKey(guestID uint64, label string) string {
	return "digest/guest/" + strconv.FormatUint(guestID, 10) + "/" + label
}

// guestWindow is the last complete window of the guest's digest at now.
func guestWindow(g *Guest, now time.Time) Window {
	st := DefaultSettings()
	if g.Mode == Daily {
		return DailyWindow(now, g.Location(), st.DigestHour)
	}
	return WeeklyWindow(now, g.Location(), st.WeeklyDay, st.DigestHour)
}

// projectOf reads a project as the system, for messages about it.
func (s *Service) projectOf(id uint64) (*posts.ProjectView, error) {
	return s.posts.ProjectByID(systemActor, id)
}
