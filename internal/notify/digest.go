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
//   - the projects: the followed projects (Following) whose mode belongs
//     to the window's kind. A weekly window takes Weekly and Immediate
//     (the immediate notices, notices.go, tell only of new posts, as they
//     come, and the digest stays the complete record of the week); a
//     daily window (Window.Daily) takes Daily, and a project followed
//     Daily is not in the weekly digest, which would repeat it. Archived
//     projects are left out (nothing happens there), and so is every
//     project the person may not read now, even one they chose to follow
//     earlier;
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
// is left out.
//
// Then what the person follows besides projects (follow.go), with the
// same rule of modes: for each followed tag, the posts published with it
// in the window in projects the person may read and does not follow in
// this digest (those are listed under their project already), newest
// first (Tags); for each post followed by explicit choice (Weekly for the
// weekly digest, Daily for the daily one: implicit follows are Immediate,
// and their comments were told at once), the number of comments written
// by others in the window and who wrote them (Discussions, the most
// recently active first). The projects come off track first, then at risk, then
// overdue, then the rest; within each group those with more posts first,
// then by name. Waiting lists the open acknowledgement requests of the
// person (posts.WaitingFor), whenever they were made, except in archived
// projects, where nobody can acknowledge any more; only weekly digests
// carry them, so that a daily digest is not sent every day for a request
// that waits.
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
// consistent in itself. A project's part is read as any of its readers
// sees it (no drafts) and cached (digest_cache.go): built once per window
// and event-log head, and shared by all its readers, so the project reads
// above happen once per project and window, not once per follower. The
// followed tags' posts and followed posts' comments are read per person.

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
	inDigest := func(m Mode) bool {
		if w.Daily {
			return m == Daily
		}
		return m == Weekly || m == Immediate
	}
	listed := map[uint64]bool{}
	for _, f := range followed {
		if f.Project.Archived || !inDigest(f.Mode) {
			continue
		}
		listed[f.Project.ID] = true
		pd, err := s.projectDigest(f.Project, w)
		if apperr.Is(err, apperr.NotFound) {
			continue // access lost since Following read it
		}
		if err != nil {
			return nil, err
		}
		if len(pd.Posts) == 0 && len(pd.Decisions) == 0 && !pd.HealthChanged && !pd.Overdue {
			continue
		}
		d.Projects = append(d.Projects, *pd)
	}
	slices.SortFunc(d.Projects, compareProjectDigests)
	tags, err := s.FollowedTags(userID)
	if err != nil {
		return nil, err
	}
	projects := map[uint64]*posts.ProjectView{} // read once per digest
	for _, ft := range tags {
		if !inDigest(ft.Mode) {
			continue
		}
		td, err := s.tagDigest(actor, ft.Tag, w, listed, projects)
		if err != nil {
			return nil, err
		}
		if len(td.Posts) > 0 {
			d.Tags = append(d.Tags, *td)
		}
	}
	postMode := Weekly
	if w.Daily {
		postMode = Daily
	}
	if d.Discussions, err = s.discussions(actor, userID, w, postMode); err != nil {
		return nil, err
	}
	if err := s.fillAuthors(d, userID); err != nil {
		return nil, err
	}
	if !w.Daily {
		if d.Waiting, err = s.waiting(actor, userID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// fillAuthors sets the author of every post of the digest (one read) and
// Mine for those readerID wrote (0: nobody's).
func (s *Service) fillAuthors(d *Digest, readerID uint64) error {
	var ids []uint64
	var all []*DigestPost
	for i := range d.Projects {
		for j := range d.Projects[i].Posts {
			all = append(all, &d.Projects[i].Posts[j])
		}
	}
	for i := range d.Tags {
		for j := range d.Tags[i].Posts {
			all = append(all, &d.Tags[i].Posts[j])
		}
	}
	if len(all) == 0 {
		return nil
	}
	for _, dp := range all {
		ids = append(ids, dp.Post.AuthorID)
	}
	authors, err := s.users.ByIDs(ids)
	if err != nil {
		return err
	}
	for _, dp := range all {
		dp.Author = authors[dp.Post.AuthorID]
		dp.Mine = readerID != 0 && dp.Post.AuthorID == readerID
	}
	return nil
}

// tagDigest walks the posts with tag across the projects the actor may
// read, from the newest down to the first older than Start, and keeps
// those published in w in projects not in listed.
func (s *Service) tagDigest(actor access.Actor, tag string, w Window, listed map[uint64]bool, projects map[uint64]*posts.ProjectView) (*TagDigest, error) {
	td := &TagDigest{Tag: tag}
	cursor, limit := "", firstDigestPage
	for {
		page, err := s.posts.TagPosts(actor, "", tag, cursor, limit)
		if err != nil {
			return nil, err
		}
		done := page.Next == ""
		for _, p := range page.Posts {
			if p.PublishedAt.Before(w.Start) {
				done = true
				break
			}
			if !p.PublishedAt.Before(w.End) || listed[p.ProjectID] {
				continue
			}
			pv, ok := projects[p.ProjectID]
			if !ok {
				pv, err = s.posts.ProjectByID(actor, p.ProjectID)
				if err != nil && !apperr.Is(err, apperr.NotFound) {
					return nil, err
				}
				projects[p.ProjectID] = pv
			}
			if pv == nil {
				continue
			}
			td.Posts = append(td.Posts, DigestPost{Post: p, Comments: p.CommentCount, Project: pv})
		}
		if done {
			return td, nil
		}
		cursor, limit = page.Next, nextDigestPage(limit)
	}
}

// maxCommenters is how many names a DiscussionDigest keeps.
const maxCommenters = 3

// discussions returns the posts the person follows with mode (by explicit
// choice) that others commented on during w, the most recently active
// first.
func (s *Service) discussions(actor access.Actor, userID uint64, w Window, mode Mode) ([]DiscussionDigest, error) {
	ids, err := s.postSubsWithMode(userID, mode)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []DiscussionDigest
	var authorIDs []uint64
	firsts := map[int][]uint64{} // index in out -> commenters in order
	for _, id := range ids {
		p, pv, err := s.posts.Post(actor, id)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.Draft || !p.DeletedAt.IsZero() || p.CommentCount == 0 {
			continue
		}
		comments, err := s.posts.Comments(actor, id)
		if err != nil {
			return nil, err
		}
		dd := DiscussionDigest{Post: p, Project: pv}
		var who []uint64
		for _, c := range comments {
			if c.Deleted() || c.AuthorID == userID || !inWindow(w, c.CreatedAt) {
				continue
			}
			dd.Comments++
			if c.CreatedAt.After(dd.LastAt) {
				dd.LastAt = c.CreatedAt
			}
			if !slices.Contains(who, c.AuthorID) {
				who = append(who, c.AuthorID)
			}
		}
		if dd.Comments == 0 {
			continue
		}
		firsts[len(out)] = who
		authorIDs = append(authorIDs, who...)
		out = append(out, dd)
	}
	if len(out) == 0 {
		return nil, nil
	}
	names, err := s.users.ByIDs(authorIDs)
	if err != nil {
		return nil, err
	}
	for i := range out {
		for _, id := range firsts[i] {
			if len(out[i].Commenters) == maxCommenters {
				break
			}
			if u := names[id]; u != nil {
				out[i].Commenters = append(out[i].Commenters, u.Name)
			}
		}
	}
	slices.SortFunc(out, func(a, b DiscussionDigest) int {
		if c := b.LastAt.Compare(a.LastAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Post.ID, b.Post.ID)
	})
	return out, nil
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

// projectDigest returns one project's part of a digest for the reader
// whose view of the project pv is (authors are filled in by the caller),
// from the cache when it holds it (see digest_cache.go). The caller has
// decided that the reader may read the project.
func (s *Service) projectDigest(pv *posts.ProjectView, w Window) (*ProjectDigest, error) {
	head := s.db.Head() // before the build: a write meanwhile makes the entry stale at once
	if c := s.digests.get(head, pv.ID, w); c != nil {
		return c.forReader(pv, w), nil
	}
	pd, latest, err := s.buildProjectDigest(pv, w)
	if err != nil {
		return nil, err
	}
	c := s.digests.put(head, pv.ID, w, pd, latest)
	return c.forReader(pv, w), nil
}

// buildProjectDigest gathers one project's part of the digest as any of
// its readers sees it: it reads as a guest of the project would
// (access.Actor{GuestOf}), who sees what every reader sees and no draft.
// latest is the newest time among the project's posts, decisions and
// health updates that the walk saw (zero when there are none).
func (s *Service) buildProjectDigest(pv *posts.ProjectView, w Window) (pd *ProjectDigest, latest time.Time, err error) {
	actor := access.Actor{GuestOf: pv.ID}
	pd = &ProjectDigest{Project: pv, Health: pv.Health, Overdue: pv.Overdue(w.End)}
	var newest time.Time
	if pd.Posts, newest, err = s.windowPosts(actor, pv.Slug, w); err != nil {
		return nil, latest, err
	}
	latest = maxTime(newest, pv.HealthAt)
	if pd.Decisions, newest, err = s.windowDecisions(actor, pv.Slug, w); err != nil {
		return nil, latest, err
	}
	latest = maxTime(latest, newest)
	// Without a status update since Start the health at End is the
	// current one and did not change: no need to read the history.
	if pv.HealthAt.IsZero() || pv.HealthAt.Before(w.Start) {
		return pd, latest, nil
	}
	hist, err := s.posts.HealthHistory(actor, pv.Slug, posts.MaxLimit)
	if err != nil {
		return nil, latest, err
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
	return pd, latest, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// windowPosts returns the project's posts published in w, newest first:
// it walks the project's list from the newest post and stops at the first
// one older than Start; pinned posts come with the first page and are
// kept when they were published in the window. newest is the latest
// publication time of the project (the first page holds it).
func (s *Service) windowPosts(actor access.Actor, slug string, w Window) (out []DigestPost, newest time.Time, err error) {
	add := func(p *posts.Post) {
		out = append(out, DigestPost{Post: p, Comments: p.CommentCount})
	}
	cursor, limit := "", firstDigestPage
	for {
		pinned, page, err := s.posts.ProjectPosts(actor, slug, cursor, limit)
		if err != nil {
			return nil, newest, err
		}
		for _, p := range pinned {
			newest = maxTime(newest, p.PublishedAt)
			if inWindow(w, p.PublishedAt) {
				add(p)
			}
		}
		if cursor == "" && len(page.Posts) > 0 {
			newest = maxTime(newest, page.Posts[0].PublishedAt)
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
	return out, newest, nil
}

// windowDecisions returns the project's decisions marked in w, newest
// first, walking the decision log until a mark older than Start; newest
// is the latest mark of the project.
func (s *Service) windowDecisions(actor access.Actor, slug string, w Window) (out []posts.Decision, newest time.Time, err error) {
	cursor, limit := "", firstDigestPage
	for {
		ds, next, err := s.posts.Decisions(actor, slug, cursor, limit)
		if err != nil {
			return nil, newest, err
		}
		if cursor == "" && len(ds) > 0 {
			newest = ds[0].MarkedAt
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
			return out, newest, nil
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
