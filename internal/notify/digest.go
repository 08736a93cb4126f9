package notify

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
)

// Building a digest.
//
// BuildDigest gathers, for one person and one window [Start, End), what
// happened in every project they follow and may read:
//
//   - the projects: every followed project (Following), whatever the mode:
//     Weekly; Immediate too, since the immediate notices (notices.go) tell
//     only of new posts, as they come, and the digest stays the complete
//     record of the week; and for now Daily, since daily digests are not
//     built yet and their followers would otherwise hear nothing. Archived
//     projects are left out (nothing
//     happens there), and so is every project the person may not read
//     now, even one they chose to follow earlier;
//   - posts published in the window (pinned ones included), newest first,
//     each with its author, its comment count and Mine when the reader
//     wrote it: the digest is a complete record. A post counts in the
//     window of its first publication, whatever happened to it later; a
//     post unpublished or deleted since is not listed;
//   - decisions marked in the window, newest first (posts.Decisions);
//   - the project's health at the window's end (the newest status update
//     published before End; for a window that ends now, which is what the
//     web page shows for the week so far, that is the current health). It
//     is read at End rather than now so that a past week's digest (the
//     web page of an earlier week, the Atom feed's entries) stays the
//     record of that week. HealthChanged when a status update was
//     published in the window and the health at End differs from that of
//     the newest status update before Start (PreviousHealth, "" when there
//     was none);
//   - Overdue: the project's status update is overdue at End
//     (posts.Project.Overdue). That is judged from the project's latest
//     status update, so for an earlier week an update posted after its
//     End hides that the project was overdue then.
//
// A project with no post, no decision, no change of health and not overdue
// is left out. The projects come off track first, then at risk, then
// overdue, then the rest; within each group those with more posts first,
// then by name. Waiting lists the open acknowledgement requests of the
// person (posts.WaitingFor), whenever they were made, except in archived
// projects, where nobody can acknowledge any more.
//
// BuildDigest ignores the delivery settings (MentionsOnly, EmailOff): the
// web page and the feed show the digest anyway; the sender decides whether
// to mail it. A deactivated account gets an empty digest.
//
// Cost: one read of the person's subscriptions and memberships, then per
// followed project a few small reads: the posts from the newest down to
// the first one older than Start, in pages of 1, 10, then 100 (so a
// project without news costs one post read, and the window that just
// ended O(posts in the window); an earlier window also reads the posts
// published since its End, as the posts package pages from the newest),
// the decisions likewise, and the health history only when a status
// update was published since Start. It never scans all posts or all
// projects. The reads are separate transactions of the posts package, so
// a digest built while others write is not one snapshot; each part is
// consistent in itself.

// firstDigestPage is the page size the walks of posts and decisions start
// with: a page is loaded whole, and most projects have no news in a given
// week, so the first page holds one entry; each further page is ten times
// larger, up to posts.MaxLimit.
const firstDigestPage = 1

func nextDigestPage(limit int) int { return min(limit*10, posts.MaxLimit) }

// BuildDigest returns the digest of userID for the window w (see above).
// Errors: NotFound for an unknown user; otherwise only storage failures.
// An empty digest (Empty()) is a valid answer.
func (s *Service) BuildDigest(userID uint64, w Window) (*Digest, error) {
	u, err := s.users.ByID(userID)
	if err != nil {
		return nil, err
	}
	d := &Digest{User: u, Window: w}
	if !u.Active {
		return d, nil
	}
	actor := u.Actor()
	followed, err := s.following(u)
	if err != nil {
		return nil, err
	}
	var authorIDs []uint64
	for _, f := range followed {
		if f.Project.Archived {
			continue
		}
		pd, err := s.projectDigest(actor, f.Project, w)
		if apperr.Is(err, apperr.NotFound) {
			continue // access lost since Following read it
		}
		if err != nil {
			return nil, err
		}
		if len(pd.Posts) == 0 && len(pd.Decisions) == 0 && !pd.HealthChanged && !pd.Overdue {
			continue
		}
		for _, dp := range pd.Posts {
			authorIDs = append(authorIDs, dp.Post.AuthorID)
		}
		d.Projects = append(d.Projects, *pd)
	}
	if len(authorIDs) > 0 {
		authors, err := s.users.ByIDs(authorIDs)
		if err != nil {
			return nil, err
		}
		for i := range d.Projects {
			for j := range d.Projects[i].Posts {
				dp := &d.Projects[i].Posts[j]
				dp.Author = authors[dp.Post.AuthorID]
				dp.Mine = dp.Post.AuthorID == userID
			}
		}
	}
	slices.SortFunc(d.Projects, compareProjectDigests)
	if d.Waiting, err = s.waiting(actor, userID); err != nil {
		return nil, err
	}
	return d, nil
}

// digestRank is the group of a project in the digest's order.
func digestRank(pd *ProjectDigest) int {
	switch {
	case pd.Health == posts.OffTrack:
		return 0
	case pd.Health == posts.AtRisk:
		return 1
	case pd.Overdue:
		return 2
	}
	return 3
}

func compareProjectDigests(a, b ProjectDigest) int {
	if c := cmp.Compare(digestRank(&a), digestRank(&b)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.Posts), len(a.Posts)); c != 0 {
		return c
	}
	if c := cmp.Compare(strings.ToLower(a.Project.Name), strings.ToLower(b.Project.Name)); c != 0 {
		return c
	}
	return cmp.Compare(a.Project.ID, b.Project.ID)
}

// inWindow reports whether t is in [w.Start, w.End).
func inWindow(w Window, t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// projectDigest gathers one project's part of the digest (authors are
// filled in by the caller).
func (s *Service) projectDigest(actor access.Actor, pv *posts.ProjectView, w Window) (*ProjectDigest, error) {
	pd := &ProjectDigest{Project: pv, Health: pv.Health, Overdue: pv.Overdue(w.End)}
	var err error
	if pd.Posts, err = s.windowPosts(actor, pv.Slug, w); err != nil {
		return nil, err
	}
	if pd.Decisions, err = s.windowDecisions(actor, pv.Slug, w); err != nil {
		return nil, err
	}
	// Without a status update since Start the health at End is the
	// current one and did not change: no need to read the history.
	if pv.HealthAt.IsZero() || pv.HealthAt.Before(w.Start) {
		return pd, nil
	}
	hist, err := s.posts.HealthHistory(actor, pv.Slug, posts.MaxLimit)
	if err != nil {
		return nil, err
	}
	atEnd, foundEnd := posts.HealthNone, false
	before, foundBefore := posts.HealthNone, false
	changedInWindow := false
	for _, hp := range hist { // newest first
		switch {
		case !hp.At.Before(w.End):
			continue
		case !foundEnd:
			atEnd, foundEnd = hp.Health, true
		}
		if inWindow(w, hp.At) {
			changedInWindow = true
			continue
		}
		before, foundBefore = hp.Health, true
		break
	}
	truncated := len(hist) == posts.MaxLimit
	switch {
	case foundEnd:
		pd.Health = atEnd
	case !truncated:
		pd.Health = posts.HealthNone // no status update before End
	}
	// When the history was cut before reaching Start, the previous health
	// is unknown and no change is claimed.
	if changedInWindow && (foundBefore || !truncated) && atEnd != before {
		pd.HealthChanged, pd.PreviousHealth = true, before
	}
	return pd, nil
}

// windowPosts returns the project's posts published in w, newest first:
// it walks the project's list from the newest post and stops at the first
// one older than Start; pinned posts come with the first page and are
// kept when they were published in the window.
func (s *Service) windowPosts(actor access.Actor, slug string, w Window) ([]DigestPost, error) {
	var out []DigestPost
	add := func(p *posts.Post) {
		out = append(out, DigestPost{Post: p, Comments: p.CommentCount})
	}
	cursor, limit := "", firstDigestPage
	for {
		pinned, page, err := s.posts.ProjectPosts(actor, slug, cursor, limit)
		if err != nil {
			return nil, err
		}
		for _, p := range pinned {
			if inWindow(w, p.PublishedAt) {
				add(p)
			}
		}
		done := page.Next == ""
		for _, p := range page.Posts {
			if p.PublishedAt.Before(w.Start) {
				done = true
				break
			}
			if p.PublishedAt.Before(w.End) {
				add(p)
			}
		}
		if done {
			break
		}
		cursor, limit = page.Next, nextDigestPage(limit)
	}
	slices.SortStableFunc(out, func(a, b DigestPost) int {
		if c := b.Post.PublishedAt.Compare(a.Post.PublishedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.Post.ID, a.Post.ID)
	})
	return out, nil
}

// windowDecisions returns the project's decisions marked in w, newest
// first, walking the decision log until a mark older than Start.
func (s *Service) windowDecisions(actor access.Actor, slug string, w Window) ([]posts.Decision, error) {
	var out []posts.Decision
	cursor, limit := "", firstDigestPage
	for {
		ds, next, err := s.posts.Decisions(actor, slug, cursor, limit)
		if err != nil {
			return nil, err
		}
		done := next == ""
		for _, d := range ds {
			if d.MarkedAt.Before(w.Start) {
				done = true
				break
			}
			if d.MarkedAt.Before(w.End) {
				out = append(out, d)
			}
		}
		if done {
			return out, nil
		}
		cursor, limit = next, nextDigestPage(limit)
	}
}

// waiting is posts.WaitingFor without the requests in archived projects.
func (s *Service) waiting(actor access.Actor, userID uint64) ([]*posts.Post, error) {
	all, err := s.posts.WaitingFor(actor, userID)
	if err != nil {
		return nil, err
	}
	archived := map[uint64]bool{}
	out := all[:0]
	for _, p := range all {
		a, ok := archived[p.ProjectID]
		if !ok {
			pv, err := s.posts.ProjectByID(actor, p.ProjectID)
			switch {
			case apperr.Is(err, apperr.NotFound):
				a = true // unreadable since: leave it out too
			case err != nil:
				return nil, err
			default:
				a = pv.Archived
			}
			archived[p.ProjectID] = a
		}
		if !a {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
