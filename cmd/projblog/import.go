package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/users"
)

const importUsage = `usage: projblog import export DIR [--data DIR] [--dry-run]
       projblog import mbox|eml|maildir PATH --project SLUG [--data DIR] [--dry-run]

The second form imports mail: ` + importMailHelp + `

The first form reads a directory written by "projblog export" back into a database: its
projects (created when missing, with their members), posts with their
dates, authors, tags, health, decisions and comments. People are matched by
e-mail address; someone the database does not know gets an account without
a password (an admin sets one with "projblog user passwd"). Running the
same import again imports nothing twice. --dry-run reads and checks
everything and writes nothing.
`

// importBatchSize is how many posts one transaction of an import holds.
const importBatchSize = 200

func cmdImport(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) == 0 {
			return usagef("import needs a kind: export, mbox, eml or maildir")
		}
		fmt.Fprint(stdout, importUsage)
		return nil
	}
	kind := args[0]
	switch kind {
	case "mbox", "eml", "maildir":
		return cmdImportMail(kind, args[1:], stdout, stderr)
	case "export":
	default:
		return usagef("import knows the kinds export, mbox, eml and maildir (not %q)", kind)
	}
	cfg := defaults()
	fs := newFlagSet("import export", "import export DIR [--data DIR] [--dry-run]", stderr)
	cfg.dataFlag(fs)
	dry := fs.Bool("dry-run", false, "read and check everything, write nothing")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import export needs exactly one DIR")
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	projects, err := readExport(pos[0])
	if err != nil {
		return err
	}
	total := 0
	for _, p := range projects {
		total += len(p.posts)
	}
	if *dry {
		for _, p := range projects {
			fmt.Fprintf(stdout, "%s: %d posts\n", p.slug, len(p.posts))
		}
		fmt.Fprintf(stdout, "dry run: %d projects and %d posts read from %s; nothing written\n", len(projects), total, pos[0])
		return nil
	}
	a, err := open(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	im := &importer{a: a, ids: map[string]uint64{}}
	bar := newProgress(stderr, "importing posts", total)
	defer bar.Done()
	var created, skipped, comments, files, newProjects int
	done := 0
	for _, p := range projects {
		fresh, err := im.project(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p.slug, err)
		}
		if fresh {
			newProjects++
		}
		var batch []posts.ImportedPost
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			res, err := a.posts.Import(systemActor, p.slug, batch)
			if err != nil {
				return fmt.Errorf("%s: %w", p.slug, err)
			}
			created += res.Created
			skipped += res.Skipped
			comments += res.Comments
			done += len(batch)
			bar.Set(done)
			batch = batch[:0]
			return nil
		}
		for _, ep := range p.posts {
			ip, err := im.post(ep)
			if err != nil {
				return fmt.Errorf("%s: %w", ep.file, err)
			}
			if ep.fm["attachments"] == "" {
				batch = append(batch, ip)
				if len(batch) >= importBatchSize {
					if err := flush(); err != nil {
						return err
					}
				}
				continue
			}
			// A post with files goes alone: its files are stored first
			// and its links pointed at their new addresses.
			if err := flush(); err != nil {
				return err
			}
			n, err := im.withFiles(p.slug, ep, ip)
			if err != nil {
				return fmt.Errorf("%s: %w", ep.file, err)
			}
			created += n.Created
			skipped += n.Skipped
			comments += n.Comments
			files += n.files
			done++
			bar.Set(done)
		}
		if err := flush(); err != nil {
			return err
		}
		if p.archived && fresh {
			if err := a.posts.SetArchived(systemActor, p.slug, true); err != nil {
				return fmt.Errorf("%s: %w", p.slug, err)
			}
		}
	}
	bar.Done()
	fmt.Fprintf(stdout, "imported %d posts, %d comments and %d files into %d projects (%d new); %d posts were already there\n",
		created, comments, files, len(projects), newProjects, skipped)
	if im.newUsers > 0 {
		fmt.Fprintf(stdout, "%d people had no account: they have one now, without a password (set one with \"projblog user passwd EMAIL\")\n", im.newUsers)
	}
	return nil
}

// systemActor is the CLI acting as an admin.
var systemActor = access.Actor{UserID: ^uint64(0), Admin: true}

// exportedProject and exportedPost are an export read back.
type exportedProject struct {
	slug, name, description string
	visibility              access.Visibility
	archived                bool
	members                 []exportedMember
	posts                   []*exportedPost
}

type exportedMember struct {
	person string // "Name <email>"
	role   access.Role
}

type exportedPost struct {
	dir      string // the project's directory
	file     string
	fm       map[string]string
	body     string
	comments []exportedComment
}

type exportedComment struct {
	person   string
	at       time.Time
	replyTo  int
	decision bool
	body     string
}

// readExport reads every project directory of an export, checking all of
// it before anything is written.
func readExport(dir string) ([]*exportedProject, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*exportedProject
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p, err := readExportedProject(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no exported project (a directory with a project.md)", dir)
	}
	return out, nil
}

func readExportedProject(dir string) (*exportedProject, error) {
	file := filepath.Join(dir, "project.md")
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	fm, rest, err := splitFrontMatter(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &exportedProject{slug: fm["slug"], name: fm["name"], visibility: access.Visibility(fm["visibility"]), archived: fm["archived"] == "true"}
	if p.slug == "" || p.name == "" {
		return nil, fmt.Errorf("%s: the front matter needs a name and a slug", file)
	}
	// The body is "# Name" and the description.
	rest = strings.TrimPrefix(strings.TrimLeft(rest, "\n"), "# "+p.name+"\n")
	p.description = strings.TrimSpace(rest)
	for _, line := range strings.Split(fm["members"], "\n") {
		m := memberLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		person, err := unquote(m[1])
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", file, m[1], err)
		}
		p.members = append(p.members, exportedMember{person: person, role: access.Role(m[2])})
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files) // YYYY-MM-DD-slug.md: oldest first
	for _, f := range files {
		if filepath.Base(f) == "project.md" {
			continue
		}
		ep, err := readExportedPost(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		p.posts = append(p.posts, ep)
	}
	return p, nil
}

var (
	memberLine  = regexp.MustCompile(`^\s*-\s*\{user:\s*(".*"),\s*role:\s*([a-z]+)\}\s*$`)
	commentHead = regexp.MustCompile(`(?m)^### Comment (\d+) by (.*), (\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d))((?: \(reply to comment \d+\))?)((?: \(decision\))?)$`)
	replyNum    = regexp.MustCompile(`\d+`)
)

func readExportedPost(file string) (*exportedPost, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	fm, rest, err := splitFrontMatter(string(raw))
	if err != nil {
		return nil, err
	}
	ep := &exportedPost{dir: filepath.Dir(file), file: filepath.Base(file), fm: fm}
	n, _ := strconv.Atoi(fm["comments"])
	body := strings.TrimPrefix(rest, "\n")
	if n > 0 {
		i := strings.LastIndex(body, commentsMarker)
		if i < 0 {
			return nil, fmt.Errorf("the front matter counts %d comments but there is no comments section", n)
		}
		section := body[i+len(commentsMarker):]
		body = body[:i+1]
		heads := commentHead.FindAllStringSubmatchIndex(section, -1)
		if len(heads) != n {
			return nil, fmt.Errorf("the front matter counts %d comments, the comments section holds %d", n, len(heads))
		}
		for k, h := range heads {
			end := len(section)
			if k+1 < len(heads) {
				end = heads[k+1][0]
			}
			at, err := time.Parse(time.RFC3339Nano, section[h[6]:h[7]])
			if err != nil {
				return nil, fmt.Errorf("comment %d: %w", k+1, err)
			}
			c := exportedComment{person: section[h[4]:h[5]], at: at, decision: h[10] != h[11],
				body: strings.TrimSpace(section[h[1]:end])}
			if h[8] != h[9] {
				c.replyTo, _ = strconv.Atoi(replyNum.FindString(section[h[8]:h[9]]))
				if c.replyTo < 1 || c.replyTo > k {
					return nil, fmt.Errorf("comment %d answers comment %d, which does not come before it", k+1, c.replyTo)
				}
			}
			ep.comments = append(ep.comments, c)
		}
	}
	ep.body = strings.TrimRight(body, "\n")
	if v := fm["attachments"]; v != "" {
		var files []exportedFile
		if err := json.Unmarshal([]byte(v), &files); err != nil {
			return nil, fmt.Errorf("front matter attachments: %w", err)
		}
		for _, f := range files {
			if !filepath.IsLocal(filepath.FromSlash(f.File)) {
				return nil, fmt.Errorf("attachment %q lies outside the export", f.File)
			}
			if _, err := os.Stat(filepath.Join(ep.dir, filepath.FromSlash(f.File))); err != nil {
				return nil, fmt.Errorf("attachment %s: %w", f.File, err)
			}
		}
	}
	if fm["title"] == "" || fm["author"] == "" || fm["created"] == "" {
		return nil, fmt.Errorf("the front matter needs a title, an author and a created date")
	}
	return ep, nil
}

// splitFrontMatter parses the front matter export.go writes: "key: value"
// lines between two "---" lines, values plain or JSON-quoted, a list value
// ("members:") kept as its indented lines. It is this format, not YAML in
// general.
func splitFrontMatter(s string) (map[string]string, string, error) {
	if !strings.HasPrefix(s, "---\n") {
		return nil, "", fmt.Errorf("no front matter (the file must start with ---)")
	}
	end := strings.Index(s[4:], "\n---\n")
	if end < 0 {
		return nil, "", fmt.Errorf("the front matter is not closed by ---")
	}
	head, rest := s[4:4+end], s[4+end+5:]
	fm := map[string]string{}
	var listKey string
	sc := bufio.NewScanner(strings.NewReader(head))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if listKey != "" && strings.HasPrefix(line, "  ") {
			fm[listKey] += line + "\n"
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, "", fmt.Errorf("front matter line %q is not key: value", line)
		}
		v = strings.TrimSpace(v)
		listKey = ""
		if v == "" {
			listKey = k
			continue
		}
		if strings.HasPrefix(v, `"`) {
			u, err := unquote(v)
			if err != nil {
				return nil, "", fmt.Errorf("front matter %s: %w", k, err)
			}
			v = u
		}
		fm[k] = v
	}
	return fm, rest, sc.Err()
}

func unquote(v string) (string, error) {
	var s string
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return "", fmt.Errorf("bad quoted value %s", v)
	}
	return s, nil
}

// importer maps the people of an export to accounts, creating those the
// database lacks.
type importer struct {
	a        *app
	ids      map[string]uint64 // "Name <email>" -> user id
	newUsers int
}

func (im *importer) user(person string) (uint64, error) {
	if id, ok := im.ids[person]; ok {
		return id, nil
	}
	name, email := person, ""
	if addr, err := mail.ParseAddress(person); err == nil {
		name, email = addr.Name, addr.Address
	}
	if email == "" {
		// "user 12": someone the exporting database no longer knew.
		email = strings.ReplaceAll(strings.ToLower(person), " ", "-") + "@former-user.invalid"
	}
	if name == "" {
		name = email
	}
	u, err := im.a.users.ByEmail(email)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && u == nil) {
		u, err = im.a.users.Create(users.NewUser{Email: email, Name: name, Password: rand.Text()})
		if err == nil {
			im.newUsers++
		}
	}
	if err != nil {
		return 0, fmt.Errorf("person %s: %w", person, err)
	}
	im.ids[person] = u.ID
	return u.ID, nil
}

// project creates the project when the database lacks it and gives its
// members their roles; it tells whether the project is new.
func (im *importer) project(p *exportedProject) (bool, error) {
	fresh := false
	if _, err := im.a.posts.Project(systemActor, p.slug); apperr.CodeOf(err) == apperr.NotFound {
		var ownerID uint64
		for _, m := range p.members {
			if m.role == access.Owner {
				if ownerID, err = im.user(m.person); err != nil {
					return false, err
				}
				break
			}
		}
		if ownerID == 0 {
			return false, fmt.Errorf("project.md names no owner")
		}
		if _, err := im.a.posts.CreateProject(systemActor, posts.ProjectInput{
			Slug: p.slug, Name: p.name, Description: p.description, Visibility: p.visibility,
		}, ownerID); err != nil {
			return false, err
		}
		fresh = true
	} else if err != nil {
		return false, err
	}
	for _, m := range p.members {
		id, err := im.user(m.person)
		if err != nil {
			return false, err
		}
		if err := im.a.posts.SetMember(systemActor, p.slug, id, m.role); err != nil {
			return false, fmt.Errorf("member %s: %w", m.person, err)
		}
	}
	return fresh, nil
}

func (im *importer) post(ep *exportedPost) (posts.ImportedPost, error) {
	fm := ep.fm
	author, err := im.user(fm["author"])
	if err != nil {
		return posts.ImportedPost{}, err
	}
	ip := posts.ImportedPost{
		Key: "export:" + ep.file, AuthorID: author,
		Title: fm["title"], Slug: fm["slug"], Body: ep.body, Excerpt: fm["excerpt"],
		Health: posts.Health(fm["health"]),
		Draft:  fm["draft"] == "true", Pinned: fm["pinned"] == "true", Decision: fm["decision"] == "true",
	}
	for key, dst := range map[string]*time.Time{"created": &ip.CreatedAt, "updated": &ip.UpdatedAt, "published": &ip.PublishedAt, "deleted_at": &ip.DeletedAt} {
		if v := fm[key]; v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return ip, fmt.Errorf("front matter %s: %w", key, err)
			}
			*dst = t
		}
	}
	if fm["deleted"] == "true" && ip.DeletedAt.IsZero() {
		ip.DeletedAt = ip.UpdatedAt
	}
	if v := fm["tags"]; v != "" {
		if err := json.Unmarshal([]byte(v), &ip.Tags); err != nil {
			return ip, fmt.Errorf("front matter tags %s: %w", v, err)
		}
	}
	for _, c := range ep.comments {
		id, err := im.user(c.person)
		if err != nil {
			return ip, err
		}
		ip.Comments = append(ip.Comments, posts.ImportedComment{AuthorID: id, ReplyTo: c.replyTo, Body: c.body, Decision: c.decision, CreatedAt: c.at})
	}
	return ip, nil
}

type filesResult struct {
	posts.ImportResult
	files int
}

// withFiles imports one post with its attachments. The files its body
// links to are stored first, in no post yet, and the links rewritten to
// their new addresses, so the import links them to the post; the others
// are added to the post afterwards. A post already imported is skipped
// with its files.
func (im *importer) withFiles(slug string, ep *exportedPost, ip posts.ImportedPost) (filesResult, error) {
	var out filesResult
	var files []exportedFile
	if err := json.Unmarshal([]byte(ep.fm["attachments"]), &files); err != nil {
		return out, err
	}
	if id, err := im.a.posts.ImportedAs(systemActor, slug, ip.Key); err != nil {
		return out, err
	} else if id != 0 {
		out.Skipped = 1
		return out, nil
	}
	var later []exportedFile
	for _, f := range files {
		old := posts.AttachmentPath(slug, f.ID, f.Name)
		if !strings.Contains(ip.Body, old) {
			later = append(later, f)
			continue
		}
		att, err := im.addFile(slug, 0, ep, f)
		if err != nil {
			return out, err
		}
		ip.Body = strings.ReplaceAll(ip.Body, old, att.Path())
		out.files++
	}
	res, err := im.a.posts.Import(systemActor, slug, []posts.ImportedPost{ip})
	if err != nil {
		return out, err
	}
	out.ImportResult = res
	for _, f := range later {
		if _, err := im.addFile(slug, res.IDs[0], ep, f); err != nil {
			return out, err
		}
		out.files++
	}
	return out, nil
}

func (im *importer) addFile(slug string, postID uint64, ep *exportedPost, f exportedFile) (*posts.Attachment, error) {
	data, err := os.ReadFile(filepath.Join(ep.dir, filepath.FromSlash(f.File)))
	if err != nil {
		return nil, err
	}
	att, err := im.a.posts.AddAttachment(systemActor, slug, postID, f.Name, data)
	if err != nil {
		return nil, fmt.Errorf("attachment %s: %w", f.File, err)
	}
	return att, nil
}
