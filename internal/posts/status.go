package posts

import (
	"time"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

// Status updates.
//
// A post whose Health is set (on track, at risk, off track) is a status
// update. While it is published (not a draft, not in the trash) it is part
// of its project's health history (health.go), and the newest published
// one — by PublishedAt, which never moves — is the project's current
// health. The post form carries the health like any other field: an update
// with PostInput.Health "" turns a status update back into an ordinary
// post, so a form that edits a status update must send its health again.
//
// Events, besides the post's own:
//
//	health.changed   {"from","to","post_id"}: the project's current health
//	                 value changed; post_id is the status update that now
//	                 sets it (0 when none is left). The event's PostID is
//	                 the post whose write caused the change.
//	post.health_set  {"health","previous"}: an existing post's own health
//	                 was changed by an edit (whether or not the project's
//	                 current health moved), so caches of the history see
//	                 the write.
//	ack.requested    see acks.go, for PostInput.AckUserIDs / AckAll.

// errBadHealth is the error for a health value that is not one of the
// three (or none).
func errBadHealth() error {
	return apperr.FieldErr("health", "The health must be on track, at risk or off track (or none for an ordinary post).")
}

// statusAfterPostWrite runs inside CreatePost's and UpdatePost's
// transaction after the post is written (old is nil on create). It stores
// in.Health on the post, keeps the project's health history and current
// health in step (which also covers unpublishing: the hook sees p.Draft),
// and, when the post is published, asks for the acknowledgements the form
// names, with RequestAcks' rules. Any error rolls the whole write back.
func (s *Service) statusAfterPostWrite(tx *bbolt.Tx, actor access.Actor, sc *scope, old, p *postRec, in PostInput, now time.Time) error {
	if !in.Health.Valid() {
		return errBadHealth()
	}
	if p.Health != in.Health {
		p.Health = in.Health
		if err := putPost(tx, p); err != nil {
			return err
		}
	}
	if old != nil && old.Health != p.Health {
		if err := s.emit(tx, "post.health_set", actor, now, p.ProjectID, p.ID, map[string]any{
			"health": p.Health, "previous": old.Health,
		}); err != nil {
			return err
		}
	}
	if err := s.syncHealth(tx, actor, sc.proj, old, p, now); err != nil {
		return err
	}
	if p.published() && (len(in.AckUserIDs) > 0 || in.AckAll) {
		if err := s.requestAcks(tx, actor, sc, p, in.AckUserIDs, in.AckAll, now); err != nil {
			return err
		}
	}
	return nil
}
