package mailin

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/users"
)

// Importing an archive.
//
// Each thread becomes one post with its replies as comments, through
// posts.Import: the post is the thread's first message (its subject
// without reply prefixes as the title, the text it adds as the body, its
// files attached), written by its sender at its date; each reply is a
// comment of its sender at its date, answering the comment of the message
// it answers (or the post). What a reply quotes of earlier messages and
// its signature are left out (Message.Reply); a reply that adds no text
// and no file is skipped, and so is every message a machine sent
// (Message.Auto). Replies to a skipped message answer what it answered.
//
// Senders are matched to accounts by address; a sender without one
// becomes an external author (users.ExternalAuthor): no password, cannot
// sign in, is sent nothing. Nobody is notified or mentioned: an archive
// is history, not news.
//
// Every post and comment is stored under its message's source key
// (MessageKey), shared with mail delivered live, so:
//   - importing the same archive again adds nothing (the posts count as
//     Skipped);
//   - a later archive of the same list adds only the replies that are new,
//     under the posts made before, and files are uploaded only for them;
//   - a thread whose first message is not in the archive but whose
//     References name a message that became a post (in an earlier import,
//     or by mail) continues that post;
//   - a message stored before under another post stays there.
//
// Limits: a text longer than posts keeps (posts.MaxBodyBytes for a post,
// posts.MaxCommentBytes for a comment) is cut at a paragraph boundary with
// a note saying how much was left out; a title is cut at
// posts.MaxTitleRunes; control characters are dropped; a thread's files
// beyond posts.MaxAttachmentsPerPost are left out with a note. A thread
// posts still refuses (see posts.Import) is reported in
// ImportSummary.Refused with the reason, and the others are imported: a
// thread is stored whole or not at all.

// Importer imports mail threads into a project. It is not safe for
// concurrent use.
type Importer struct {
	Posts *posts.Service
	Users *users.Service
	// Actor imports: it needs access.ManageProject in the project (an
	// owner or an admin), and uploads the messages' files.
	Actor   access.Actor
	Project string // the project's slug
	// DryRun reads the database to tell what an import would do and writes
	// nothing, not even external authors.
	DryRun bool
	// Files, when set, gives the files of a message with their bytes, for
	// a reader that keeps them out of memory until they are stored (it
	// leaves Message.Files with names and types, and Data nil). It is
	// called only for messages whose files are stored. nil: Message.Files.
	Files func(m *Message) ([]File, error)
}

// ImportSummary tells what an import did (or, in a dry run, would do).
type ImportSummary struct {
	Threads  int // threads given
	Posts    int // posts created
	Comments int // comments added
	// Skipped counts the threads whose post was imported before (their new
	// replies, if any, are in Comments).
	Skipped int
	// SkippedMessages counts the messages left out on purpose: sent by a
	// machine (auto-replies, bounces), or replies without new text.
	SkippedMessages int
	// NewAuthors counts the external authors created for senders without
	// an account.
	NewAuthors int
	Files      int // files stored
	// Refused names each thread or message that was not imported, and why.
	Refused []string
	// Results tells, thread by thread in order, what became of it.
	Results []ThreadResult
}

// ThreadResult is what became of one thread of an import.
type ThreadResult struct {
	Title    string
	Date     time.Time // the first message's date
	Messages int       // the thread's messages in the archive
	Comments int       // comments added (or, in a dry run, to add)
	Status   ThreadStatus
	PostID   uint64 // the post, when it was created or existed; 0 in a dry run for a new one
}

// ThreadStatus is the outcome of one thread.
type ThreadStatus string

const (
	ThreadNew      ThreadStatus = "new"      // a post was created
	ThreadExisting ThreadStatus = "existing" // its post was imported before
	ThreadRefused  ThreadStatus = "refused"  // see ImportSummary.Refused
	ThreadEmpty    ThreadStatus = "empty"    // nothing in it is imported (auto-replies only)
)

// Batches: threads go to posts.Import this many at a time, and a batch
// is sent before the files uploaded for it would pass pendingFilesPerBatch
// (the uploader may hold posts.MaxPendingAttachments files in no post).
const (
	threadsPerBatch      = 200
	pendingFilesPerBatch = 40
)

// keptBeforeBody is the text given for a post or comment stored before:
// posts.Import needs one to validate, and does not store it again.
const keptBeforeBody = "(imported before)"

// Import imports the threads (as Threads makes them) into the project,
// calling progress, if not nil, with the number of threads handled so
// far. A thread posts refuses is reported in the summary and the import
// goes on; the error is for what stops it: a project the actor may not
// import into (posts' NotFound or Forbidden), or a failure of the
// database. Threads stored before such an error stay stored: running the
// import again goes on where it stopped.
func (im *Importer) Import(threads []*Thread, progress func(done int)) (ImportSummary, error) {
	sum := ImportSummary{Threads: len(threads)}
	if _, err := im.Posts.Project(im.Actor, im.Project); err != nil {
		return sum, err
	}
	if _, err := im.Posts.ImportedAs(im.Actor, im.Project, "mail:"); err != nil {
		return sum, err // not allowed to import here
	}
	r := &importRun{im: im, sum: &sum, authors: map[string]uint64{}, unknown: map[string]bool{}, progress: progress}
	for _, th := range threads {
		if err := r.thread(th); err != nil {
			return sum, err
		}
	}
	if err := r.flush(); err != nil {
		return sum, err
	}
	return sum, nil
}

// importRun is the state of one Import.
type importRun struct {
	im       *Importer
	sum      *ImportSummary
	authors  map[string]uint64 // address -> user id
	unknown  map[string]bool   // dry run: addresses without an account
	progress func(int)
	done     int // threads handled
	batch    []*threadPlan
	pending  int // files uploaded for the batch
}

// threadPlan is one thread, planned and then built into a post.
type threadPlan struct {
	th     *Thread
	result int    // index in ImportSummary.Results
	key    string // the post's key
	postID uint64 // the post when it exists
	// post is the index in th.Messages of the message the post is made
	// of; -1 when the post exists and is not in the archive.
	post  int
	items []planItem
	files int // files the new messages carry
	// Built for posts.Import (not in a dry run):
	ip       posts.ImportedPost
	attached []*attached
}

// planItem is one comment of a plan.
type planItem struct {
	m       *Message // nil for a comment outside the archive that anchors replies
	key     string
	replyTo int  // 1-based position of the comment answered, 0 for the post
	known   bool // stored before: only anchors the replies that follow
}

// storedAt is what a source key names: a post (commentID 0) or a comment.
type storedAt struct{ postID, commentID uint64 }

func (r *importRun) thread(th *Thread) error {
	p, err := r.plan(th)
	if err != nil {
		return err
	}
	res := &r.sum.Results[p.result]
	news := 0
	for _, it := range p.items {
		if !it.known {
			news++
		}
	}
	switch {
	case res.Status == ThreadEmpty:
		return r.handled(1)
	case p.postID != 0 && news == 0:
		res.Status = ThreadExisting
		r.sum.Skipped++
		return r.handled(1)
	case r.im.DryRun:
		res.Comments = news
		if p.postID != 0 {
			res.Status = ThreadExisting
			r.sum.Skipped++
		} else {
			res.Status = ThreadNew
			r.sum.Posts++
		}
		r.sum.Comments += news
		r.sum.Files += p.files
		return r.handled(1)
	}
	if len(r.batch) > 0 && (len(r.batch) >= threadsPerBatch || r.pending+p.files > pendingFilesPerBatch) {
		if err := r.flush(); err != nil {
			return err
		}
	}
	if err := r.build(p); err != nil {
		discardAll(append(r.batch, p))
		r.batch, r.pending = nil, 0
		return err
	}
	r.batch = append(r.batch, p)
	return nil
}

// handled counts n more threads handled.
func (r *importRun) handled(n int) error {
	r.done += n
	if r.progress != nil && len(r.batch) == 0 {
		r.progress(r.done)
	}
	return nil
}

// plan decides what a thread becomes: which post, which comments
// answering which. In a real run it creates the external authors of the
// messages it keeps.
func (r *importRun) plan(th *Thread) (*threadPlan, error) {
	im := r.im
	n := len(th.Messages)
	p := &threadPlan{th: th, post: -1, result: len(r.sum.Results)}
	res := ThreadResult{Messages: n, Status: ThreadEmpty}
	if n > 0 {
		res.Title, res.Date = importTitle(th.Messages[0].Subject), th.Messages[0].Date
	}
	r.sum.Results = append(r.sum.Results, res)
	keys := make([]string, n)
	known := make([]storedAt, n)
	alive := make([]bool, n)
	for i, m := range th.Messages {
		keys[i] = MessageKey(m)
		pid, cid, err := im.Posts.SourceTarget(im.Actor, im.Project, keys[i])
		if err != nil {
			return nil, err
		}
		known[i] = storedAt{pid, cid}
		if m.Auto != "" && pid == 0 {
			r.sum.SkippedMessages++
			continue
		}
		alive[i] = true
	}
	// keep tells whether a new message can be stored: its sender maps to
	// an account (refused, with the reason, when not).
	keep := func(m *Message) (bool, error) {
		if _, err := r.author(m); err != nil {
			why, ok := refusal(err)
			if !ok {
				return false, err
			}
			r.sum.Refused = append(r.sum.Refused, describe(m)+": "+why)
			return false, nil
		}
		return true, nil
	}

	// The post: the first message that is one, or the post the thread
	// continues, or a new one made of the first message not stored
	// elsewhere.
	checked := false
	for i := range n {
		if !alive[i] {
			continue
		}
		if known[i].postID != 0 && known[i].commentID == 0 {
			p.post, p.postID, p.key = i, known[i].postID, keys[i]
			break
		}
		if !checked {
			checked = true
			id, key, err := r.continued(th.Messages[i])
			if err != nil {
				return nil, err
			}
			if id != 0 {
				p.postID, p.key = id, key
				break
			}
		}
		alive[i] = false
		if known[i].postID != 0 {
			continue // a comment of another post: it stays there
		}
		ok, err := keep(th.Messages[i])
		if err != nil {
			return nil, err
		}
		if ok {
			alive[i] = true
			p.post, p.key = i, keys[i]
			break
		}
	}
	if p.key == "" {
		return p, nil // nothing to import
	}
	res = ThreadResult{Messages: n, Status: ThreadNew, PostID: p.postID, Title: res.Title, Date: res.Date}
	if p.post >= 0 {
		res.Title, res.Date = importTitle(th.Messages[p.post].Subject), th.Messages[p.post].Date
	}
	r.sum.Results[p.result] = res

	// The comments, each answering its nearest ancestor that is kept; a
	// message whose parent in the archive is not one its headers name (a
	// thread's first message, a reply found by its subject) answers, when
	// the post existed, what its headers name in the post.
	keyPos := map[string]int{} // key -> 1-based position among the comments
	pos := make([]int, n)      // the same per message, 0 when not kept
	for i, m := range th.Messages {
		if i == p.post || !alive[i] {
			continue
		}
		it := planItem{m: m, key: keys[i]}
		if known[i].postID != 0 {
			if known[i].postID != p.postID || known[i].commentID == 0 {
				continue // stored under another post: it stays there
			}
			it.known = true
		} else if strings.TrimSpace(m.Reply) == "" && len(m.Files) == 0 {
			r.sum.SkippedMessages++
			continue
		} else if ok, err := keep(m); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		a := th.ReplyTo[i]
		linked := a >= 0 && names(m, th.Messages[a].MessageID)
		for a >= 0 && a != p.post && pos[a] == 0 {
			a = th.ReplyTo[a]
		}
		found := false
		if p.postID != 0 && (!linked || a < 0) {
			key, ok, err := r.anchor(m, p.postID)
			if err != nil {
				return nil, err
			}
			switch {
			case ok && key == "":
				it.replyTo, found = 0, true
			case ok:
				if keyPos[key] == 0 {
					p.items = append(p.items, planItem{key: key, known: true})
					keyPos[key] = len(p.items)
				}
				it.replyTo, found = keyPos[key], true
			}
		}
		switch {
		case found:
		case a < 0 || a == p.post:
			it.replyTo = 0
		default:
			it.replyTo = pos[a]
		}
		p.items = append(p.items, it)
		pos[i] = len(p.items)
		keyPos[it.key] = pos[i]
	}

	if err := r.planFiles(p); err != nil {
		return nil, err
	}
	return p, nil
}

// planFiles counts the files of the plan's new messages that the post can
// still hold (posts.MaxAttachmentsPerPost, less what it has).
func (r *importRun) planFiles(p *threadPlan) error {
	room := posts.MaxAttachmentsPerPost
	if p.postID != 0 {
		have, err := r.im.Posts.Attachments(r.im.Actor, p.postID)
		if err != nil {
			return err
		}
		room -= len(have)
	}
	take := func(k int) {
		k = max(0, min(room, k))
		room -= k
		p.files += k
	}
	if p.post >= 0 && p.postID == 0 {
		take(len(p.th.Messages[p.post].Files))
	}
	for _, it := range p.items {
		if !it.known {
			take(len(it.m.Files))
		}
	}
	return nil
}

// continued returns the post, imported before, of the thread a message
// continues: the first message of its References (then In-Reply-To) that
// became a post. A post's key is its thread's first message's, and
// References start with that message (RFC 5322 asks to keep it).
func (r *importRun) continued(m *Message) (uint64, string, error) {
	ids := append(append([]string{}, m.References...), m.InReplyTo...)
	for _, id := range ids {
		key := idKey(id)
		pid, err := r.im.Posts.ImportedAs(r.im.Actor, r.im.Project, key)
		if err != nil {
			return 0, "", err
		}
		if pid != 0 {
			return pid, key, nil
		}
	}
	return 0, "", nil
}

// anchor finds what m answers in post postID: the nearest of its
// In-Reply-To and References stored there. ok is false when none is;
// key is "" when it is the post itself, else the comment's key.
func (r *importRun) anchor(m *Message, postID uint64) (key string, ok bool, err error) {
	for _, key := range threadKeys(m) {
		pid, cid, err := r.im.Posts.SourceTarget(r.im.Actor, r.im.Project, key)
		if err != nil {
			return "", false, err
		}
		if pid == postID {
			if cid == 0 {
				return "", true, nil
			}
			return key, true, nil
		}
	}
	return "", false, nil
}

// names tells whether m's headers name the message id.
func names(m *Message, id string) bool {
	return id != "" && (slices.Contains(m.InReplyTo, id) || slices.Contains(m.References, id))
}

// author returns the account of a message's sender, creating an external
// author when there is none (in a dry run: 0, counting the address).
func (r *importRun) author(m *Message) (uint64, error) {
	email := strings.ToLower(strings.TrimSpace(m.From.Email))
	if email == "" {
		return 0, apperr.New(apperr.Invalid, "The message names no sender (no From address).")
	}
	if id, ok := r.authors[email]; ok {
		return id, nil
	}
	if r.unknown[email] {
		return 0, nil
	}
	u, err := r.im.Users.ByEmail(email)
	switch {
	case err == nil:
		r.authors[email] = u.ID
		return u.ID, nil
	case !apperr.Is(err, apperr.NotFound):
		return 0, err
	case r.im.DryRun:
		r.unknown[email] = true
		r.sum.NewAuthors++
		return 0, nil
	}
	u, err = r.im.Users.ExternalAuthor(email, cleanLine(m.From.Name))
	if err != nil {
		return 0, err
	}
	r.sum.NewAuthors++
	r.authors[email] = u.ID
	return u.ID, nil
}

// build uploads the files of a plan's new messages and makes its
// posts.ImportedPost.
func (r *importRun) build(p *threadPlan) error {
	im := r.im
	th := p.th
	stub := im.Actor.UserID // the author of what is not stored again
	room := p.files
	upload := func(m *Message) (*attached, error) {
		files := m.Files
		if im.Files != nil && len(files) > 0 {
			var err error
			if files, err = im.Files(m); err != nil {
				return nil, fmt.Errorf("files of %s: %w", describe(m), err)
			}
		}
		var over []File
		if len(files) > room {
			files, over = files[:room], files[room:]
		}
		room -= len(files)
		at, err := attachFiles(im.Posts, im.Actor, im.Project, files)
		if err != nil {
			return nil, err
		}
		for _, f := range over {
			note := "_" + fileLeftOut(f.Name, apperr.New(apperr.Invalid, "a post keeps at most %d files", posts.MaxAttachmentsPerPost)) + "_"
			at.files = append(at.files, attachedFile{name: f.Name, lines: note})
		}
		r.pending += len(at.ids)
		p.attached = append(p.attached, at)
		return at, nil
	}
	ip := posts.ImportedPost{Key: p.key, AuthorID: stub, Title: importTitle(th.Messages[0].Subject), Body: keptBeforeBody}
	if p.post >= 0 && p.postID == 0 {
		m := th.Messages[p.post]
		id, err := r.author(m)
		if err != nil {
			return err
		}
		text := postText(m)
		at, err := upload(m)
		if err != nil {
			return err
		}
		ip.AuthorID, ip.Title = id, importTitle(m.Subject)
		ip.Body = fitBody(text, at, posts.MaxBodyBytes)
		if strings.TrimSpace(ip.Body) == "" {
			ip.Body = "_(The message had no text.)_"
		}
		ip.CreatedAt, ip.PublishedAt = m.Date, m.Date
	}
	var last time.Time
	if p.post >= 0 {
		last = th.Messages[p.post].Date
	}
	for _, it := range p.items {
		c := posts.ImportedComment{Key: it.key, AuthorID: stub, ReplyTo: it.replyTo, Body: keptBeforeBody}
		if it.m != nil && !it.m.Date.IsZero() {
			last = it.m.Date
		}
		if !it.known {
			id, err := r.author(it.m)
			if err != nil {
				return err
			}
			at, err := upload(it.m)
			if err != nil {
				return err
			}
			c.AuthorID, c.CreatedAt = id, last
			c.Body = fitBody(strings.TrimSpace(it.m.Reply), at, posts.MaxCommentBytes)
		}
		ip.Comments = append(ip.Comments, c)
	}
	p.ip = ip
	return nil
}

// flush imports the batch; when posts refuses it, its threads are tried
// one by one, so that only those posts refuses are left out.
func (r *importRun) flush() error {
	batch := r.batch
	r.batch, r.pending = nil, 0
	if len(batch) == 0 {
		return nil
	}
	ips := make([]posts.ImportedPost, len(batch))
	for i, p := range batch {
		ips[i] = p.ip
	}
	res, err := r.im.Posts.Import(r.im.Actor, r.im.Project, ips)
	if err == nil {
		for i, p := range batch {
			r.stored(p, res.IDs[i])
		}
		r.sum.Comments += res.Comments
		return r.handled(len(batch))
	}
	if !refusable(err) {
		discardAll(batch)
		return err
	}
	for k, p := range batch {
		res, err := r.im.Posts.Import(r.im.Actor, r.im.Project, []posts.ImportedPost{p.ip})
		switch {
		case err == nil:
			r.stored(p, res.IDs[0])
			r.sum.Comments += res.Comments
		case refusable(err):
			why, _ := refusal(err)
			discardAll([]*threadPlan{p})
			r.sum.Results[p.result].Status = ThreadRefused
			r.sum.Results[p.result].Comments = 0
			r.sum.Refused = append(r.sum.Refused, fmt.Sprintf("thread %s: %s", describeThread(p), why))
		default:
			discardAll(batch[k:])
			return err
		}
	}
	return r.handled(len(batch))
}

// stored records a plan posts.Import stored as post id.
func (r *importRun) stored(p *threadPlan, id uint64) {
	res := &r.sum.Results[p.result]
	res.PostID = id
	if p.postID == 0 {
		res.Status = ThreadNew
		r.sum.Posts++
	} else {
		res.Status = ThreadExisting
		r.sum.Skipped++
	}
	res.Comments = 0
	for _, it := range p.items {
		if !it.known {
			res.Comments++
		}
	}
	for _, at := range p.attached {
		r.sum.Files += len(at.ids)
	}
}

// refusal returns why posts refused something for what it holds (an
// Invalid, TooLarge or Conflict error anywhere in err's chain: posts.Import
// wraps what its transaction refuses in an Internal error naming the
// post), and false for an error that stops the import.
func refusal(err error) (string, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ae, ok := e.(*apperr.Error); ok {
			switch ae.Code {
			case apperr.Invalid, apperr.TooLarge, apperr.Conflict:
				return ae.Message, true
			}
		}
	}
	return "", false
}

func refusable(err error) bool {
	_, ok := refusal(err)
	return ok
}

func discardAll(batch []*threadPlan) {
	for _, p := range batch {
		for _, at := range p.attached {
			at.discard()
		}
		p.attached = nil
	}
}

// fitBody is text, cut to fit with the files' links in limit bytes, and
// the links.
func fitBody(text string, at *attached, limit int) string {
	text = cleanText(text)
	room := limit - at.textBytes() - 2
	return at.withText(fitText(text, room))
}

// fitText returns text when it holds in limit bytes, else its start, cut
// at a paragraph boundary (a line end when the last paragraph is very
// long), and a note saying how much was left out.
func fitText(text string, limit int) string {
	if len(text) <= limit {
		return text
	}
	const noteRoom = 120 // the note and the blank line before it
	room := max(0, limit-noteRoom)
	cut := text[:room]
	for len(cut) > 0 && !utf8RuneStart(text[len(cut)]) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndex(cut, "\n\n"); i > room/2 {
		cut = cut[:i]
	} else if i := strings.LastIndexByte(cut, '\n'); i > room/2 {
		cut = cut[:i]
	}
	cut = strings.TrimRight(cut, " \t\n")
	left := len(text) - len(cut)
	note := fmt.Sprintf("_(The rest of this message was longer than projblog keeps; %d KB left out.)_", (left+1023)/1024)
	if cut == "" {
		return note
	}
	return cut + "\n\n" + note
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// cleanText drops the characters posts refuses in a text: control
// characters other than line ends and tabs (a form feed in an old
// message, an escape sequence), and makes the text valid UTF-8.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// cleanLine is s on one line without control characters.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// importTitle is the title of a thread's post.
func importTitle(subject string) string { return mailTitle(cleanLine(subject)) }

// describe names a message for a person.
func describe(m *Message) string {
	var b strings.Builder
	b.WriteString("message")
	if m.MessageID != "" {
		b.WriteString(" <" + m.MessageID + ">")
	}
	if m.From.Email != "" {
		b.WriteString(" from " + m.From.Email)
	}
	if !m.Date.IsZero() {
		b.WriteString(" of " + m.Date.UTC().Format("2006-01-02 15:04"))
	}
	if s := cleanLine(m.Subject); s != "" {
		b.WriteString(" “" + s + "”")
	}
	return b.String()
}

// describeThread names a thread for a person.
func describeThread(p *threadPlan) string {
	s := "“" + p.ip.Title + "”"
	if p.post >= 0 {
		m := p.th.Messages[p.post]
		if !m.Date.IsZero() {
			s += " of " + m.Date.UTC().Format("2006-01-02")
		}
		if m.MessageID != "" {
			s += " (<" + m.MessageID + ">)"
		}
	}
	return s
}
