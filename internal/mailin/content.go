package mailin

import (
	"strings"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
)

// Files of a message.
//
// A message's files are uploaded as pending files of the project
// (posts.AddAttachment with no post) and linked at the end of the text
// they came with; saving the post or comment joins them to its post. A
// file posts refuses (its kind, its size) does not refuse the message: the
// text says which file was left out and why, so what is stored is whole
// and honest. A person who may not upload files in the project (a viewer
// answering by mail) gets the same note for each file.

// attached is the files of one message, uploaded.
type attached struct {
	ps    *posts.Service
	actor access.Actor
	ids   []uint64
	text  string // Markdown to append to the message's text
}

// attachFiles uploads files into the project as the actor.
func attachFiles(ps *posts.Service, actor access.Actor, projectSlug string, files []File) (*attached, error) {
	at := &attached{ps: ps, actor: actor}
	var lines []string
	for _, f := range files {
		a, err := ps.AddAttachment(actor, projectSlug, 0, f.Name, f.Data)
		if err != nil {
			code := apperr.CodeOf(err)
			if code != apperr.Invalid && code != apperr.TooLarge && code != apperr.Forbidden {
				at.discard()
				return nil, err
			}
			lines = append(lines, "_"+fileLeftOut(f.Name, err)+"_")
			continue
		}
		at.ids = append(at.ids, a.ID)
		lines = append(lines, a.Markdown())
	}
	if len(lines) > 0 {
		at.text = strings.Join(lines, "\n\n")
	}
	return at, nil
}

// fileLeftOut is the note that replaces a file posts refused.
func fileLeftOut(name string, err error) string {
	msg := apperr.MessageOf(err)
	return "(The attached file “" + escapeMarkdown(name) + "” was not kept: " + escapeMarkdown(strings.TrimSuffix(msg, ".")) + ".)"
}

// withText returns body with the files' Markdown after it.
func (at *attached) withText(body string) string {
	if at == nil || at.text == "" {
		return body
	}
	if strings.TrimSpace(body) == "" {
		return at.text
	}
	return strings.TrimRight(body, "\n") + "\n\n" + at.text
}

// discard deletes the uploaded files when the message they came with was
// not stored after all.
func (at *attached) discard() {
	if at == nil {
		return
	}
	for _, id := range at.ids {
		_ = at.ps.DeleteAttachment(at.actor, id)
	}
	at.ids = nil
}

// escapeMarkdown keeps a file name or a person's name literal in Markdown.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()<>#+!|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
