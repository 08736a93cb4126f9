package posts

import (
	"bytes"
	"cmp"
	"slices"

	"go.etcd.io/bbolt"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/store"
)

// Reactions.
//
// A reaction is one of a small fixed set (ReactionNames) that a person
// puts on a post or a comment, so that "Thanks!" and "+1" need not be
// comments. Each person has each reaction at most once per target. Like
// comments, reactions need access.Discuss and a published post.
//
// Events (PostID is the post; Data):
//
//	reaction.added    {"reaction","comment_id"?,"target_author_id"}
//	reaction.removed  {"reaction","comment_id"?,"target_author_id"}
//
// target_author_id is the author of the post or comment reacted to.
// Nothing changed means no event.
//
// Storage:
//
//	posts.reactions  Key(postID)+Key(commentID)+name+0x00+Key(userID) -> Key(seq)
//	                 commentID 0 is the post itself; seq comes from the
//	                 bucket's sequence and orders the reactions as they were
//	                 made. A post's reactions are one prefix scan.

// ReactionNames are the reactions there are, in the order pages show
// them: 👍 thumbsup, 🎉 tada, ❤️ heart, 👀 eyes, ✅ check.
var ReactionNames = []string{"thumbsup", "tada", "heart", "eyes", "check"}

// Target names what a reaction or a decision is about: a post
// (CommentID 0) or one of its comments.
type Target struct {
	PostID    uint64
	CommentID uint64
}

// ReactionSet is the reactions on one target: reaction name -> the IDs of
// the users who reacted so, in the order they did. Names nobody used are
// absent.
type ReactionSet map[string][]uint64

func reactionKey(t Target, name string, userID uint64) []byte {
	return cat(store.Key(t.PostID), store.Key(t.CommentID), []byte(name), []byte{0}, store.Key(userID))
}

// reactionEvent is the Data of the reaction.* events.
type reactionEvent struct {
	Reaction       string `json:"reaction"`
	CommentID      uint64 `json:"comment_id,omitempty"`
	TargetAuthorID uint64 `json:"target_author_id"`
}

// React puts (on) or takes back (!on) the actor's reaction name on a post
// or one of its comments. It is idempotent: reacting twice, or taking back
// a reaction that is not there, changes nothing and appends no event. It
// needs access.Discuss and a published post. Errors: Invalid (Field
// "reaction") for a name not in ReactionNames; NotFound when the actor may
// not see the post, or the comment is missing, deleted or under another
// post; Unauthorized, Forbidden (archived project); Conflict for a draft or
// a post in the trash. Events: reaction.added or reaction.removed.
func (s *Service) React(actor access.Actor, t Target, name string, on bool) error {
	if !slices.Contains(ReactionNames, name) {
		return apperr.FieldErr("reaction", "There is no reaction “%s”.", name)
	}
	now := s.clock()
	return s.update(func(tx *bbolt.Tx) error {
		p, sc, err := loadPost(tx, actor, t.PostID)
		if err != nil {
			return err
		}
		if err := check(actor, sc, access.Discuss, "You may not react in this project."); err != nil {
			return err
		}
		if err := checkDiscussable(p); err != nil {
			return err
		}
		ev := reactionEvent{Reaction: name, TargetAuthorID: p.AuthorID}
		if t.CommentID != 0 {
			c, err := commentOf(tx, p, t.CommentID)
			if err != nil {
				return err
			}
			ev.CommentID, ev.TargetAuthorID = c.ID, c.AuthorID
		}
		b := tx.Bucket(bReactions)
		key := reactionKey(t, name, actor.UserID)
		if (b.Get(key) != nil) == on {
			return nil
		}
		typ := "reaction.removed"
		if on {
			typ = "reaction.added"
			var seq uint64
			if seq, err = b.NextSequence(); err != nil {
				return apperr.Wrap(err, "reaction sequence")
			}
			err = b.Put(key, store.Key(seq))
		} else {
			err = b.Delete(key)
		}
		if err != nil {
			return apperr.Wrap(err, "store reaction")
		}
		return s.emit(tx, typ, actor, now, p.ProjectID, p.ID, ev)
	})
}

// Reactions returns every reaction under a post, in one read: key 0 is the
// post itself, any other key a comment's ID; targets without reactions
// are absent. Reactions stay on a deleted comment's ID, so show those of
// the comments you show. It needs the post to be visible to the actor
// (NotFound otherwise) and costs O(reactions under the post).
func (s *Service) Reactions(actor access.Actor, postID uint64) (map[uint64]ReactionSet, error) {
	type one struct {
		target uint64
		name   string
		user   uint64
		seq    uint64
	}
	var all []one
	err := s.view(func(tx *bbolt.Tx) error {
		if _, _, err := loadPost(tx, actor, postID); err != nil {
			return err
		}
		prefix := store.Key(postID)
		c := tx.Bucket(bReactions).Cursor()
		for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			// Key(post) Key(comment) name 0x00 Key(user)
			if len(k) < 16+2+8 {
				continue
			}
			rest := k[16:]
			i := bytes.IndexByte(rest, 0)
			if i < 1 || len(rest) != i+1+8 {
				continue
			}
			all = append(all, one{
				target: store.U64(k[8:16]), name: string(rest[:i]),
				user: store.U64(rest[i+1:]), seq: store.U64(v),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b one) int { return cmp.Compare(a.seq, b.seq) })
	out := map[uint64]ReactionSet{}
	for _, r := range all {
		set := out[r.target]
		if set == nil {
			set = ReactionSet{}
			out[r.target] = set
		}
		set[r.name] = append(set[r.name], r.user)
	}
	return out, nil
}
