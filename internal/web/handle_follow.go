package web

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"projblog/internal/notify"
	"projblog/internal/posts"
)

// The Follow control of a post page (its comments) and of a tag page (the
// tag in every project the reader may read): what the signed-in reader
// follows, how, and the forms that change it. Both forms post to
// /settings/follow (handle_digest.go), with the page to come back to.

// followBox is what the "follow" partial shows.
type followBox struct {
	ID      string // unique on the page, for labels
	Field   string // the form field: post_ID or tag_TAG
	Mode    string // the current mode; "off" when not following
	Default string // the mode offered to someone not following
	Next    string // the page to come back to
	On, Off string // what the box says when following, when not
	Why     string // why an implicit follow is there ("" when chosen)
	Modes   []notify.Mode
}

// Following reports whether the box shows something followed.
func (b *followBox) Following() bool { return b.Mode != string(notify.Off) }

// Selected is the mode the select shows.
func (b *followBox) Selected() string {
	if b.Following() {
		return b.Mode
	}
	return b.Default
}

var followOnModes = []notify.Mode{notify.Immediate, notify.Daily, notify.Weekly}

// postFollowBox puts the Follow control of a published post on p, for a
// signed-in reader.
func (s *Server) postFollowBox(c echo.Context, p *page, post *posts.Post, pv *posts.ProjectView) error {
	u := currentUser(c)
	if u == nil || post.Draft || !post.DeletedAt.IsZero() {
		return nil
	}
	m, why, err := s.notify.PostMode(u.ID, post)
	if err != nil {
		return err
	}
	b := &followBox{ID: "post", Field: "post_" + strconv.FormatUint(post.ID, 10), Mode: string(m),
		Default: string(notify.Immediate), Next: postURL(pv.Slug, post) + "#follow-post",
		On: p.T("follow.post_on"), Off: p.T("follow.post_off"), Modes: followOnModes}
	if why != "" && m != notify.Off {
		b.Why = p.T("follow.why_" + why)
	}
	p.Data["FollowBox"] = b
	return nil
}

// tagFollowBox puts the Follow control of a tag on p, for a signed-in
// reader; back is the tag page's path.
func (s *Server) tagFollowBox(c echo.Context, p *page, tag, back string) error {
	u := currentUser(c)
	if u == nil {
		return nil
	}
	m, err := s.notify.TagMode(u.ID, tag)
	if err != nil {
		return err
	}
	p.Data["FollowBox"] = &followBox{ID: "tag", Field: "tag_" + tag, Mode: string(m), Default: string(notify.Weekly),
		Next: back + "#follow-tag", On: p.T("follow.tag_on", tag), Off: p.T("follow.tag_off", tag), Modes: followOnModes}
	return nil
}
