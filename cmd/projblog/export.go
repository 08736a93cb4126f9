package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"projblog/internal/access"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// cmdExport writes every project as plain files a team can take anywhere:
// DIR/SLUG/project.md (name, description, visibility, members) and one
// Markdown file per post, DIR/SLUG/YYYY-MM-DD-POSTSLUG.md, with front matter
// (title, author, dates, tags, health, decision, draft) and its comments
// at the end. Front matter values are JSON strings, which YAML reads too.
func cmdExport(args []string, stdout, stderr io.Writer) error {
	cfg := defaults()
	fs := newFlagSet("export", "export DIR [--data DIR]", stderr)
	cfg.dataFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("export needs exactly one output DIR")
	}
	out := pos[0]
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty; export into a new directory", out)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	admin := access.Actor{UserID: ^uint64(0), Admin: true} // reads everything, writes nothing
	projects, err := a.posts.Projects(admin)
	if err != nil {
		return err
	}
	people, err := a.users.List()
	if err != nil {
		return err
	}
	byID := map[uint64]*users.User{}
	for _, u := range people {
		byID[u.ID] = u
	}
	name := func(id uint64) string {
		if u := byID[id]; u != nil {
			return u.Name + " <" + u.Email + ">"
		}
		return fmt.Sprintf("user %d", id)
	}
	total := 0
	for _, pv := range projects {
		dir := filepath.Join(out, pv.Slug)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		members, err := a.posts.Members(admin, pv.Slug)
		if err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "---\nname: %s\nslug: %s\nvisibility: %s\narchived: %v\ncreated: %s\n", q(pv.Name), q(pv.Slug), pv.Visibility, pv.Archived, pv.CreatedAt.Format(time.RFC3339))
		if pv.Health != "" {
			fmt.Fprintf(&b, "health: %s\n", pv.Health)
		}
		b.WriteString("members:\n")
		for _, m := range members {
			fmt.Fprintf(&b, "  - {user: %s, role: %s}\n", q(name(m.UserID)), m.Role)
		}
		fmt.Fprintf(&b, "---\n\n# %s\n\n%s\n", pv.Name, pv.Description)
		if err := os.WriteFile(filepath.Join(dir, "project.md"), []byte(b.String()), 0o640); err != nil {
			return err
		}
		list, err := allPosts(a.posts, admin, pv.Slug)
		if err != nil {
			return err
		}
		for _, p := range list {
			if err := exportPost(a.posts, admin, dir, p, name); err != nil {
				return err
			}
			total++
		}
	}
	fmt.Fprintf(stdout, "exported %d projects and %d posts to %s\n", len(projects), total, out)
	return nil
}

// allPosts is every post of a project: published (pinned too), drafts and
// the trash.
func allPosts(ps *posts.Service, a access.Actor, slug string) ([]*posts.Post, error) {
	var all []*posts.Post
	cursor := ""
	for first := true; first || cursor != ""; first = false {
		pinned, pg, err := ps.ProjectPosts(a, slug, cursor, posts.MaxLimit)
		if err != nil {
			return nil, err
		}
		all = append(all, pinned...)
		all = append(all, pg.Posts...)
		cursor = pg.Next
	}
	drafts, err := ps.Drafts(a, slug)
	if err != nil {
		return nil, err
	}
	trash, err := ps.Trash(a, slug)
	if err != nil {
		return nil, err
	}
	return append(append(all, drafts...), trash...), nil
}

func exportPost(ps *posts.Service, a access.Actor, dir string, p *posts.Post, name func(uint64) string) error {
	date := p.PublishedAt
	if date.IsZero() {
		date = p.CreatedAt
	}
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntitle: %s\nslug: %s\nauthor: %s\ncreated: %s\nupdated: %s\n", q(p.Title), q(p.Slug), q(name(p.AuthorID)), p.CreatedAt.Format(time.RFC3339Nano), p.UpdatedAt.Format(time.RFC3339Nano))
	if !p.PublishedAt.IsZero() {
		fmt.Fprintf(&b, "published: %s\n", p.PublishedAt.Format(time.RFC3339Nano))
	}
	if len(p.Tags) > 0 {
		tags := make([]string, len(p.Tags))
		for i, t := range p.Tags {
			tags[i] = q(t)
		}
		fmt.Fprintf(&b, "tags: [%s]\n", strings.Join(tags, ", "))
	}
	if p.Health != "" {
		fmt.Fprintf(&b, "health: %s\n", p.Health)
	}
	if p.Excerpt != "" {
		fmt.Fprintf(&b, "excerpt: %s\n", q(p.Excerpt))
	}
	if !p.DeletedAt.IsZero() {
		fmt.Fprintf(&b, "deleted_at: %s\n", p.DeletedAt.Format(time.RFC3339Nano))
	}
	// Attachments go to DIR/SLUG/files/ID-NAME, listed in the front matter
	// with the ID the post's links use.
	atts, err := ps.Attachments(a, p.ID)
	if err != nil {
		return err
	}
	if len(atts) > 0 {
		var list []exportedFile
		for _, att := range atts {
			_, data, err := ps.Attachment(a, att.ID)
			if err != nil {
				return err
			}
			rel := fmt.Sprintf("files/%d-%s", att.ID, att.Name)
			if err := os.MkdirAll(filepath.Join(dir, "files"), 0o750); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), data, 0o640); err != nil {
				return err
			}
			list = append(list, exportedFile{ID: att.ID, Name: att.Name, Type: att.ContentType, File: rel})
		}
		raw, err := json.Marshal(list)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "attachments: %s\n", raw)
	}
	var comments []*posts.Comment
	if p.CommentCount > 0 {
		all, err := ps.Comments(a, p.ID)
		if err != nil {
			return err
		}
		for _, c := range all {
			if c.DeletedAt.IsZero() {
				comments = append(comments, c)
			}
		}
	}
	fmt.Fprintf(&b, "draft: %v\npinned: %v\ndecision: %v\ndeleted: %v\nrevision: %d\ncomments: %d\n---\n\n%s\n",
		p.Draft, p.Pinned, p.Decision, !p.DeletedAt.IsZero(), p.Revision, len(comments), strings.TrimRight(p.Body, "\n"))
	if len(comments) > 0 {
		// Comments are numbered by position, so a re-import (import.go)
		// rebuilds the threads whatever ids the new database gives them.
		b.WriteString(commentsMarker)
		pos := map[uint64]int{}
		for i, c := range comments {
			pos[c.ID] = i + 1
			extra := ""
			if n := pos[c.ParentID]; c.ParentID != 0 && n > 0 {
				extra = fmt.Sprintf(" (reply to comment %d)", n)
			}
			if c.Decision {
				extra += " (decision)"
			}
			fmt.Fprintf(&b, "\n### Comment %d by %s, %s%s\n\n%s\n", i+1, name(c.AuthorID), c.CreatedAt.Format(time.RFC3339Nano), extra, strings.TrimRight(c.Body, "\n"))
		}
	}
	file := filepath.Join(dir, date.UTC().Format("2006-01-02")+"-"+p.Slug+".md")
	return os.WriteFile(file, []byte(b.String()), 0o640)
}

// exportedFile is one attachment in a post's front matter.
type exportedFile struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	File string `json:"file"` // relative to the project's directory
}

// commentsMarker separates a post's body from its comments in an export.
const commentsMarker = "\n---\n\n## Comments\n"

// q quotes a front-matter value as a JSON string (valid YAML too).
func q(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<ada@example.com>" stays readable
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
