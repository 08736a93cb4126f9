package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
	"projblog/internal/users"
)

// Webhooks.
//
// A project's owners (access.ManageProject: owners and admins) point
// webhooks at a chat channel or any HTTP endpoint: Slack-compatible and
// Microsoft Teams incoming webhooks, and a generic JSON payload signed
// with HMAC-SHA256 (webhook_payload.go shows the payloads). The owner
// chooses the destination, and the webhook carries the project's
// activity there, titles and excerpts included, also for a private
// project: that is its point. Nothing else ever sends a project's content
// to a webhook: a webhook hears only the events of its own project.
//
// # What a webhook hears
//
// Each webhook has a filter of event kinds (all by default):
//
//	posts      post.published (the first publication only)
//	comments   comment.added
//	decisions  decision.marked
//	health     health.changed, update.overdue
//
// An event about a post that is a draft or in the trash by the time the
// event is read, or about a deleted comment, is not told. A webhook hears
// the events that happen from its creation on; a paused one (Active
// false) hears nothing new and holds what it has queued until it is
// resumed. "Send a test" (TestWebhook) queues an event "ping".
//
// # Requests
//
// Each delivery is an HTTP POST of the payload (Content-Type
// application/json) with the headers
//
//	X-Projblog-Event      the event's type: post.published, ..., ping
//	X-Projblog-Delivery   a random ID, the same for every attempt of one delivery
//	X-Projblog-Signature  sha256=HEX(HMAC-SHA256(secret, body)), json webhooks only
//
// The secret of a json webhook is generated when it is added (32 random
// bytes, hex) and shown to its owners on the webhooks page; a receiver
// computes the HMAC of the raw body with it and compares in constant
// time. Slack and Teams URLs carry their own secret in their path, so the
// page shows only the host of every URL.
//
// A request has WebhookTimeout (10 s) to answer, through
// Options.HTTPClient (default: a client that does not follow redirects).
// Any 2xx answer delivers; anything else (another status, a redirect, a
// refused connection, a timeout) is a failed attempt.
//
// # Durability
//
// ConsumeWebhookEvents reads the event log after its own durable cursor
// WebhookConsumer, exactly like the immediate notices (notices.go): each
// batch's deliveries are written together with a mark of the last event
// handled (notify.meta "webhooks_seq") in ONE write transaction, and
// events at or below the mark are skipped, so an event becomes one
// delivery per matching webhook exactly once, across crashes and
// repeated calls. A database on which webhooks never ran starts at the
// head of the log.
//
// DeliverWebhooks sends the deliveries that are due, one at a time, and
// records each outcome in its own transaction, like the outbox
// (outbox.go): a failed attempt is tried again after RetryDelay (1, 2, 4,
// ... minutes, then every hour) and after MaxAttempts (10, about four
// hours) failed attempts the delivery is marked failed. A failed delivery
// is never dropped: it stays in the queue, counted on the webhooks page
// and listed by WebhookFailures (for admins), until an owner sends it
// again (RetryWebhookDeliveries) or deletes the webhook. Once one attempt
// to a webhook fails, its other deliveries wait for the next call, so a
// receiver that is down gets one request per round, not a burst.
// Deliveries are not ordered across retries: one that failed may arrive
// after a later one.
//
// A crash before or during a request loses nothing: the delivery is still
// due. A crash after the receiver answered 2xx and before the outcome was
// recorded sends that one delivery again after the restart (deliveries
// go one at a time, so at most one), with the same X-Projblog-Delivery,
// by which a receiver can drop it.
//
// Deleting a webhook deletes its queued and failed deliveries and its
// log: the owner removed the destination.
//
// # Storage
//
//	notify.webhooks       Key(projectID) + Key(webhookID) -> Webhook (JSON); IDs from the bucket's sequence
//	notify.webhook_queue  sub-bucket "items": Key(id) -> deliveryRec (JSON)   queued and failed deliveries
//	                      sub-bucket "due":   TimeKey(NextAt, id) -> ""       queued deliveries by next attempt
//	notify.webhook_log    Key(webhookID) + Key(seq) -> WebhookDelivery (JSON), the last WebhookLogSize attempts
//	notify.meta           "webhooks_seq" -> Key(seq of the last event turned into deliveries)
//
// # Cost
//
// ConsumeWebhookEvents reads every webhook once per batch of 500 events,
// and for each event that some webhook wants, its project, post, comment
// and actor (cached per batch). DeliverWebhooks reads the due index, which
// holds only what is waiting. Webhooks and RetryWebhookDeliveries read the
// whole queue, which holds only what is not delivered.

// The webhook formats.
const (
	WebhookSlack = "slack" // Slack incoming webhook: {"text": ...}
	WebhookTeams = "teams" // Microsoft Teams incoming webhook: a MessageCard
	WebhookJSON  = "json"  // generic JSON, signed with HMAC-SHA256
)

// WebhookFormats lists the formats in the order a form offers them.
var WebhookFormats = []string{WebhookSlack, WebhookTeams, WebhookJSON}

// The kinds of events a webhook may hear (its Events filter).
const (
	WebhookPosts     = "posts"     // post.published (first publication)
	WebhookComments  = "comments"  // comment.added
	WebhookDecisions = "decisions" // decision.marked
	WebhookHealth    = "health"    // health.changed, update.overdue
)

// WebhookEventKinds lists the event kinds in the order a form offers
// them.
var WebhookEventKinds = []string{WebhookPosts, WebhookComments, WebhookDecisions, WebhookHealth}

// EventPing is the event type of a test delivery.
const EventPing = "ping"

// WebhookConsumer is the name of the webhooks' cursor in the store's
// event log.
const WebhookConsumer = "notify.webhooks"

// WebhookTimeout is how long a receiver has to answer one request.
const WebhookTimeout = 10 * time.Second

// WebhookLogSize is how many attempts the log keeps per webhook (the
// newest).
const WebhookLogSize = 50

// MaxWebhooks is how many webhooks one project may have.
const MaxWebhooks = 20

// MaxWebhookURLLen bounds a webhook's URL.
const MaxWebhookURLLen = 2048

// webhookBatchSize is how many events ConsumeWebhookEvents handles per
// transaction.
const webhookBatchSize = 500

var (
	bWebhooks     = []byte("notify.webhooks")
	bWebhookQueue = []byte("notify.webhook_queue")
	bWebhookLog   = []byte("notify.webhook_log")

	keyWebhookMark = []byte("webhooks_seq")
)

// Webhook is one webhook of a project.
type Webhook struct {
	ID        uint64    `json:"id"`
	ProjectID uint64    `json:"project_id"`
	URL       string    `json:"url"`
	Format    string    `json:"format"`           // WebhookSlack, WebhookTeams or WebhookJSON
	Secret    string    `json:"secret,omitempty"` // json webhooks: the HMAC-SHA256 key (hex)
	Events    []string  `json:"events"`           // the kinds it hears, in WebhookEventKinds order
	CreatedAt time.Time `json:"created_at"`
	CreatedBy uint64    `json:"created_by,omitempty"`
	Active    bool      `json:"active"` // false: paused

	// Filled by Webhooks, not stored.
	Pending int `json:"-"` // deliveries waiting (due now or retrying)
	Failed  int `json:"-"` // deliveries that gave up after MaxAttempts
}

// Host is the host of the webhook's URL, which is all a page shows (the
// path of a Slack or Teams URL is its secret).
func (w *Webhook) Host() string {
	if u, err := url.Parse(w.URL); err == nil {
		return u.Host
	}
	return ""
}

// Hears reports whether the webhook takes events of this kind.
func (w *Webhook) Hears(kind string) bool { return slices.Contains(w.Events, kind) }

// The outcomes of an attempt in the log.
const (
	DeliveryOK    = "delivered" // the receiver answered 2xx
	DeliveryRetry = "retry"     // failed; tried again at NextAt
	DeliveryFail  = "failed"    // failed for the MaxAttempts-th time; kept until sent again
)

// WebhookDelivery is one attempt of one delivery, as the log keeps it.
type WebhookDelivery struct {
	DeliveryID string        `json:"delivery_id"` // X-Projblog-Delivery
	Event      string        `json:"event"`
	Attempt    int           `json:"attempt"` // 1 for the first attempt
	At         time.Time     `json:"at"`
	StatusCode int           `json:"status,omitempty"` // 0 when no answer came
	Error      string        `json:"error,omitempty"`  // what failed, for a failed attempt
	Duration   time.Duration `json:"duration"`
	Outcome    string        `json:"outcome"`          // DeliveryOK, DeliveryRetry or DeliveryFail
	NextAt     time.Time     `json:"next_at,omitzero"` // DeliveryRetry: the next attempt
}

// WebhookFailure is a delivery that gave up, as WebhookFailures lists it.
type WebhookFailure struct {
	ProjectID, WebhookID uint64
	Host                 string // of the webhook's URL
	Format               string // of the webhook: WebhookSlack, WebhookTeams or WebhookJSON
	DeliveryID, Event    string
	Attempts             int
	LastError            string
	CreatedAt            time.Time // when the delivery was queued (the event)
	LastAttemptAt        time.Time // when its last attempt was due
}

// deliveryRec is a queued or failed delivery as stored.
type deliveryRec struct {
	ID         uint64    `json:"id"`
	DeliveryID string    `json:"delivery_id"`
	WebhookID  uint64    `json:"webhook_id"`
	ProjectID  uint64    `json:"project_id"`
	Event      string    `json:"event"`
	Seq        uint64    `json:"seq,omitempty"` // the event's; 0 for a ping
	Body       []byte    `json:"body"`          // the payload, exactly as sent
	Attempts   int       `json:"attempts,omitempty"`
	NextAt     time.Time `json:"next_at"`
	LastError  string    `json:"last_error,omitempty"`
	Failed     bool      `json:"failed,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// webhookConsumeLocks serialises ConsumeWebhookEvents, and
// webhookDeliverLocks DeliverWebhooks, per database.
var webhookConsumeLocks, webhookDeliverLocks sync.Map // *store.DB -> *sync.Mutex

// webhookCategory is the event kind of an event type, "" for one webhooks
// do not tell.
func webhookCategory(typ string) string {
	switch typ {
	case "post.published":
		return WebhookPosts
	case "comment.added":
		return WebhookComments
	case "decision.marked":
		return WebhookDecisions
	case "health.changed", "update.overdue":
		return WebhookHealth
	}
	return ""
}

// startWebhooks creates the webhooks' buckets and, on a database where
// they never ran, starts their consumer at the head of the log.
func (s *Service) startWebhooks() error {
	return s.startAtHead(WebhookConsumer, keyWebhookMark, func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bWebhooks, bWebhookQueue, bWebhookLog} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		q := tx.Bucket(bWebhookQueue)
		for _, name := range [][]byte{subItems, subDue} {
			if _, err := q.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// httpClient is Options.HTTPClient, or the default: no redirects
// followed (a webhook URL that moved is an error the owner must see), and
// WebhookTimeout.
func (s *Service) httpClient() *http.Client {
	if s.opts.HTTPClient != nil {
		return s.opts.HTTPClient
	}
	return defaultHookClient
}

var defaultHookClient = &http.Client{
	Timeout: WebhookTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// manageProject returns the project when the actor may manage it:
// NotFound when they may not read it, Unauthorized or Forbidden when they
// may read but not manage it.
func (s *Service) manageProject(actor access.Actor, slug string) (*posts.ProjectView, error) {
	pv, err := s.posts.Project(actor, slug)
	if err != nil {
		return nil, err
	}
	if err := access.Check(actor, pv.Subject(), access.ManageProject); err != nil {
		return nil, err
	}
	return pv, nil
}

func webhookKey(projectID, id uint64) []byte {
	return append(store.Key(projectID), store.Key(id)...)
}

func errNoWebhook() error { return apperr.New(apperr.NotFound, "No such webhook in this project.") }

// checkWebhookURL validates a webhook's URL: absolute http or https with
// a host.
func checkWebhookURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", apperr.FieldErr("url", "Please give the address the webhook posts to.")
	}
	if len(raw) > MaxWebhookURLLen || !utf8.ValidString(raw) {
		return "", apperr.FieldErr("url", "The address must be at most %d characters.", MaxWebhookURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", apperr.FieldErr("url", "The address must be a full http:// or https:// URL, such as https://hooks.slack.com/services/….")
	}
	return raw, nil
}

// AddWebhook adds a webhook to the project: url (an absolute http or
// https URL), format (WebhookSlack, WebhookTeams or WebhookJSON) and the
// event kinds it hears (WebhookEventKinds; none means all). A json
// webhook gets a generated secret. The actor needs access.ManageProject.
// Errors: NotFound when the actor may not read the project; Unauthorized
// or Forbidden when they may not manage it; Invalid with Field "url",
// "format" or "events" for bad input, or "url" when the project has
// MaxWebhooks already. Safe for concurrent use.
func (s *Service) AddWebhook(actor access.Actor, projectSlug, rawURL, format string, events []string) (*Webhook, error) {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return nil, err
	}
	u, err := checkWebhookURL(rawURL)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(WebhookFormats, format) {
		return nil, apperr.FieldErr("format", "Please choose a format: Slack, Microsoft Teams or JSON.")
	}
	kinds := []string{}
	for _, k := range WebhookEventKinds {
		if slices.Contains(events, k) {
			kinds = append(kinds, k)
		}
	}
	for _, e := range events {
		if !slices.Contains(WebhookEventKinds, e) {
			return nil, apperr.FieldErr("events", "Unknown kind of event %q: choose among posts, comments, decisions and health.", e)
		}
	}
	if len(kinds) == 0 {
		kinds = slices.Clone(WebhookEventKinds)
	}
	w := &Webhook{ProjectID: pv.ID, URL: u, Format: format, Events: kinds, CreatedAt: s.now(),
		CreatedBy: actor.UserID, Active: true}
	if format == WebhookJSON {
		b := make([]byte, 32)
		rand.Read(b)
		w.Secret = hex.EncodeToString(b)
	}
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bWebhooks)
		n := 0
		prefix := store.Key(pv.ID)
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		if n >= MaxWebhooks {
			return apperr.FieldErr("url", "A project may have at most %d webhooks; delete one first.", MaxWebhooks)
		}
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		w.ID = id
		return putJSON(b, webhookKey(pv.ID, id), w)
	})
	if apperr.CodeOf(err) == apperr.Invalid {
		return nil, err
	}
	if err != nil {
		return nil, apperr.Wrap(err, "store webhook")
	}
	return w, nil
}

// Webhooks returns the project's webhooks, oldest first, with their
// counts of pending and failed deliveries. The actor needs
// access.ManageProject (errors as for AddWebhook). It reads the whole
// delivery queue, which holds only what is not delivered.
func (s *Service) Webhooks(actor access.Actor, projectSlug string) ([]Webhook, error) {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return nil, err
	}
	var out []Webhook
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		prefix := store.Key(pv.ID)
		c := tx.Bucket(bWebhooks).Cursor()
		index := map[uint64]int{}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var w Webhook
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("decode webhook %d: %w", store.U64(k[8:]), err)
			}
			index[w.ID] = len(out)
			out = append(out, w)
		}
		if len(out) == 0 {
			return nil
		}
		return forEachDelivery(tx, func(d *deliveryRec) error {
			if i, ok := index[d.WebhookID]; ok {
				if d.Failed {
					out[i].Failed++
				} else {
					out[i].Pending++
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read webhooks")
	}
	return out, nil
}

// webhookOf returns the project's webhook id, or NotFound.
func webhookOf(tx *bbolt.Tx, projectID, id uint64) (*Webhook, error) {
	v := tx.Bucket(bWebhooks).Get(webhookKey(projectID, id))
	if v == nil {
		return nil, errNoWebhook()
	}
	var w Webhook
	if err := json.Unmarshal(v, &w); err != nil {
		return nil, fmt.Errorf("decode webhook %d: %w", id, err)
	}
	return &w, nil
}

// DeleteWebhook deletes one of the project's webhooks with its queued and
// failed deliveries and its log. The actor needs access.ManageProject
// (errors as for AddWebhook); NotFound when the project has no such
// webhook.
func (s *Service) DeleteWebhook(actor access.Actor, projectSlug string, id uint64) error {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return err
	}
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		if _, err := webhookOf(tx, pv.ID, id); err != nil {
			return err
		}
		if err := tx.Bucket(bWebhooks).Delete(webhookKey(pv.ID, id)); err != nil {
			return err
		}
		var gone []*deliveryRec
		err := forEachDelivery(tx, func(d *deliveryRec) error {
			if d.WebhookID == id {
				gone = append(gone, d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		q := tx.Bucket(bWebhookQueue)
		items, due := q.Bucket(subItems), q.Bucket(subDue)
		for _, d := range gone {
			if err := items.Delete(store.Key(d.ID)); err != nil {
				return err
			}
			if err := due.Delete(store.TimeKey(d.NextAt, d.ID)); err != nil {
				return err
			}
		}
		return deletePrefix(tx.Bucket(bWebhookLog), store.Key(id))
	})
	return webhookErr(err, "delete webhook %d", id)
}

// SetWebhookActive pauses (false) or resumes (true) one of the project's
// webhooks. A paused webhook takes no new deliveries from events, and the
// deliveries it has queued wait until it is resumed. The actor needs
// access.ManageProject (errors as for DeleteWebhook).
func (s *Service) SetWebhookActive(actor access.Actor, projectSlug string, id uint64, active bool) error {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return err
	}
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		w, err := webhookOf(tx, pv.ID, id)
		if err != nil || w.Active == active {
			return err
		}
		w.Active = active
		return putJSON(tx.Bucket(bWebhooks), webhookKey(pv.ID, id), w)
	})
	return webhookErr(err, "change webhook %d", id)
}

// WebhookLog returns the last attempts of one of the project's webhooks,
// newest first (at most WebhookLogSize). The actor needs
// access.ManageProject (errors as for DeleteWebhook).
func (s *Service) WebhookLog(actor access.Actor, projectSlug string, id uint64) ([]WebhookDelivery, error) {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return nil, err
	}
	var out []WebhookDelivery
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		if _, err := webhookOf(tx, pv.ID, id); err != nil {
			return err
		}
		prefix := store.Key(id)
		c := tx.Bucket(bWebhookLog).Cursor()
		k, v := lastWithPrefix(c, prefix)
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			var d WebhookDelivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode webhook log entry: %w", err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return nil, apperr.Wrap(err, "read the log of webhook %d", id)
	}
	return out, err
}

// TestWebhook queues a test delivery (event "ping") to one of the
// project's webhooks, sent with the next DeliverWebhooks (the scheduler's
// next round: within a minute) and logged like any other. The actor needs
// access.ManageProject (errors as for DeleteWebhook).
func (s *Service) TestWebhook(actor access.Actor, projectSlug string, id uint64) error {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return err
	}
	name := ""
	if actor.UserID != 0 {
		if u, err := s.users.ByID(actor.UserID); err == nil {
			name = u.Name
		}
	}
	now := s.now()
	he := s.pingEvent(pv, name, now)
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		w, err := webhookOf(tx, pv.ID, id)
		if err != nil {
			return err
		}
		body, err := he.payload(w.Format)
		if err != nil {
			return err
		}
		return queueDelivery(tx, &deliveryRec{WebhookID: w.ID, ProjectID: w.ProjectID, Event: EventPing,
			Body: body, NextAt: now, CreatedAt: now})
	})
	return webhookErr(err, "queue a test of webhook %d", id)
}

// RetryWebhookDeliveries makes the failed deliveries of one of the
// project's webhooks due now, with their counts of attempts back at zero,
// and returns how many there were. The actor needs access.ManageProject
// (errors as for DeleteWebhook).
func (s *Service) RetryWebhookDeliveries(actor access.Actor, projectSlug string, id uint64) (int, error) {
	pv, err := s.manageProject(actor, projectSlug)
	if err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		if _, err := webhookOf(tx, pv.ID, id); err != nil {
			return err
		}
		var failed []*deliveryRec
		err := forEachDelivery(tx, func(d *deliveryRec) error {
			if d.WebhookID == id && d.Failed {
				failed = append(failed, d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		q := tx.Bucket(bWebhookQueue)
		for _, d := range failed {
			d.Failed, d.Attempts, d.NextAt = false, 0, now
			if err := putJSON(q.Bucket(subItems), store.Key(d.ID), d); err != nil {
				return err
			}
			if err := q.Bucket(subDue).Put(store.TimeKey(d.NextAt, d.ID), nil); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, webhookErr(err, "retry the deliveries of webhook %d", id)
}

// WebhookFailures lists every delivery that gave up, in every project,
// oldest first: for admins (the admin page, `projblog notify failures`).
// It makes no access decision and reads the whole queue.
func (s *Service) WebhookFailures() ([]WebhookFailure, error) {
	var out []WebhookFailure
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		hooks := tx.Bucket(bWebhooks)
		return forEachDelivery(tx, func(d *deliveryRec) error {
			if !d.Failed {
				return nil
			}
			f := WebhookFailure{ProjectID: d.ProjectID, WebhookID: d.WebhookID, DeliveryID: d.DeliveryID,
				Event: d.Event, Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt,
				LastAttemptAt: d.NextAt}
			if v := hooks.Get(webhookKey(d.ProjectID, d.WebhookID)); v != nil {
				var w Webhook
				if json.Unmarshal(v, &w) == nil {
					f.Host, f.Format = w.Host(), w.Format
				}
			}
			out = append(out, f)
			return nil
		})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the webhook deliveries")
	}
	return out, nil
}

// webhookErr keeps the errors of this package's rules and wraps the
// others.
func webhookErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var e *apperr.Error
	if errors.As(err, &e) && e.Code != apperr.Internal {
		return err
	}
	return apperr.Wrap(err, format, args...)
}

// ConsumeWebhookEvents reads the event log after the cursor
// WebhookConsumer, in batches of 500 events, until it has caught up, and
// queues one delivery per relevant event and matching active webhook of
// the event's project (see the comment at the top of webhooks.go); it
// returns how many deliveries it queued. Each batch's deliveries are
// written in one transaction with the mark of the batch's last event, so
// an event is queued once per webhook, across crashes and repeated calls
// too. It stops between batches when ctx ends, with ctx's error. Errors
// are storage errors; an event whose data does not decode is skipped.
// Safe for concurrent use (calls take turns).
func (s *Service) ConsumeWebhookEvents(ctx context.Context) (int, error) {
	defer lockFor(&webhookConsumeLocks, s.db)()
	return s.drain(ctx, WebhookConsumer, webhookBatchSize, "webhooks", s.consumeWebhookBatch)
}

// hookCache caches, for one batch, what payloads read.
type hookCache struct {
	s        *Service
	projects map[uint64]*posts.ProjectView
	posts    map[uint64]*posts.Post
	users    map[uint64]*users.User
}

func (c *hookCache) project(id uint64) (*posts.ProjectView, error) {
	if pv, ok := c.projects[id]; ok {
		return pv, nil
	}
	pv, err := c.s.posts.ProjectByID(systemActor, id)
	if apperr.Is(err, apperr.NotFound) {
		pv, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.projects[id] = pv
	return pv, nil
}

func (c *hookCache) post(id uint64) (*posts.Post, error) {
	if p, ok := c.posts[id]; ok {
		return p, nil
	}
	p, _, err := c.s.posts.Post(systemActor, id)
	if apperr.Is(err, apperr.NotFound) {
		p, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.posts[id] = p
	return p, nil
}

func (c *hookCache) user(id uint64) (*users.User, error) {
	if u, ok := c.users[id]; ok {
		return u, nil
	}
	u, err := c.s.users.ByID(id)
	if apperr.Is(err, apperr.NotFound) {
		u, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.users[id] = u
	return u, nil
}

// consumeWebhookBatch turns a batch of events into deliveries and records
// them with the mark in one write transaction. Events at or below the
// mark were handled before (a batch handed over again after a crash).
func (s *Service) consumeWebhookBatch(evs []store.Event) (int, error) {
	var (
		mark  uint64
		hooks = map[uint64][]Webhook{} // by project: the active ones
	)
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		mark = store.U64(tx.Bucket(bMeta).Get(keyWebhookMark))
		return tx.Bucket(bWebhooks).ForEach(func(k, v []byte) error {
			var w Webhook
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("decode webhook %d: %w", store.U64(k[8:]), err)
			}
			if w.Active {
				hooks[w.ProjectID] = append(hooks[w.ProjectID], w)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	if evs = afterMark(evs, mark); len(evs) == 0 {
		return 0, nil
	}
	// Read outside the write transaction: projects, posts and users are
	// read through their services, each in its own transaction.
	cache := &hookCache{s: s, projects: map[uint64]*posts.ProjectView{}, posts: map[uint64]*posts.Post{},
		users: map[uint64]*users.User{}}
	now := s.now()
	var recs []*deliveryRec
	for _, ev := range evs {
		kind := webhookCategory(ev.Type)
		var want []Webhook
		for _, w := range hooks[ev.ProjectID] {
			if kind != "" && w.Hears(kind) && !ev.Time.Before(w.CreatedAt) {
				want = append(want, w)
			}
		}
		if len(want) == 0 {
			continue
		}
		he, err := s.hookEventFor(ev, cache)
		if err != nil {
			return 0, err
		}
		if he == nil {
			continue
		}
		bodies := map[string][]byte{}
		for _, w := range want {
			body, ok := bodies[w.Format]
			if !ok {
				if body, err = he.payload(w.Format); err != nil {
					return 0, err
				}
				bodies[w.Format] = body
			}
			recs = append(recs, &deliveryRec{WebhookID: w.ID, ProjectID: w.ProjectID, Event: ev.Type,
				Seq: ev.Seq, Body: body, NextAt: now, CreatedAt: now})
		}
	}
	last := evs[len(evs)-1].Seq
	added := 0
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bMeta)
		mark := store.U64(meta.Get(keyWebhookMark)) // again: it is the truth
		hb := tx.Bucket(bWebhooks)
		for _, d := range recs {
			if d.Seq <= mark || hb.Get(webhookKey(d.ProjectID, d.WebhookID)) == nil {
				continue // handled already, or the webhook was deleted meanwhile
			}
			if err := queueDelivery(tx, d); err != nil {
				return err
			}
			added++
		}
		if last <= mark {
			return nil
		}
		return meta.Put(keyWebhookMark, store.Key(last))
	})
	if err != nil {
		return 0, apperr.Wrap(err, "queue webhook deliveries")
	}
	return added, nil
}

// queueDelivery stores a new delivery, due at d.NextAt, giving it its ID
// and delivery ID.
func queueDelivery(tx *bbolt.Tx, d *deliveryRec) error {
	q := tx.Bucket(bWebhookQueue)
	items := q.Bucket(subItems)
	id, err := items.NextSequence()
	if err != nil {
		return err
	}
	d.ID = id
	d.DeliveryID = rand.Text()
	if err := putJSON(items, store.Key(id), d); err != nil {
		return err
	}
	return q.Bucket(subDue).Put(store.TimeKey(d.NextAt, id), nil)
}

// dueDelivery is a delivery due now, with its webhook and its key in the
// due index.
type dueDelivery struct {
	key  []byte
	rec  *deliveryRec
	hook *Webhook // nil: the webhook is gone
}

// DeliverWebhooks sends every delivery whose next attempt is due, one at a
// time, and returns how many were delivered and how many attempts failed
// in this call. Each delivery is tried at most once per call, and once an
// attempt to a webhook fails its other deliveries wait for the next call;
// the deliveries of a paused webhook wait until it is resumed. A failed
// attempt is tried again after RetryDelay; the MaxAttempts-th failure
// marks the delivery failed (kept; see WebhookFailures). Every attempt is
// logged (WebhookLog). When ctx ends it stops between two requests (an
// attempt cut short by ctx does not count) and returns ctx's error. It
// returns an error when an outcome cannot be recorded; see the comment at
// the top of webhooks.go for what a crash can cause. Safe for concurrent
// use: calls on one database take turns.
func (s *Service) DeliverWebhooks(ctx context.Context) (sent, failed int, err error) {
	defer lockFor(&webhookDeliverLocks, s.db)()
	// Deliveries that fail now are due again later than this, so the loop
	// ends.
	until := s.now()
	var after []byte // the last due key looked at
	down := map[uint64]bool{}
	for {
		batch, err := s.dueDeliveries(after, until, deliverPage)
		if err != nil || len(batch) == 0 {
			return sent, failed, err
		}
		for _, dd := range batch {
			after = dd.key
			if dd.hook == nil || !dd.hook.Active || down[dd.hook.ID] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return sent, failed, err
			}
			started := time.Now() // a duration, measured: not the injected clock
			status, sendErr := s.postWebhook(ctx, dd.hook, dd.rec)
			took := time.Since(started)
			if sendErr != nil && ctx.Err() != nil {
				return sent, failed, ctx.Err()
			}
			if err := s.recordAttempt(dd.rec, status, sendErr, took, until); err != nil {
				return sent, failed, err
			}
			if sendErr == nil {
				sent++
				continue
			}
			down[dd.hook.ID] = true
			failed++
		}
	}
}

// dueDeliveries returns up to limit deliveries due at or before t whose
// due key comes after after, in due order, with their webhooks.
func (s *Service) dueDeliveries(after []byte, t time.Time, limit int) ([]dueDelivery, error) {
	var out []dueDelivery
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		q := tx.Bucket(bWebhookQueue)
		items, due := q.Bucket(subItems), q.Bucket(subDue)
		hooks := tx.Bucket(bWebhooks)
		end := store.TimeKey(t, ^uint64(0))
		c := due.Cursor()
		var k []byte
		if after == nil {
			k, _ = c.First()
		} else if k, _ = c.Seek(after); k != nil && bytes.Equal(k, after) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.Compare(k, end) <= 0 && len(out) < limit; k, _ = c.Next() {
			_, id := store.SplitTimeKey(k)
			d, err := getDelivery(items, id)
			if err != nil {
				return err
			}
			if d == nil {
				continue // cannot happen: the index changes with the item
			}
			dd := dueDelivery{key: bytes.Clone(k), rec: d}
			if v := hooks.Get(webhookKey(d.ProjectID, d.WebhookID)); v != nil {
				var w Webhook
				if err := json.Unmarshal(v, &w); err != nil {
					return fmt.Errorf("decode webhook %d: %w", d.WebhookID, err)
				}
				dd.hook = &w
			}
			out = append(out, dd)
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the webhook queue")
	}
	return out, nil
}

// postWebhook makes one request. It returns the status code (0 when no
// answer came) and nil for a 2xx answer, an error saying what failed
// otherwise.
func (s *Service) postWebhook(ctx context.Context, w *Webhook, d *deliveryRec) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "projblog-webhooks/1")
	req.Header.Set("X-Projblog-Event", d.Event)
	req.Header.Set("X-Projblog-Delivery", d.DeliveryID)
	if w.Format == WebhookJSON {
		req.Header.Set("X-Projblog-Signature", Signature(w.Secret, d.Body))
	}
	res, err := s.httpClient().Do(req)
	if err != nil {
		// Leave the URL out of what is logged and shown: the path of a
		// Slack or Teams URL is its secret.
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err
		}
		return 0, err
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return res.StatusCode, nil
	}
	msg := "HTTP " + res.Status
	if t := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")); t != "" {
		msg += ": " + t
	}
	return res.StatusCode, errors.New(msg)
}

// Signature is the X-Projblog-Signature header of a json webhook's
// request: "sha256=" and the hex HMAC-SHA256 of body keyed with secret.
func Signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// recordAttempt records one attempt's outcome and logs it, in one
// transaction: a delivered one leaves the queue; a failed one is
// scheduled again after RetryDelay (after notBefore too, the time the
// round started, so that a clock stepped back cannot make it due again in
// the same round), or marked failed after MaxAttempts.
func (s *Service) recordAttempt(d *deliveryRec, status int, sendErr error, took time.Duration, notBefore time.Time) error {
	now := s.now()
	if now.Before(notBefore) {
		now = notBefore
	}
	err := s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		q := tx.Bucket(bWebhookQueue)
		items, due := q.Bucket(subItems), q.Bucket(subDue)
		cur, err := getDelivery(items, d.ID)
		if err != nil || cur == nil {
			return err // deleted with its webhook meanwhile
		}
		if err := due.Delete(store.TimeKey(cur.NextAt, cur.ID)); err != nil {
			return err
		}
		entry := WebhookDelivery{DeliveryID: cur.DeliveryID, Event: cur.Event, Attempt: cur.Attempts + 1,
			At: now, StatusCode: status, Duration: took}
		if sendErr == nil {
			entry.Outcome = DeliveryOK
			if err := items.Delete(store.Key(cur.ID)); err != nil {
				return err
			}
		} else {
			cur.Attempts++
			cur.LastError = truncate(sendErr.Error(), 500)
			entry.Error = cur.LastError
			if cur.Attempts >= MaxAttempts {
				cur.Failed = true
				entry.Outcome = DeliveryFail
			} else {
				cur.NextAt = now.Add(RetryDelay(cur.Attempts))
				entry.Outcome, entry.NextAt = DeliveryRetry, cur.NextAt
				if err := due.Put(store.TimeKey(cur.NextAt, cur.ID), nil); err != nil {
					return err
				}
			}
			if err := putJSON(items, store.Key(cur.ID), cur); err != nil {
				return err
			}
		}
		return appendWebhookLog(tx.Bucket(bWebhookLog), cur.WebhookID, entry)
	})
	if err != nil {
		what := "record a failed webhook delivery"
		if sendErr == nil {
			what = "record a webhook delivery (it was delivered, and may be delivered once more)"
		}
		return apperr.Wrap(err, "%s %s", what, d.DeliveryID)
	}
	return nil
}

// appendWebhookLog adds an entry to a webhook's log and drops the oldest
// beyond WebhookLogSize.
func appendWebhookLog(b *bbolt.Bucket, webhookID uint64, entry WebhookDelivery) error {
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	prefix := store.Key(webhookID)
	if err := putJSON(b, append(bytes.Clone(prefix), store.Key(seq)...), entry); err != nil {
		return err
	}
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for len(keys) > WebhookLogSize {
		if err := b.Delete(keys[0]); err != nil {
			return err
		}
		keys = keys[1:]
	}
	return nil
}

// forEachDelivery calls fn with every queued and failed delivery.
func forEachDelivery(tx *bbolt.Tx, fn func(*deliveryRec) error) error {
	return tx.Bucket(bWebhookQueue).Bucket(subItems).ForEach(func(k, v []byte) error {
		var d deliveryRec
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode webhook delivery %d: %w", store.U64(k), err)
		}
		return fn(&d)
	})
}

func getDelivery(items *bbolt.Bucket, id uint64) (*deliveryRec, error) {
	v := items.Get(store.Key(id))
	if v == nil {
		return nil, nil
	}
	var d deliveryRec
	if err := json.Unmarshal(v, &d); err != nil {
		return nil, fmt.Errorf("decode webhook delivery %d: %w", id, err)
	}
	return &d, nil
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// deletePrefix deletes every key of b that starts with prefix.
func deletePrefix(b *bbolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// lastWithPrefix positions c on the last key that starts with prefix (an
// 8-byte key) and returns it, or nil when there is none.
func lastWithPrefix(c *bbolt.Cursor, prefix []byte) (k, v []byte) {
	next := store.Key(store.U64(prefix) + 1)
	if store.U64(prefix) == ^uint64(0) {
		k, v = c.Last()
	} else if k, _ = c.Seek(next); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil, nil
	}
	return k, v
}
