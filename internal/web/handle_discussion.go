package web

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/users"
)

func (s *Server) registerDiscussionRoutes(e *echo.Echo) {
	e.POST("/p/:project/:post/comments", s.addComment, s.requireLogin)
	e.POST("/p/:project/:post/comments/:id/edit", s.editComment, s.requireLogin)
	e.POST("/p/:project/:post/comments/:id/delete", s.deleteComment, s.requireLogin)
	e.POST("/p/:project/:post/react", s.react, s.requireLogin)
	e.POST("/p/:project/:post/decision", s.decision, s.requireLogin)
	e.POST("/p/:project/:post/acks", s.requestAcks, s.requireLogin)
	e.POST("/p/:project/:post/ack", s.acknowledge, s.requireLogin)
	e.GET("/p/:project/decisions", s.decisionLog)
	e.GET("/p/:project/people.json", s.mentionCompletion, s.requireLogin)
	e.POST("/p/:project/cadence", s.setCadence, s.requireLogin)
}

// reactionEmoji shows each reaction of the fixed set.
var reactionEmoji = map[string]string{"thumbsup": "👍", "tada": "🎉", "heart": "❤️", "eyes": "👀", "check": "✅"}

// reactionView is one reaction button: its emoji, who reacted, and
// whether the reader is among them.
type reactionView struct {
	Name, Emoji string
	Count       int
	Names       string // who reacted, for the tooltip and the accessible name
	Mine        bool
}

// reactionViews lists every reaction of the set for one post or comment.
func reactionViews(set posts.ReactionSet, people map[uint64]*users.User, me uint64) []reactionView {
	out := make([]reactionView, 0, len(posts.ReactionNames))
	for _, name := range posts.ReactionNames {
		ids := set[name]
		v := reactionView{Name: name, Emoji: reactionEmoji[name], Count: len(ids)}
		var names []string
		for _, id := range ids {
			if id == me {
				v.Mine = true
			}
			if u := people[id]; u != nil {
				names = append(names, u.Name)
			}
		}
		v.Names = strings.Join(names, ", ")
		out = append(out, v)
	}
	return out
}

// commentView is a comment as the post page shows it.
type commentView struct {
	*posts.Comment
	Author    *users.User
	Reactions []reactionView
	New       bool // newer than the reader's previous visit
	CanEdit   bool
	CanDelete bool
	CanDecide bool
	Replies   []*commentView
}

// ackView is one acknowledgement request with its person.
type ackView struct {
	posts.Ack
	User *users.User
}

// discussion loads everything under a post for its page: comments in
// threads, reactions, acknowledgements, who has seen it; it also records
// the reader's visit. People are read once for all of it.
func (s *Server) discussion(c echo.Context, p *page, post *posts.Post, pv *posts.ProjectView) error {
	a := actor(c)
	u := currentUser(c)
	comments, err := s.posts.Comments(a, post.ID)
	if err != nil {
		return err
	}
	reactions, err := s.posts.Reactions(a, post.ID)
	if err != nil {
		return err
	}
	acks, err := s.posts.Acks(a, post.ID)
	if err != nil {
		return err
	}
	seen, err := s.posts.SeenBy(a, post.ID)
	if err != nil {
		return err
	}
	var lastVisit time.Time
	if u != nil {
		if lastVisit, err = s.posts.Visit(u.ID, post.ID); err != nil {
			return err
		}
		if err := s.posts.RecordSeen(a, post.ID); err != nil {
			return err
		}
	}

	ids := []uint64{post.AuthorID}
	for _, cm := range comments {
		ids = append(ids, cm.AuthorID)
	}
	for _, set := range reactions {
		for _, list := range set {
			ids = append(ids, list...)
		}
	}
	for _, ak := range acks {
		ids = append(ids, ak.UserID)
	}
	for _, sn := range seen {
		ids = append(ids, sn.UserID)
	}
	people, err := s.users.ByIDs(ids)
	if err != nil {
		return err
	}
	var me uint64
	if u != nil {
		me = u.ID
	}
	canModerate := can(c, pv, access.EditOthers)
	canDiscuss := can(c, pv, access.Discuss)
	byID := map[uint64]*commentView{}
	var threads []*commentView
	newCount := 0
	for _, cm := range comments {
		v := &commentView{Comment: cm, Author: people[cm.AuthorID]}
		if v.Author == nil {
			v.Author = &users.User{Name: "?"}
		}
		v.Reactions = reactionViews(reactions[cm.ID], people, me)
		v.New = u != nil && !lastVisit.IsZero() && cm.CreatedAt.After(lastVisit) && cm.AuthorID != me && cm.DeletedAt.IsZero()
		if v.New {
			newCount++
		}
		own := u != nil && cm.AuthorID == me
		v.CanEdit = own && canDiscuss && cm.DeletedAt.IsZero()
		v.CanDelete = (own && canDiscuss || canModerate) && cm.DeletedAt.IsZero()
		v.CanDecide = (own && canDiscuss || canModerate) && cm.DeletedAt.IsZero()
		byID[cm.ID] = v
		if cm.ParentID == 0 {
			threads = append(threads, v)
		} else if parent := byID[cm.ParentID]; parent != nil {
			parent.Replies = append(parent.Replies, v)
		}
	}
	var ackViews []ackView
	var myAck *posts.Ack
	done := 0
	for i, ak := range acks {
		ackViews = append(ackViews, ackView{Ack: ak, User: people[ak.UserID]})
		if !ak.AckedAt.IsZero() {
			done++
		}
		if ak.UserID == me {
			myAck = &acks[i]
		}
	}
	var seenNames []string
	for _, sn := range seen {
		if su := people[sn.UserID]; su != nil {
			seenNames = append(seenNames, su.Name)
		}
	}
	p.Data["Comments"] = threads
	p.Data["CommentCount"] = post.CommentCount
	p.Data["NewCount"] = newCount
	p.Data["PostReactions"] = reactionViews(reactions[0], people, me)
	p.Data["CanDiscuss"] = canDiscuss
	p.Data["Acks"] = ackViews
	p.Data["AcksDone"] = done
	p.Data["MyAck"] = myAck
	p.Data["Seen"] = seenNames
	p.Data["SeenOn"] = pv.SeenBy
	p.Data["CanDecidePost"] = can(c, pv, editAction(c, post)) && post.DeletedAt.IsZero()
	if can(c, pv, editAction(c, post)) && !post.Draft {
		members, err := s.memberChoices(a, pv.Slug)
		if err != nil {
			return err
		}
		p.Data["AckChoices"] = members
	}
	return nil
}

// memberChoice is a project member offered in a form.
type memberChoice struct {
	ID     uint64
	Name   string
	Handle string
	Role   access.Role
}

// memberChoices lists the project's members by name, for the
// acknowledgement request form and mention completion.
func (s *Server) memberChoices(a access.Actor, slug string) ([]memberChoice, error) {
	members, err := s.posts.Members(a, slug)
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	people, err := s.users.ByIDs(ids)
	if err != nil {
		return nil, err
	}
	out := make([]memberChoice, 0, len(members))
	for _, m := range members {
		if u := people[m.UserID]; u != nil && u.Active {
			out = append(out, memberChoice{ID: u.ID, Name: u.Name, Handle: u.Handle, Role: m.Role})
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// backToPost redirects to the post, at an anchor.
func (s *Server) backToPost(c echo.Context, pv *posts.ProjectView, post *posts.Post, anchor, flash string) error {
	to := postURL(pv.Slug, post)
	if anchor != "" {
		to += "#" + anchor
	}
	return s.redirectFlash(c, to, flash)
}

func formID(c echo.Context, name string) uint64 {
	n, _ := strconv.ParseUint(c.FormValue(name), 10, 64)
	return n
}

func (s *Server) addComment(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		body := strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n")
		cm, err := s.posts.AddComment(actor(c), post.ID, posts.CommentInput{Body: body, ParentID: formID(c, "parent_id")})
		if err != nil {
			return s.postPageWithError(c, post, pv, err, "comment-form", body, formID(c, "parent_id"))
		}
		return s.backToPost(c, pv, post, fmt.Sprintf("comment-%d", cm.ID), "comment_added")
	})
}

func (s *Server) editComment(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		id, _ := strconv.ParseUint(c.Param("id"), 10, 64)
		body := strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n")
		if _, err := s.posts.EditComment(actor(c), id, body); err != nil {
			return s.postPageWithError(c, post, pv, err, fmt.Sprintf("comment-%d", id), body, 0)
		}
		return s.backToPost(c, pv, post, fmt.Sprintf("comment-%d", id), "saved")
	})
}

func (s *Server) deleteComment(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		id, _ := strconv.ParseUint(c.Param("id"), 10, 64)
		if err := s.posts.DeleteComment(actor(c), id); err != nil {
			return err
		}
		return s.backToPost(c, pv, post, "comments", "comment_deleted")
	})
}

func (s *Server) react(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		t := posts.Target{PostID: post.ID, CommentID: formID(c, "comment_id")}
		if err := s.posts.React(actor(c), t, c.FormValue("name"), c.FormValue("on") == "1"); err != nil {
			return err
		}
		anchor := "reactions"
		if t.CommentID != 0 {
			anchor = fmt.Sprintf("comment-%d", t.CommentID)
		}
		return s.backToPost(c, pv, post, anchor, "")
	})
}

func (s *Server) decision(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		t := posts.Target{PostID: post.ID, CommentID: formID(c, "comment_id")}
		on := c.FormValue("on") == "1"
		if err := s.posts.SetDecision(actor(c), t, on); err != nil {
			return err
		}
		anchor := ""
		if t.CommentID != 0 {
			anchor = fmt.Sprintf("comment-%d", t.CommentID)
		}
		flash := "decision_unmarked"
		if on {
			flash = "decision_marked"
		}
		return s.backToPost(c, pv, post, anchor, flash)
	})
}

func (s *Server) requestAcks(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		if err := c.Request().ParseForm(); err != nil {
			return apperr.New(apperr.Invalid, "The form could not be read.")
		}
		var ids []uint64
		for _, v := range c.Request().Form["ack_user"] {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				ids = append(ids, n)
			}
		}
		all := c.FormValue("ack_all") == "1"
		if len(ids) == 0 && !all {
			return s.postPageWithError(c, post, pv, apperr.FieldErr("ack", "Choose the people who should acknowledge, or all members."), "acks", "", 0)
		}
		if err := s.posts.RequestAcks(actor(c), post.ID, ids, all); err != nil {
			return s.postPageWithError(c, post, pv, err, "acks", "", 0)
		}
		return s.backToPost(c, pv, post, "acks", "acks_requested")
	})
}

func (s *Server) acknowledge(c echo.Context) error {
	return s.withPost(c, func(post *posts.Post, pv *posts.ProjectView) error {
		if err := s.posts.Acknowledge(actor(c), post.ID); err != nil {
			return err
		}
		return s.backToPost(c, pv, post, "acks", "acknowledged")
	})
}

// postPageWithError shows the post page again with an error beside the
// form it came from, keeping what was typed.
func (s *Server) postPageWithError(c echo.Context, post *posts.Post, pv *posts.ProjectView, err error, formAnchor, typed string, parentID uint64) error {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code == apperr.Internal || e.Code == apperr.NotFound {
		return err
	}
	p, rerr := s.buildPostPage(c, post, pv)
	if rerr != nil {
		return rerr
	}
	p.Error = e.Message
	p.Data["ErrorAt"] = formAnchor
	p.Data["Typed"] = typed
	p.Data["TypedParent"] = parentID
	return s.renderStatus(c, statusOf(e.Code), "post", p)
}

// decisionLog is the project's decisions, newest first, each linking back
// into its discussion.
func (s *Server) decisionLog(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	list, next, err := s.posts.Decisions(a, pv.Slug, c.QueryParam("after"), pageSize)
	if err != nil {
		return err
	}
	type row struct {
		posts.Decision
		By     *users.User
		Author *users.User
	}
	var rows []row
	var ids []uint64
	for _, d := range list {
		if d.Post == nil || (d.CommentID != 0 && d.Comment == nil) {
			continue
		}
		if d.Comment != nil {
			ids = append(ids, d.Comment.AuthorID)
		} else {
			ids = append(ids, d.Post.AuthorID)
		}
		ids = append(ids, d.MarkedBy)
		rows = append(rows, row{Decision: d})
	}
	people, err := s.users.ByIDs(ids)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].By = people[rows[i].MarkedBy]
		if rows[i].Comment != nil {
			rows[i].Author = people[rows[i].Comment.AuthorID]
		} else {
			rows[i].Author = people[rows[i].Post.AuthorID]
		}
	}
	p := s.projectPageData(c, pv)
	p.Title = p.T("decisions.title") + " · " + pv.Name
	p.Data["Rows"] = rows
	p.Data["Next"] = next
	return s.render(c, "decisions", p)
}

// mentionCompletion answers the editor's @-completion: the project's
// members whose name or handle starts with q (any word of the name).
func (s *Server) mentionCompletion(c echo.Context) error {
	a := actor(c)
	pv, err := s.posts.Project(a, c.Param("project"))
	if err != nil {
		return err
	}
	members, err := s.memberChoices(a, pv.Slug)
	if err != nil {
		return err
	}
	q := strings.ToLower(strings.TrimPrefix(c.QueryParam("q"), "@"))
	type hit struct {
		Handle string `json:"handle"`
		Name   string `json:"name"`
	}
	out := []hit{}
	for _, m := range members {
		match := strings.HasPrefix(m.Handle, q)
		for _, w := range strings.Fields(strings.ToLower(m.Name)) {
			match = match || strings.HasPrefix(w, q)
		}
		if match {
			out = append(out, hit{m.Handle, m.Name})
		}
		if len(out) == 8 {
			break
		}
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=60")
	return c.JSON(http.StatusOK, out)
}

// setCadence saves how often a status update is expected.
func (s *Server) setCadence(c echo.Context) error {
	a := actor(c)
	slug := c.Param("project")
	var cad *posts.Cadence
	if every := c.FormValue("every"); every != "" {
		wd, _ := strconv.Atoi(c.FormValue("weekday"))
		hour, _ := strconv.Atoi(c.FormValue("hour"))
		cad = &posts.Cadence{Every: every, Weekday: time.Weekday(wd), Hour: hour, TimeZone: c.FormValue("timezone")}
	}
	if err := s.posts.SetCadence(a, slug, cad); err != nil {
		return s.memberError(c, err)
	}
	return s.redirectFlash(c, "/p/"+slug+"/settings#cadence-h", "saved")
}
