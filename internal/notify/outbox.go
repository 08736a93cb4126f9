package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/store"
)

// The outbox makes e-mail durable: a message is first written to the
// database (Enqueue), then sent by DeliverDue, which records each outcome.
//
// # Storage
//
//	notify.outbox  sub-bucket "items": Key(id) -> outboxRec (JSON)   pending and failed messages
//	               sub-bucket "due":   TimeKey(NextAt, id) -> ""     pending messages by next attempt
//	notify.sent    message key -> sentRec (JSON)                     every key ever enqueued
//
// id comes from the items bucket's sequence. A sent message leaves both
// sub-buckets and its key's sentRec says "sent"; a failed one stays in
// items (marked failed, out of "due") until an admin retries it.
//
// # Retries
//
// A send that fails is tried again after a delay that doubles with each
// failure: 1 minute after the first, then 2, 4, 8, 16, 32 minutes, then
// every hour (RetryDelay). After MaxAttempts failed sends (about four hours
// of trying) the message is marked failed: it is kept, listed by Outbox
// (the admin page, `projblog notify failures`) and sent again only when
// Retry asks for it. Nothing is ever dropped.
//
// # Crashes
//
// Enqueue writes the message and the record of its key in one
// transaction, so a key (for a digest: one person and one window) is
// enqueued at most once, across crashes too.
//
// DeliverDue sends each message outside any transaction and records the
// success in its own write transaction right after Mailer.Send returns
// nil. Marking a message "sending" beforehand would not help: the SMTP
// server may have accepted the message or not when the process dies, and
// only the server knows. So:
//
//   - a crash before or during the send loses nothing: the message is
//     still due and goes out after the restart;
//   - a crash after the server accepted a message and before the record
//     committed sends that one message again after the restart. Messages
//     are sent one at a time, so a crash causes at most one duplicate,
//     of the message in flight. The duplicate carries the same Message-ID,
//     which many mail systems use to drop it.
//
// A failure to write the record (a full disk) is reported by DeliverDue
// and has the same effect as a crash at that point.

// MaxAttempts is how many failed sends make a message failed.
const MaxAttempts = 10

// RetryDelay returns how long to wait after the n-th failed send (n >= 1):
// one minute doubled n-1 times, at most one hour.
func RetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 7 { // 2^6 minutes is past the cap already
		return time.Hour
	}
	return min(time.Minute<<(n-1), time.Hour)
}

// OutboxItem is a message waiting in the outbox or failed, as the admin
// page and the CLI list it.
type OutboxItem struct {
	Key, To, Subject string
	Attempts         int       // failed sends so far
	NextAt           time.Time // next attempt (pending messages)
	LastError        string    // the error of the last failed send
	Failed           bool      // gave up after MaxAttempts; kept until Retry
	CreatedAt        time.Time
}

var (
	subItems = []byte("items")
	subDue   = []byte("due")
)

// outboxRec is an outbox entry as stored.
type outboxRec struct {
	ID        uint64    `json:"id"`
	Key       string    `json:"key"`
	Message   Message   `json:"message"`
	Attempts  int       `json:"attempts,omitempty"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
	Failed    bool      `json:"failed,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func (r *outboxRec) item() OutboxItem {
	return OutboxItem{Key: r.Key, To: r.Message.To, Subject: r.Message.Subject, Attempts: r.Attempts,
		NextAt: r.NextAt, LastError: r.LastError, Failed: r.Failed, CreatedAt: r.CreatedAt}
}

// The states of a key in notify.sent.
const (
	keyQueued = "queued" // in the outbox (pending or failed)
	keySent   = "sent"   // accepted by the mail server
	keyEmpty  = "empty"  // nothing to send (an empty digest); never enqueued
)

// sentRec is the record of a key in notify.sent.
type sentRec struct {
	State string    `json:"state"`
	ID    uint64    `json:"id,omitempty"` // the outbox entry while queued
	At    time.Time `json:"at"`
}

// maxKeyLen bounds message keys ("digest/USERID/2026-W48" is far shorter).
const maxKeyLen = 512

// Enqueue adds m to the outbox under key, unless key was enqueued before
// (sent, pending, failed, or recorded as having nothing to send): then it
// changes nothing and returns false. The check and the write are one
// transaction, so a key is enqueued at most once, also across crashes and
// concurrent callers. It returns apperr.Invalid for an empty or overlong
// key or a message without a recipient. Safe for concurrent use.
func (s *Service) Enqueue(key string, m *Message) (bool, error) {
	if err := checkEnqueue(key, m); err != nil {
		return false, err
	}
	added := false
	err := s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		var err error
		added, err = s.enqueueTx(tx, key, m)
		return err
	})
	if err != nil {
		return false, apperr.Wrap(err, "enqueue message %s", key)
	}
	return added, nil
}

func checkEnqueue(key string, m *Message) error {
	if key == "" || len(key) > maxKeyLen {
		return apperr.New(apperr.Invalid, "A message key must have 1 to %d bytes.", maxKeyLen)
	}
	if m == nil || m.To == "" {
		return apperr.New(apperr.Invalid, "The message %s has no recipient.", key)
	}
	return nil
}

// enqueueTx is Enqueue inside tx, for callers that must enqueue together
// with another write (FlushNotices deletes the notices it sends in the
// same transaction). It reports whether the message was added (false: the
// key was taken already).
func (s *Service) enqueueTx(tx *bbolt.Tx, key string, m *Message) (bool, error) {
	if err := checkEnqueue(key, m); err != nil {
		return false, err
	}
	now := s.now()
	sent := tx.Bucket(bSent)
	if sent.Get([]byte(key)) != nil {
		return false, nil
	}
	items, due, err := outboxBuckets(tx)
	if err != nil {
		return false, err
	}
	id, err := items.NextSequence()
	if err != nil {
		return false, err
	}
	rec := &outboxRec{ID: id, Key: key, Message: *m, NextAt: now, CreatedAt: now}
	if err := putRec(items, rec); err != nil {
		return false, err
	}
	if err := due.Put(store.TimeKey(rec.NextAt, id), nil); err != nil {
		return false, err
	}
	if err := putSentRec(sent, key, sentRec{State: keyQueued, ID: id, At: now}); err != nil {
		return false, err
	}
	return true, nil
}

// Enqueued reports whether key was ever enqueued (or recorded as having
// nothing to send).
func (s *Service) Enqueued(key string) (bool, error) {
	var ok bool
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		ok = tx.Bucket(bSent).Get([]byte(key)) != nil
		return nil
	})
	return ok, err
}

// markNothingToSend records key as done without a message (an empty
// digest), so that it is neither built again nor enqueued later. A key
// already recorded is left as it is.
func (s *Service) markNothingToSend(key string) error {
	now := s.now()
	return s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bSent)
		if b.Get([]byte(key)) != nil {
			return nil
		}
		return putSentRec(b, key, sentRec{State: keyEmpty, At: now})
	})
}

// deliverLocks serialises DeliverDue per database, so that two goroutines
// of one process never send the same message. Another process cannot open
// the database at the same time (bbolt's file lock), so no lease is
// recorded in the database.
var deliverLocks sync.Map // *store.DB -> *sync.Mutex

// deliverPage is how many due messages DeliverDue reads per transaction.
const deliverPage = 64

// DeliverDue sends every message whose next attempt is due, one at a time,
// through Options.Mailer, and returns how many were sent and how many
// sends failed in this call (each message is tried at most once per
// call). With no Mailer it does nothing. A failed send is scheduled again
// after RetryDelay; the MaxAttempts-th failure marks the message failed
// (Outbox lists it). When ctx ends it stops
// between two messages (a send cut short by ctx does not count as an
// attempt) and returns ctx's error. It returns an error when an outcome
// cannot be recorded; see the comment at the top of outbox.go for what a
// crash can cause. Safe for concurrent use: calls on one database take
// turns.
func (s *Service) DeliverDue(ctx context.Context) (sent, failed int, err error) {
	if s.opts.Mailer == nil {
		return 0, 0, nil
	}
	mu, _ := deliverLocks.LoadOrStore(s.db, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	// Messages that fail now are due again later than this, so the loop
	// ends.
	until := s.now()
	for {
		batch, err := s.dueRecs(until, deliverPage)
		if err != nil || len(batch) == 0 {
			return sent, failed, err
		}
		for _, rec := range batch {
			if err := ctx.Err(); err != nil {
				return sent, failed, err
			}
			sendErr := s.opts.Mailer.Send(ctx, &rec.Message)
			if sendErr == nil {
				if err := s.recordSent(rec); err != nil {
					return sent, failed, err
				}
				sent++
				continue
			}
			if err := ctx.Err(); err != nil {
				return sent, failed, err
			}
			if _, err := s.recordFailure(rec, sendErr, until); err != nil {
				return sent, failed, err
			}
			failed++
		}
	}
}

// dueRecs returns up to limit pending messages due at or before t, oldest
// due first.
func (s *Service) dueRecs(t time.Time, limit int) ([]*outboxRec, error) {
	var out []*outboxRec
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		root := tx.Bucket(bOutbox)
		items, due := root.Bucket(subItems), root.Bucket(subDue)
		if items == nil || due == nil {
			return nil
		}
		end := store.TimeKey(t, ^uint64(0))
		c := due.Cursor()
		for k, _ := c.First(); k != nil && string(k) <= string(end) && len(out) < limit; k, _ = c.Next() {
			_, id := store.SplitTimeKey(k)
			rec, err := getRec(items, id)
			if err != nil {
				return err
			}
			if rec == nil {
				continue // cannot happen: the index changes with the item
			}
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the outbox")
	}
	return out, nil
}

// recordSent removes a sent message from the outbox and records its key
// as sent, in one transaction.
func (s *Service) recordSent(rec *outboxRec) error {
	now := s.now()
	err := s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		items, due, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		// Retry may have moved the entry since it was read.
		cur, err := getRec(items, rec.ID)
		if err != nil {
			return err
		}
		if cur != nil {
			if err := due.Delete(store.TimeKey(cur.NextAt, cur.ID)); err != nil {
				return err
			}
			if err := items.Delete(store.Key(cur.ID)); err != nil {
				return err
			}
		}
		return putSentRec(tx.Bucket(bSent), rec.Key, sentRec{State: keySent, At: now})
	})
	if err != nil {
		return apperr.Wrap(err, "record message %s as sent (it was sent, and may be sent once more)", rec.Key)
	}
	return nil
}

// recordFailure counts a failed send and schedules the next attempt, or
// marks the message failed after MaxAttempts. It reports whether it gave
// up. The next attempt is scheduled after notBefore too (the time the
// round started), so that a clock stepped back cannot make the message due
// again within the same round.
func (s *Service) recordFailure(rec *outboxRec, sendErr error, notBefore time.Time) (gaveUp bool, err error) {
	now := s.now()
	if now.Before(notBefore) {
		now = notBefore
	}
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		items, due, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		cur, err := getRec(items, rec.ID)
		if err != nil || cur == nil {
			return err
		}
		if err := due.Delete(store.TimeKey(cur.NextAt, cur.ID)); err != nil {
			return err
		}
		cur.Attempts++
		cur.LastError = truncate(sendErr.Error(), 500)
		if cur.Attempts >= MaxAttempts {
			cur.Failed = true
			gaveUp = true
		} else {
			cur.NextAt = now.Add(RetryDelay(cur.Attempts))
			if err := due.Put(store.TimeKey(cur.NextAt, cur.ID), nil); err != nil {
				return err
			}
		}
		return putRec(items, cur)
	})
	if err != nil {
		return false, apperr.Wrap(err, "record the failed send of message %s", rec.Key)
	}
	return gaveUp, nil
}

// Outbox returns the messages not sent yet, pending and failed, oldest
// first. It reads the whole outbox, which holds only what is not sent.
func (s *Service) Outbox() ([]OutboxItem, error) {
	var out []OutboxItem
	err := s.db.Bolt().View(func(tx *bbolt.Tx) error {
		items := tx.Bucket(bOutbox).Bucket(subItems)
		if items == nil {
			return nil
		}
		return items.ForEach(func(k, v []byte) error {
			var rec outboxRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode outbox entry %d: %w", store.U64(k), err)
			}
			out = append(out, rec.item())
			return nil
		})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "read the outbox")
	}
	return out, nil
}

// Retry makes the message enqueued under key due now, with its count of
// failed attempts back at zero: the admin's "send again" for a failed
// message (or to hurry a pending one). It returns apperr.NotFound when no
// message with that key is waiting in the outbox (never enqueued, or
// already sent).
func (s *Service) Retry(key string) error {
	now := s.now()
	err := s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		var sr sentRec
		v := tx.Bucket(bSent).Get([]byte(key))
		if v == nil {
			return errNoOutboxItem(key)
		}
		if err := json.Unmarshal(v, &sr); err != nil {
			return err
		}
		if sr.State != keyQueued {
			return errNoOutboxItem(key)
		}
		items, due, err := outboxBuckets(tx)
		if err != nil {
			return err
		}
		rec, err := getRec(items, sr.ID)
		if err != nil {
			return err
		}
		if rec == nil {
			return errNoOutboxItem(key)
		}
		if !rec.Failed {
			if err := due.Delete(store.TimeKey(rec.NextAt, rec.ID)); err != nil {
				return err
			}
		}
		rec.Failed, rec.Attempts, rec.NextAt = false, 0, now
		if err := due.Put(store.TimeKey(rec.NextAt, rec.ID), nil); err != nil {
			return err
		}
		return putRec(items, rec)
	})
	if apperr.CodeOf(err) == apperr.NotFound {
		return err
	}
	if err != nil {
		return apperr.Wrap(err, "retry message %s", key)
	}
	return nil
}

func errNoOutboxItem(key string) error {
	return apperr.New(apperr.NotFound, "No message %q is waiting in the outbox.", key)
}

// outboxBuckets returns the outbox's sub-buckets, creating them the first
// time (inside a write transaction).
func outboxBuckets(tx *bbolt.Tx) (items, due *bbolt.Bucket, err error) {
	root := tx.Bucket(bOutbox)
	if items, err = root.CreateBucketIfNotExists(subItems); err != nil {
		return nil, nil, err
	}
	if due, err = root.CreateBucketIfNotExists(subDue); err != nil {
		return nil, nil, err
	}
	return items, due, nil
}

func getRec(items *bbolt.Bucket, id uint64) (*outboxRec, error) {
	v := items.Get(store.Key(id))
	if v == nil {
		return nil, nil
	}
	var rec outboxRec
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decode outbox entry %d: %w", id, err)
	}
	return &rec, nil
}

func putRec(items *bbolt.Bucket, rec *outboxRec) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return items.Put(store.Key(rec.ID), v)
}

func putSentRec(b *bbolt.Bucket, key string, r sentRec) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), v)
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
