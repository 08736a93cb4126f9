package notify

import (
	"errors"
	"net/http"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// The buckets of this package. Each file that uses one documents its keys.
var (
	bSubs     = []byte("notify.subs")     // subscriptions.go
	bSettings = []byte("notify.settings") // subscriptions.go
	bOutbox   = []byte("notify.outbox")   // outbox.go: messages waiting or failed
	bSent     = []byte("notify.sent")     // outbox.go: keys of messages sent (or enqueued) once
	bMeta     = []byte("notify.meta")     // unsubscribe.go: the signing secret; notices.go: the notices' mark
	bPending  = []byte("notify.pending")  // notices.go: immediate notices waiting to be bundled
	// follow.go (bTagSubs, bTagFollowers, bPostSubs, bPostFollowers,
	// bDaily) and guests.go (bGuests, bGuestTokens) declare theirs.
)

// Options configure the service.
type Options struct {
	Now     func() time.Time // default time.Now
	BaseURL string           // absolute links in messages, without a trailing slash
	// Mailer sends e-mail; nil keeps messages in the outbox (a server
	// without --smtp-url still builds digests for the web page).
	Mailer Mailer
	From   string // sender address of every message
	// HTTPClient makes webhook requests (webhooks.go); nil: a client
	// that does not follow redirects, with WebhookTimeout.
	HTTPClient *http.Client
	// ReplyAddress returns the address at which a person answers a post
	// (and a comment of it) by e-mail, "" when the site takes no mail
	// (internal/mailin makes it; cmd wires it). nil: no reply addresses.
	ReplyAddress func(userID, postID, commentID uint64) string
}

// Service is the notification service. It is safe for concurrent use.
type Service struct {
	db    *store.DB
	posts *posts.Service
	users *users.Service
	opts  Options
	// digests caches each project's part of a digest (digest_cache.go).
	digests *digestCache
}

// New opens the service on db, creating its buckets. On a database where
// immediate notices never ran, it starts their consumer at the head of
// the event log (see notices.go): notices tell of what happens from then
// on, not of the whole history; so do webhooks (webhooks.go).
func New(db *store.DB, p *posts.Service, u *users.Service, opts Options) (*Service, error) {
	if db == nil || p == nil || u == nil {
		return nil, errors.New("notify.New: nil dependency")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	names := []string{}
	for _, b := range [][]byte{bSubs, bSettings, bOutbox, bSent, bMeta, bPending,
		bTagSubs, bTagFollowers, bPostSubs, bPostFollowers, bPostDigestSubs, bDaily, bGuests, bGuestTokens} {
		names = append(names, string(b))
	}
	if err := db.EnsureBuckets(names...); err != nil {
		return nil, err
	}
	s := &Service{db: db, posts: p, users: u, opts: opts, digests: newDigestCache()}
	if err := s.indexDaily(); err != nil {
		return nil, apperr.Wrap(err, "index the daily subscriptions")
	}
	if err := s.startNotices(); err != nil {
		return nil, err
	}
	if err := s.startWebhooks(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Round(0) }
