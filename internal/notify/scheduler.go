package notify

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/apperr"
	"projblog/internal/users"
)

// The scheduler: Run calls RunDigests, ConsumeEvents, FlushNotices,
// DeliverDue, ConsumeWebhookEvents and then DeliverWebhooks every minute
// (serve's choice) until the server stops.
//
// A person's weekly digest is due once their window has ended: at their
// weekly day and digest hour on their own wall clock (WeeklyWindow), so a
// digest comes at 08:00 local also in the week of a daylight-saving
// change. Each digest is enqueued under the key DigestKey(user, label);
// the outbox never takes a key twice, so calling RunDigests every minute,
// from several goroutines, or again after a crash and restart, enqueues
// one digest per person and window. An empty digest is not sent, but its
// key is recorded so it is not built again a minute later.
//
// A server that was down when a window ended catches up when it starts,
// as long as the window ended at most MaxDigestDelay ago; an older digest
// is not sent any more (the web page and the feed still show it).
//
// Daily digests work the same way, on daily windows (DailyWindow): due
// once a day at the person's digest hour, under the key DigestKey(user,
// "2026-11-30"), for people who follow something Daily (the index
// notify.daily, follow.go, makes that one lookup; the others have no daily
// digest at all). After a crash and restart only the last complete
// window is caught up, a day's at most once.
//
// Guest subscribers (guests.go) get their project's digest, weekly or
// daily, on Monday (every day) at 08:00 in their zone, under
// GuestDigestKey(guest, label), unless they unsubscribed; the window that
// ended before they were added is not sent (their welcome message came
// instead). A guest removed while their digest is built gets nothing: the
// enqueue checks, in its transaction, that they are still on the list.

// MaxDigestDelay is how late a digest may still be sent after its window
// ended.
const MaxDigestDelay = 7 * 24 * time.Hour

// DigestKey is the outbox key of userID's weekly digest for the window
// labelled label: "digest/USERID/2026-W48".
func DigestKey(userID uint64, label string) string {
	return "digest/" + strconv.FormatUint(userID, 10) + "/" + label
}

// RunDigests enqueues the weekly (and daily) digest of every person whose
// window has ended and whose digest for it is not enqueued yet: active
// accounts with an e-mail address whose settings have neither EmailOff
// nor MentionsOnly, and guest subscribers who did not unsubscribe.
// It returns how many digests it enqueued. A failure for one person does
// not stop the others; the errors are joined. It stops early, with ctx's
// error, when ctx ends.
//
// Cost when there is nothing to do (every minute but once a week): one
// read of all accounts (users.List) and one read transaction that looks
// up each person's settings and digest key: O(people), no write, no
// digest built. For each digest due it builds the digest (see
// BuildDigest), composes it and commits one write transaction.
// Safe for concurrent use.
func (s *Service) RunDigests(ctx context.Context) (enqueued int, err error) {
	all, err := s.users.List()
	if err != nil {
		return 0, err
	}
	now := s.now()
	type due struct {
		u   *users.User
		g   *Guest
		w   Window
		key string
	}
	var todo []due
	err = s.db.Bolt().View(func(tx *bbolt.Tx) error {
		sent := tx.Bucket(bSent)
		for _, u := range all {
			if !u.Active || u.Email == "" {
				continue
			}
			st, err := readSettings(tx, u.ID)
			if err != nil {
				return err
			}
			if st.EmailOff || st.MentionsOnly {
				continue
			}
			w := WeeklyWindow(now, u.Location(), st.WeeklyDay, st.DigestHour)
			if !w.End.After(now) && now.Sub(w.End) <= MaxDigestDelay {
				if key := DigestKey(u.ID, w.Label); sent.Get([]byte(key)) == nil {
					todo = append(todo, due{u: u, w: w, key: key})
				}
			}
			if hasDaily(tx, u.ID) {
				w := DailyWindow(now, u.Location(), st.DigestHour)
				if key := DigestKey(u.ID, w.Label); sent.Get([]byte(key)) == nil && now.Sub(w.End) <= MaxDigestDelay {
					todo = append(todo, due{u: u, w: w, key: key})
				}
			}
		}
		guests, err := s.allGuests(tx)
		if err != nil {
			return err
		}
		for i := range guests {
			g := &guests[i]
			if g.EmailOff {
				continue
			}
			w := guestWindow(g, now)
			if w.End.Before(g.AddedAt) || now.Sub(w.End) > MaxDigestDelay {
				continue
			}
			if key := GuestDigestKey(g.ID, w.Label); sent.Get([]byte(key)) == nil {
				todo = append(todo, due{g: g, w: w, key: key})
			}
		}
		return nil
	})
	if err != nil {
		return 0, apperr.Wrap(err, "find the digests due")
	}
	var errs []error
	for _, t := range todo {
		if err := ctx.Err(); err != nil {
			return enqueued, err
		}
		var added bool
		var err error
		if t.g != nil {
			added, err = s.enqueueGuestDigest(t.g, t.w, t.key)
		} else {
			added, err = s.enqueueDigest(t.u.ID, t.w, t.key)
		}
		if err != nil {
			to := t.key
			if t.u != nil {
				to = t.u.Email
			} else if t.g != nil {
				to = t.g.Email
			}
			errs = append(errs, apperr.Wrap(err, "digest %s for %s", t.key, to))
			continue
		}
		if added {
			enqueued++
		}
	}
	return enqueued, errors.Join(errs...)
}

// enqueueGuestDigest builds and enqueues a guest's digest, checking in the
// enqueue's transaction that the guest is still on the list.
func (s *Service) enqueueGuestDigest(g *Guest, w Window, key string) (bool, error) {
	d, err := s.BuildGuestDigest(g, w)
	if err != nil {
		return false, err
	}
	m, err := s.digestMessage(d, key)
	if err != nil || m == nil {
		return false, err
	}
	added := false
	err = s.db.Bolt().Update(func(tx *bbolt.Tx) error {
		cur, err := getGuest(tx, g.ProjectID, g.ID)
		if err != nil || cur == nil || cur.EmailOff {
			return err // removed or unsubscribed meanwhile: nothing to send
		}
		added, err = s.enqueueTx(tx, key, m)
		return err
	})
	if err != nil {
		return false, apperr.Wrap(err, "enqueue message %s", key)
	}
	return added, nil
}

func (s *Service) enqueueDigest(userID uint64, w Window, key string) (bool, error) {
	d, err := s.BuildDigest(userID, w)
	if err != nil {
		return false, err
	}
	m, err := s.digestMessage(d, key)
	if err != nil || m == nil {
		return false, err
	}
	return s.Enqueue(key, m)
}

// digestMessage composes the message of a digest due under key; nil, once
// the key is marked as having nothing to send, for an empty digest.
func (s *Service) digestMessage(d *Digest, key string) (*Message, error) {
	if d.Empty() {
		return nil, s.markNothingToSend(key)
	}
	return s.ComposeDigest(d)
}

// Run calls RunDigests, ConsumeEvents, FlushNotices, DeliverDue,
// ConsumeWebhookEvents and then DeliverWebhooks at once and then every
// every (a minute when it is not positive), until ctx ends. It logs what
// it enqueued and sent, the failed sends, and every error, on log (nil:
// nothing is logged); an error never stops the loop, since the next round
// retries. Notices are read and flushed before delivery, so a bundle that
// became due goes out in the same round; webhook deliveries are queued
// and sent in the same round as well. A receiver that does not answer
// holds a round up to WebhookTimeout once per webhook (its other
// deliveries wait for the next round).
func (s *Service) Run(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.round(ctx, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) round(ctx context.Context, log *slog.Logger) {
	n, err := s.RunDigests(ctx)
	if n > 0 {
		log.Info("notify: digests enqueued", "count", n)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("notify: building digests", "err", err)
	}
	if n, err := s.ConsumeEvents(ctx); err != nil && ctx.Err() == nil {
		log.Error("notify: reading events for notices", "err", err, "notices_added", n)
	}
	n, err = s.FlushNotices(ctx)
	if n > 0 {
		log.Info("notify: notices enqueued", "count", n)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("notify: bundling notices", "err", err)
	}
	sent, failed, err := s.DeliverDue(ctx)
	if sent > 0 {
		log.Info("notify: messages sent", "count", sent)
	}
	if failed > 0 {
		log.Warn("notify: sends failed; each is retried with backoff, and after max_attempts failures listed by `projblog notify failures`",
			"count", failed, "max_attempts", MaxAttempts)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("notify: delivering messages", "err", err)
	}
	if n, err := s.ConsumeWebhookEvents(ctx); err != nil && ctx.Err() == nil {
		log.Error("notify: reading events for webhooks", "err", err, "deliveries_queued", n)
	}
	sent, failed, err = s.DeliverWebhooks(ctx)
	if sent > 0 {
		log.Info("notify: webhook deliveries sent", "count", sent)
	}
	if failed > 0 {
		log.Warn("notify: webhook deliveries failed; each is retried with backoff, and after max_attempts failures kept as failed on the project's webhooks page",
			"count", failed, "max_attempts", MaxAttempts)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("notify: delivering webhooks", "err", err)
	}
}
