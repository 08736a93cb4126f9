package posts

import (
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Health history.
//
// Key layout of bHealth ("posts.health"): one entry per published status
// update (a post with a Health, not a draft, not deleted):
//
//	Key(pid) + TimeKey(PublishedAt, postID) -> the health value
//
// so the last entry under a project is its current health and a walk
// backwards lists the history newest first. syncHealth keeps it in step in
// every transaction that publishes, edits, unpublishes, deletes or restores
// a post, and derives the project's Health, HealthAt and HealthPostID from
// it; deleting or unpublishing the current status update thus falls back
// to the previous one, and a restore brings it back.

// HealthPoint is one entry of a project's health history: a published
// status update, its health and when it was published.
type HealthPoint struct {
	PostID uint64
	Health Health
	At     time.Time
}

func healthKey(p *postRec) []byte {
	return cat(store.Key(p.ProjectID), store.TimeKey(p.PublishedAt, p.ID))
}

// isStatus reports whether p belongs in its project's health history.
func isStatus(p *postRec) bool { return p != nil && p.Health != HealthNone && p.published() }

// syncHealth moves the post's history entry from its state before (nil on
// create) to its state now, recomputes the project's current health from
// the newest entry, stores the project when that changed, and appends
// health.changed when the health value changed. PublishedAt never moves,
// so the entry's key is the same before and after.
func (s *Service) syncHealth(tx *bbolt.Tx, actor access.Actor, proj *projectRec, before, p *postRec, now time.Time) error {
	b := tx.Bucket(bHealth)
	if isStatus(before) {
		if err := b.Delete(healthKey(before)); err != nil {
			return apperr.Wrap(err, "delete health entry")
		}
	}
	if isStatus(p) {
		if err := b.Put(healthKey(p), []byte(p.Health)); err != nil {
			return apperr.Wrap(err, "store health entry")
		}
	}

	var (
		health Health
		at     time.Time
		postID uint64
	)
	prefix := store.Key(proj.ID)
	if k, v := lastUnder(b.Cursor(), prefix); k != nil {
		at, postID = store.SplitTimeKey(k[len(prefix):])
		health = Health(v)
	}
	if health == proj.Health && at.Equal(proj.HealthAt) && postID == proj.HealthPostID {
		return nil
	}
	from := proj.Health
	proj.Health, proj.HealthAt, proj.HealthPostID = health, at, postID
	if err := putProject(tx, proj); err != nil {
		return err
	}
	if from == health {
		return nil
	}
	return s.emit(tx, "health.changed", actor, now, proj.ID, p.ID, map[string]any{
		"from": from, "to": health, "post_id": postID,
	})
}

// lastUnder positions c on the last key that starts with prefix and
// returns it, or nil when there is none.
func lastUnder(c *bbolt.Cursor, prefix []byte) (k, v []byte) {
	k, _ = c.Seek(cat(prefix, maxTK))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !hasPrefix(k, prefix) {
		return nil, nil
	}
	return k, v
}

// HealthHistory returns a project's published status updates, newest
// first, at most limit of them (limit <= 0 means DefaultLimit; capped at
// MaxLimit). It needs access.Read (NotFound otherwise) and costs O(limit).
// Drafts and deleted status updates are not part of the history.
func (s *Service) HealthHistory(actor access.Actor, projectSlug string, limit int) ([]HealthPoint, error) {
	limit = clampLimit(limit)
	var out []HealthPoint
	err := s.view(func(tx *bbolt.Tx) error {
		sc, err := scopeBySlug(tx, actor, projectSlug)
		if err != nil {
			return err
		}
		prefix := store.Key(sc.proj.ID)
		c := tx.Bucket(bHealth).Cursor()
		for k, v := lastUnder(c, prefix); k != nil && hasPrefix(k, prefix) && len(out) < limit; k, v = c.Prev() {
			at, id := store.SplitTimeKey(k[len(prefix):])
			out = append(out, HealthPoint{PostID: id, Health: Health(v), At: at})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
