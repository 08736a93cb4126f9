package notify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"projblog/internal/apperr"
	"projblog/internal/markdown"
	"projblog/internal/posts"
	"projblog/internal/store"
)

// Webhook payloads.
//
// What an event says is gathered once (hookEvent) and then written in the
// webhook's format. The text is English: a channel has no reader whose
// language could be chosen. Links are absolute (Options.BaseURL).
//
// Slack (incoming webhooks, and the many tools that accept the same
// payload: Mattermost, Rocket.Chat, Discord's /slack endpoint):
//
//	{"text": "Ada Lovelace published <https://blog/p/apollo/plan|Plan> in <https://blog/p/apollo|Apollo>\n>The summary"}
//
// with &, < and > escaped as Slack's mrkdwn requires, links as <url|title>.
//
// Microsoft Teams (incoming webhook connector), a MessageCard:
//
//	{"@type": "MessageCard", "@context": "https://schema.org/extensions",
//	 "summary": "Ada Lovelace published “Plan” in Apollo", "title": "Apollo",
//	 "text": "Ada Lovelace published [Plan](https://blog/p/apollo/plan) in Apollo\n\n> The summary",
//	 "potentialAction": [{"@type": "OpenUri", "name": "Open",
//	   "targets": [{"os": "default", "uri": "https://blog/p/apollo/plan"}]}]}
//
// Generic JSON, signed (see webhooks.go for the headers):
//
//	{"event": "comment.added", "time": "2026-11-25T10:00:00Z",
//	 "text": "Bob Builder commented on “Plan” in Apollo",
//	 "project": {"slug": "apollo", "name": "Apollo", "url": "https://blog/p/apollo"},
//	 "post": {"id": 3, "title": "Plan", "url": "https://blog/p/apollo/plan", "summary": "…"},
//	 "comment": {"id": 7, "url": "https://blog/p/apollo/plan#comment-7", "excerpt": "…"},
//	 "actor": {"name": "Bob Builder"}}
//
// "post", "comment", "actor", "health" ({"from","to"}: on_track, at_risk,
// off_track or "") and "due" (update.overdue, RFC 3339) appear when the
// event has them. "event" is one of post.published, comment.added,
// decision.marked, health.changed, update.overdue, and ping for the test
// that the page sends.

// excerptRunes is how much of a comment a payload quotes.
const excerptRunes = 300

// hookEvent is what one event says, before it is put in a format.
type hookEvent struct {
	Type    string
	Time    time.Time
	Project payloadProject
	Post    *payloadPost
	Comment *payloadComment
	Actor   *payloadActor
	Health  *payloadHealth
	Due     time.Time // update.overdue: the missed slot
}

type payloadProject struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

type payloadPost struct {
	ID      uint64 `json:"id"`
	Title   string `json:"title"`
	URL     string `json:"url"`
	Summary string `json:"summary,omitempty"`
}

type payloadComment struct {
	ID      uint64 `json:"id"`
	URL     string `json:"url"`
	Excerpt string `json:"excerpt,omitempty"`
}

type payloadActor struct {
	Name string `json:"name"`
}

type payloadHealth struct {
	From posts.Health `json:"from"`
	To   posts.Health `json:"to"`
}

// jsonPayload is the generic JSON payload.
type jsonPayload struct {
	Event   string          `json:"event"`
	Time    time.Time       `json:"time"`
	Text    string          `json:"text"`
	Project payloadProject  `json:"project"`
	Post    *payloadPost    `json:"post,omitempty"`
	Comment *payloadComment `json:"comment,omitempty"`
	Actor   *payloadActor   `json:"actor,omitempty"`
	Health  *payloadHealth  `json:"health,omitempty"`
	Due     *time.Time      `json:"due,omitempty"`
}

type slackPayload struct {
	Text string `json:"text"`
}

type teamsPayload struct {
	Type            string        `json:"@type"`
	Context         string        `json:"@context"`
	Summary         string        `json:"summary"`
	Title           string        `json:"title"`
	Text            string        `json:"text"`
	PotentialAction []teamsAction `json:"potentialAction"`
}

type teamsAction struct {
	Type    string        `json:"@type"`
	Name    string        `json:"name"`
	Targets []teamsTarget `json:"targets"`
}

type teamsTarget struct {
	OS  string `json:"os"`
	URI string `json:"uri"`
}

// hookData is the part of the events' Data the webhooks read.
type hookData struct {
	First     bool         `json:"first"`      // post.published
	CommentID uint64       `json:"comment_id"` // comment.added, decision.marked on a comment
	From      posts.Health `json:"from"`       // health.changed
	To        posts.Health `json:"to"`
	PostID    uint64       `json:"post_id"` // health.changed: the status update that sets it
	Due       time.Time    `json:"due"`     // update.overdue
}

// hookEventFor gathers what ev says, reading the project, the post, the
// comment and the actor as the system (the webhook belongs to the project:
// what it may hear is the project's own activity). It returns nil for an
// event webhooks do not tell (another type, a post published again, a post
// or comment gone or unpublished before the event was read, data that does
// not decode).
func (s *Service) hookEventFor(ev store.Event, c *hookCache) (*hookEvent, error) {
	if webhookCategory(ev.Type) == "" {
		return nil, nil
	}
	var d hookData
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return nil, nil // not ours to repair; it must not block the log
		}
	}
	if ev.Type == "post.published" && !d.First {
		return nil, nil // published again after a return to draft: told once
	}
	pv, err := c.project(ev.ProjectID)
	if err != nil || pv == nil {
		return nil, err
	}
	base := strings.TrimSuffix(s.opts.BaseURL, "/")
	he := &hookEvent{Type: ev.Type, Time: ev.Time, Project: projectPayload(base, pv)}
	if ev.ActorID != 0 {
		u, err := c.user(ev.ActorID)
		if err != nil {
			return nil, err
		}
		if u != nil {
			he.Actor = &payloadActor{Name: u.Name}
		}
	}
	switch ev.Type {
	case "post.published", "comment.added", "decision.marked":
		p, err := c.post(ev.PostID)
		if err != nil || p == nil || p.Draft || !p.DeletedAt.IsZero() {
			return nil, err
		}
		he.Post = postPayload(base, pv.Slug, p)
		if ev.Type == "post.published" {
			he.Post.Summary = p.Summary
		}
		if d.CommentID != 0 {
			cm, _, _, err := s.posts.Comment(systemActor, d.CommentID)
			if apperr.Is(err, apperr.NotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			if cm.Deleted() || cm.PostID != p.ID {
				return nil, nil
			}
			he.Comment = &payloadComment{ID: cm.ID, URL: he.Post.URL + "#comment-" + strconv.FormatUint(cm.ID, 10),
				Excerpt: markdown.Excerpt(cm.Body, excerptRunes)}
		} else if ev.Type == "comment.added" {
			return nil, nil
		} else if ev.Type == "decision.marked" {
			he.Post.Summary = p.Summary
		}
	case "health.changed":
		he.Health = &payloadHealth{From: d.From, To: d.To}
		if d.PostID != 0 {
			p, err := c.post(d.PostID)
			if err != nil {
				return nil, err
			}
			if p != nil && !p.Draft && p.DeletedAt.IsZero() {
				he.Post = postPayload(base, pv.Slug, p)
			}
		}
	case "update.overdue":
		he.Due = d.Due.UTC()
	}
	return he, nil
}

// pingEvent is what the test of a webhook says.
func (s *Service) pingEvent(pv *posts.ProjectView, actorName string, now time.Time) *hookEvent {
	base := strings.TrimSuffix(s.opts.BaseURL, "/")
	he := &hookEvent{Type: EventPing, Time: now, Project: projectPayload(base, pv)}
	if actorName != "" {
		he.Actor = &payloadActor{Name: actorName}
	}
	return he
}

func projectPayload(base string, pv *posts.ProjectView) payloadProject {
	return payloadProject{Slug: pv.Slug, Name: pv.Name, URL: base + "/p/" + url.PathEscape(pv.Slug)}
}

func postPayload(base, projectSlug string, p *posts.Post) *payloadPost {
	return &payloadPost{ID: p.ID, Title: p.Title, URL: postURL(base, projectSlug, p.Slug)}
}

// link returns the page the event is about: the comment, else the post,
// else the project.
func (he *hookEvent) link() string {
	switch {
	case he.Comment != nil:
		return he.Comment.URL
	case he.Post != nil:
		return he.Post.URL
	}
	return he.Project.URL
}

// quote is the text a chat message quotes under its line: the comment's
// excerpt, else the post's summary.
func (he *hookEvent) quote() string {
	if he.Comment != nil {
		return he.Comment.Excerpt
	}
	if he.Post != nil {
		return he.Post.Summary
	}
	return ""
}

// markup writes text and links in one chat dialect: text escapes plain
// text, link writes a post's title as a link, name a project's name.
type markup struct {
	text       func(string) string
	link, name func(title, url string) string
}

func slackLink(title, u string) string {
	// The first "|" ends the URL; one in the title stays text.
	return "<" + u + "|" + slackEscape(title) + ">"
}

func teamsLink(title, u string) string {
	return "[" + teamsEscape(title) + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u) + ")"
}

var (
	plainMarkup = markup{
		text: func(s string) string { return s },
		link: func(title, _ string) string { return "“" + title + "”" },
		name: func(title, _ string) string { return title },
	}
	slackMarkup = markup{text: slackEscape, link: slackLink, name: slackLink}
	teamsMarkup = markup{text: teamsEscape, link: teamsLink, name: teamsLink}
)

// slackEscape escapes the three characters Slack's mrkdwn gives a meaning
// to in a message's text.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// teamsEscape keeps the Markdown of Teams' cards (and the bit of HTML
// they accept) from reading a title as formatting.
func teamsEscape(s string) string {
	return strings.NewReplacer(
		"&", "&amp;", "<", "&lt;", ">", "&gt;",
		`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "`", "\\`", "#", `\#`,
	).Replace(s)
}

// healthWords names a health value in a sentence.
func healthWords(h posts.Health) string {
	switch h {
	case posts.OnTrack:
		return "on track"
	case posts.AtRisk:
		return "at risk"
	case posts.OffTrack:
		return "off track"
	}
	return "without a status"
}

// line is the event's one sentence in the dialect m.
func (he *hookEvent) line(m markup) string {
	who := "Someone"
	if he.Actor != nil && he.Actor.Name != "" {
		who = he.Actor.Name
	}
	who = m.text(who)
	project := m.name(he.Project.Name, he.Project.URL)
	postLink := func() string {
		if he.Post == nil {
			return ""
		}
		return m.link(he.Post.Title, he.link())
	}
	switch he.Type {
	case "post.published":
		return fmt.Sprintf("%s published %s in %s", who, postLink(), project)
	case "comment.added":
		return fmt.Sprintf("%s commented on %s in %s", who, postLink(), project)
	case "decision.marked":
		if he.Comment != nil {
			return fmt.Sprintf("%s marked a comment on %s as a decision in %s", who, postLink(), project)
		}
		return fmt.Sprintf("%s marked %s as a decision in %s", who, postLink(), project)
	case "health.changed":
		s := fmt.Sprintf("%s is now %s (was %s)", project, m.text(healthWords(he.Health.To)), m.text(healthWords(he.Health.From)))
		if he.Post != nil {
			s += ": " + postLink()
		}
		return s
	case "update.overdue":
		return fmt.Sprintf("%s: the status update due %s has not been posted yet", project,
			m.text(he.Due.UTC().Format("Monday 2 January 2006, 15:04 UTC")))
	case EventPing:
		return fmt.Sprintf("Test from projblog (sent by %s): this webhook will post the updates of %s", who, project)
	}
	return m.text(he.Type) + " in " + project
}

// payload writes the event in a webhook format.
func (he *hookEvent) payload(format string) ([]byte, error) {
	plain := he.line(plainMarkup)
	switch format {
	case WebhookSlack:
		text := he.line(slackMarkup)
		if q := he.quote(); q != "" {
			text += "\n>" + slackEscape(strings.ReplaceAll(q, "\n", "\n>"))
		}
		return json.Marshal(slackPayload{Text: text})
	case WebhookTeams:
		text := he.line(teamsMarkup)
		if q := he.quote(); q != "" {
			text += "\n\n> " + teamsEscape(strings.ReplaceAll(q, "\n", " "))
		}
		return json.Marshal(teamsPayload{
			Type: "MessageCard", Context: "https://schema.org/extensions",
			Summary: plain, Title: he.Project.Name, Text: text,
			PotentialAction: []teamsAction{{Type: "OpenUri", Name: "Open",
				Targets: []teamsTarget{{OS: "default", URI: he.link()}}}},
		})
	case WebhookJSON:
		p := jsonPayload{Event: he.Type, Time: he.Time.UTC(), Text: plain, Project: he.Project,
			Post: he.Post, Comment: he.Comment, Actor: he.Actor, Health: he.Health}
		if !he.Due.IsZero() {
			due := he.Due
			p.Due = &due
		}
		return json.Marshal(p)
	}
	return nil, fmt.Errorf("unknown webhook format %q", format)
}
