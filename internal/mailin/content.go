package mailin

import (
	"net/url"
	"strings"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
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
	files []attachedFile
}

// attachedFile is one file of a message: what links it, or the note that
// says why it was left out.
type attachedFile struct {
	name  string // as the message named it
	path  string // the stored file's address; "" when left out
	lines string // Markdown: the link, or the note
}

// attachFiles uploads files into the project as the actor.
func attachFiles(ps *posts.Service, actor access.Actor, projectSlug string, files []File) (*attached, error) {
	at := &attached{ps: ps, actor: actor}
	for _, f := range files {
		a, err := ps.AddAttachment(actor, projectSlug, 0, f.Name, f.Data)
		if err != nil {
			code := apperr.CodeOf(err)
			if code != apperr.Invalid && code != apperr.TooLarge && code != apperr.Forbidden {
				at.discard()
				return nil, err
			}
			at.files = append(at.files, attachedFile{name: f.Name, lines: "_" + fileLeftOut(f.Name, err) + "_"})
			continue
		}
		at.ids = append(at.ids, a.ID)
		at.files = append(at.files, attachedFile{name: f.Name, path: a.Path(), lines: a.Markdown()})
	}
	return at, nil
}

// fileLeftOut is the note that replaces a file posts refused.
func fileLeftOut(name string, err error) string {
	msg := apperr.MessageOf(err)
	return "(The attached file “" + markdown.EscapeText(name) + "” was not kept: " + markdown.EscapeText(strings.TrimSuffix(msg, ".")) + ".)"
}

// withText returns body with its files: an image the HTML showed in place
// (a "cid:" image, which Parse links by the file's name) now points at the
// stored file; the other files are linked after the text.
func (at *attached) withText(body string) string {
	if at == nil {
		return body
	}
	var rest []string
	for _, f := range at.files {
		if f.path != "" {
			ref := "](" + url.PathEscape(f.name)
			if n := strings.Count(body, ref+")") + strings.Count(body, ref+" "); n > 0 {
				body = strings.ReplaceAll(body, ref+")", "]("+f.path+")")
				body = strings.ReplaceAll(body, ref+" ", "]("+f.path+" ")
				continue
			}
		}
		rest = append(rest, f.lines)
	}
	if len(rest) == 0 {
		return body
	}
	text := strings.Join(rest, "\n\n")
	if strings.TrimSpace(body) == "" {
		return text
	}
	return strings.TrimRight(body, "\n") + "\n\n" + text
}

// textBytes is at most how much the files add to a text.
func (at *attached) textBytes() int {
	n := 0
	for _, f := range at.files {
		n += len(f.lines) + 2
	}
	return n
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
