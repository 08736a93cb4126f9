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

// MaxDigestDelay is how late a digest may still be sent after its window
// ended.
const MaxDigestDelay = 7 * 24 * time.Hour

// DigestKey is the outbox key of userID's weekly digest for the window
// labelled label: "digest/USERID/2026-W48".
func DigestKey(userID uint64, label string) string {
	return "digest/" + strconv.FormatUint(userID, 10) + "/" + label
}

// RunDigests enqueues the weekly digest of every person whose window has
// ended and whose digest for it is not enqueued yet: active accounts with
// an e-mail address whose settings have neither EmailOff nor MentionsOnly.
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
			if w.End.After(now) || now.Sub(w.End) > MaxDigestDelay {
				continue
			}
			key := DigestKey(u.ID, w.Label)
			if sent.Get([]byte(key)) != nil {
				continue
			}
			todo = append(todo, due{u, w, key})
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
		added, err := s.enqueueDigest(t.u.ID, t.w, t.key)
		if err != nil {
			errs = append(errs, apperr.Wrap(err, "digest %s for %s", t.key, t.u.Email))
			continue
		}
		if added {
			enqueued++
		}
	}
	return enqueued, errors.Join(errs...)
}

func (s *Service) enqueueDigest(userID uint64, w Window, key string) (bool, error) {
	d, err := s.BuildDigest(userID, w)
	if err != nil {
		return false, err
	}
	if d.Empty() {
		return false, s.markNothingToSend(key)
	}
	m, err := s.ComposeDigest(d)
	if err != nil {
		return false, err
	}
	return s.Enqueue(key, m)
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
