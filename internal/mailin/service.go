package mailin

import (
	"bytes"
	"log/slog"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"

	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// Options configure the bridge. The zero Domain turns inbound mail off:
// no reply addresses are made and every recipient is refused.
type Options struct {
	// Domain is the mail domain of the site's addresses (reply+TOKEN@Domain,
	// the projects' addresses), such as "blog.example.com".
	Domain string
	// ProjectAddress is the form of a project's address, with {slug} where
	// the project's slug goes; default "{slug}@" + Domain.
	ProjectAddress string
	// ReplyTTL is how long a reply address takes replies; default
	// DefaultReplyTTL.
	ReplyTTL time.Duration
	// MaxBytes is the largest message taken; default MaxMessageBytes.
	MaxBytes int64
	// BaseURL makes the links in refusals absolute.
	BaseURL string
	Now     func() time.Time
	Logger  *slog.Logger
}

// Service turns delivered messages into comments and posts.
type Service struct {
	db    *store.DB
	posts *posts.Service
	users *users.Service
	opts  Options
	log   *slog.Logger
	now   func() time.Time

	secret atomic.Pointer[[]byte]
	// addrPrefix and addrSuffix are ProjectAddress around {slug}, lower-cased.
	addrPrefix, addrSuffix string
}

// New returns the bridge; it checks the options and creates its bucket.
func New(db *store.DB, ps *posts.Service, us *users.Service, opts Options) (*Service, error) {
	opts.Domain = strings.ToLower(strings.TrimSpace(opts.Domain))
	if opts.ProjectAddress == "" && opts.Domain != "" {
		opts.ProjectAddress = "{slug}@" + opts.Domain
	}
	if opts.ReplyTTL <= 0 {
		opts.ReplyTTL = DefaultReplyTTL
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = MaxMessageBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{db: db, posts: ps, users: us, opts: opts, log: opts.Logger, now: opts.Now}
	if opts.Domain != "" {
		pre, suf, err := splitProjectAddress(opts.ProjectAddress, opts.Domain)
		if err != nil {
			return nil, err
		}
		s.addrPrefix, s.addrSuffix = pre, suf
	}
	if err := db.EnsureBuckets(string(bMeta)); err != nil {
		return nil, err
	}
	return s, nil
}

// Enabled reports whether the site takes mail (it has a Domain).
func (s *Service) Enabled() bool { return s != nil && s.opts.Domain != "" }

// MaxBytes is the largest message taken.
func (s *Service) MaxBytes() int64 { return s.opts.MaxBytes }

// ProjectAddress returns the address at which a project takes mail, ""
// when the site takes none.
func (s *Service) ProjectAddress(slug string) string {
	if !s.Enabled() {
		return ""
	}
	return s.addrPrefix + slug + s.addrSuffix
}

// OwnRecipients returns the addresses at the mail domain a raw message
// names in its Delivered-To, X-Original-To, To and Cc headers (for a mail
// server that pipes a message without saying whom it is for).
func (s *Service) OwnRecipients(raw []byte) []string {
	if !s.Enabled() {
		return nil
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, h := range []string{"Delivered-To", "X-Original-To", "To", "Cc"} {
		for _, v := range m.Header[h] {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range list {
				addr := strings.ToLower(a.Address)
				if strings.HasSuffix(addr, "@"+s.opts.Domain) && !seen[addr] {
					seen[addr] = true
					out = append(out, addr)
				}
			}
		}
		if h == "X-Original-To" && len(out) > 0 {
			break // the envelope's own recipients: To and Cc may name others
		}
	}
	return out
}
