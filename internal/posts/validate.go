package posts

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/markdown"
)

// The limits the package enforces. Forms may use them for maxlength
// attributes; the package checks them regardless.
const (
	MinProjectSlugLen   = 2       // bytes (slugs are ASCII)
	MaxProjectSlugLen   = 40      // bytes
	MaxNameRunes        = 100     // project name
	MaxDescriptionRunes = 2000    // project description
	MaxTitleRunes       = 200     // post title
	MaxBodyBytes        = 1 << 20 // post body (Markdown source), 1 MiB
	MaxExcerptRunes     = 500     // explicit post excerpt
	MaxTags             = 10      // tags per post
	MaxTagRunes         = 40      // one tag
	MaxPostSlugLen      = 80      // bytes
	SummaryRunes        = 300     // derived summary when there is no explicit excerpt
)

// ReservedSlugs are the project slugs that collide with the site's own
// top-level paths and so may not name a project.
var ReservedSlugs = []string{
	"new", "admin", "api", "static", "login", "logout", "settings",
	"feeds", "search", "people", "tags", "healthz", "digest",
}

// ReservedPostSlugs are the post slugs that collide with a project's own
// sub-paths (/{project}/tags, /{project}/drafts, ...) and so may not name a
// post. A derived slug that would be one of them gets a numeric suffix; an
// explicit one is refused.
var ReservedPostSlugs = []string{
	"new", "edit", "drafts", "trash", "tags", "archive", "archived", "feed",
	"feeds", "atom", "rss", "members", "settings", "search", "page",
	"decisions", "cadence", "comments", "people", "webhooks", "files", "attachments",
}

// slugFold spells letters that Unicode decomposition does not reduce to
// ASCII.
var slugFold = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'ø': "o", 'Ø': "o", 'œ': "oe", 'Œ': "oe",
	'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ð': "d",
	'Ð': "d", 'ı': "i", 'ħ': "h", 'Ħ': "h",
}

// Slugify turns s into a URL slug: lower-case ASCII letters and digits
// separated by single hyphens, with accents folded away ("Réunion
// d'équipe — Q3!" -> "reunion-d-equipe-q3"). Letters without an ASCII
// spelling (Greek, CJK, ...) act as separators, so the result may be "".
// It does not limit the length.
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	write := func(t string) {
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteString(t)
	}
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent left by decomposition: drop it
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			write(string(r))
		case r >= 'A' && r <= 'Z':
			write(string(r + 'a' - 'A'))
		default:
			if t, ok := slugFold[r]; ok {
				write(t)
			} else {
				dash = true
			}
		}
	}
	return b.String()
}

// cutSlug shortens a slug to at most n bytes without leaving a hyphen at
// the end.
func cutSlug(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Trim(s, "-")
}

// checkSlugChars reports whether s is [a-z0-9-] and neither starts nor
// ends with a hyphen.
func checkSlugChars(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validateProjectSlug(slug string) error {
	if !utf8.ValidString(slug) {
		return apperr.FieldErr("slug", "The address is not valid UTF-8 text.")
	}
	if len(slug) < MinProjectSlugLen || len(slug) > MaxProjectSlugLen {
		return apperr.FieldErr("slug", "The address must be %d to %d characters long.", MinProjectSlugLen, MaxProjectSlugLen)
	}
	if !checkSlugChars(slug) {
		return apperr.FieldErr("slug", "The address may only contain lower-case letters a–z, digits and hyphens, and may not start or end with a hyphen.")
	}
	if slices.Contains(ReservedSlugs, slug) {
		return apperr.FieldErr("slug", "The address “%s” is reserved; please choose another.", slug)
	}
	return nil
}

func validatePostSlug(slug string) error {
	if !utf8.ValidString(slug) {
		return apperr.FieldErr("slug", "The address is not valid UTF-8 text.")
	}
	if len(slug) > MaxPostSlugLen {
		return apperr.FieldErr("slug", "The address may be at most %d characters long.", MaxPostSlugLen)
	}
	if !checkSlugChars(slug) {
		return apperr.FieldErr("slug", "The address may only contain lower-case letters a–z, digits and hyphens, and may not start or end with a hyphen.")
	}
	if slices.Contains(ReservedPostSlugs, slug) {
		return apperr.FieldErr("slug", "The address “%s” is reserved; please choose another.", slug)
	}
	return nil
}

// NormalizeTag returns the canonical form of one tag: trimmed, a leading
// '#' dropped, NFC-normalised, lower-cased, runs of spaces turned into one
// '-'. What remains must be letters (accented and non-Latin ones too),
// combining marks, digits and '-', 1 to MaxTagRunes runes long; otherwise
// it returns an apperr.Invalid error for the field "tags".
func NormalizeTag(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.FieldErr("tags", "A tag is not valid UTF-8 text.")
	}
	t := strings.TrimPrefix(strings.TrimSpace(s), "#")
	t = strings.ToLower(norm.NFC.String(strings.TrimSpace(t)))
	t = strings.Join(strings.Fields(t), "-")
	if t == "" {
		return "", apperr.FieldErr("tags", "A tag may not be empty.")
	}
	for _, r := range t {
		if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || r == '-') {
			return "", apperr.FieldErr("tags", "The tag “%s” may only contain letters, digits and hyphens.", t)
		}
	}
	if n := utf8.RuneCountInString(t); n > MaxTagRunes {
		return "", apperr.FieldErr("tags", "The tag “%s” is too long: at most %d characters.", t, MaxTagRunes)
	}
	return t, nil
}

// normalizeTags normalises, de-duplicates and sorts tags, skipping blank
// entries (a form that splits "a, b," on commas leaves one).
func normalizeTags(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if strings.TrimSpace(s) == "" && utf8.ValidString(s) {
			continue
		}
		t, err := NormalizeTag(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, apperr.FieldErr("tags", "A post may have at most %d tags (this one has %d).", MaxTags, len(out))
	}
	return out, nil
}

// checkText validates one text field: valid UTF-8, no control characters
// except (when multiline) newline, tab and carriage return.
func checkText(field, label, s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return apperr.FieldErr(field, "The %s is not valid UTF-8 text.", label)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			if !multiline && (r == '\n' || r == '\r') {
				return apperr.FieldErr(field, "The %s must be a single line.", label)
			}
			return apperr.FieldErr(field, "The %s contains a control character (%U) that is not allowed.", label, r)
		}
	}
	return nil
}

func checkRunes(field, label, s string, min, max int) error {
	n := utf8.RuneCountInString(s)
	switch {
	case n < min && min == 1:
		return apperr.FieldErr(field, "Please enter a %s.", label)
	case n < min:
		return apperr.FieldErr(field, "The %s must be at least %d characters long.", label, min)
	case n > max:
		return apperr.FieldErr(field, "The %s is too long: at most %d characters (it has %d).", label, max, n)
	}
	return nil
}

// cleanProject validates a project form. On create, an empty slug is
// derived from the name and an empty visibility means Internal; on update
// the slug is ignored and an empty visibility keeps the current one.
func cleanProject(in ProjectInput, create bool) (ProjectInput, error) {
	var out ProjectInput
	if !in.MailPosts.Valid() {
		return out, apperr.FieldErr("mail_posts", "Mail to the project becomes a post, a draft, or is refused (publish, draft or off).")
	}
	if err := checkText("name", "name", in.Name, false); err != nil {
		return out, err
	}
	out.Name = strings.TrimSpace(in.Name)
	if err := checkRunes("name", "name", out.Name, 1, MaxNameRunes); err != nil {
		return out, err
	}
	if err := checkText("description", "description", in.Description, true); err != nil {
		return out, err
	}
	out.Description = strings.TrimSpace(in.Description)
	if err := checkRunes("description", "description", out.Description, 0, MaxDescriptionRunes); err != nil {
		return out, err
	}
	out.Visibility = in.Visibility
	if out.Visibility == "" && create {
		out.Visibility = access.Internal
	}
	if out.Visibility != "" && !out.Visibility.Valid() {
		return out, apperr.FieldErr("visibility", "Visibility must be public, internal or private.")
	}
	if create {
		out.Slug = strings.TrimSpace(in.Slug)
		if out.Slug == "" {
			out.Slug = cutSlug(Slugify(out.Name), MaxProjectSlugLen)
			if len(out.Slug) < MinProjectSlugLen {
				return out, apperr.FieldErr("slug", "Please choose an address for the project (2 to 40 letters a–z, digits and hyphens).")
			}
		}
		if err := validateProjectSlug(out.Slug); err != nil {
			return out, err
		}
	}
	return out, nil
}

// errBodyTooLarge is the error for a post body of n bytes, over MaxBodyBytes.
func errBodyTooLarge(n int) error {
	return &apperr.Error{Code: apperr.TooLarge, Field: "body",
		Message: fmt.Sprintf("The text is too long: at most 1 MiB (%d bytes); it has %d bytes.", MaxBodyBytes, n)}
}

// cleanPost is a validated post form with its rendering.
type cleanPost struct {
	title, body, excerpt, slug string
	tags                       []string
	html, summary              string
	mentions                   []uint64 // users @mentioned in the body (mentions.go)
}

// cleanPostInput validates a post form and renders its body, with the
// @mentions the resolver knows as links. It runs outside any transaction,
// so a long render (or the resolver's own read) never holds the write lock.
func (s *Service) cleanPostInput(in PostInput) (*cleanPost, error) {
	var c cleanPost
	if err := checkText("title", "title", in.Title, false); err != nil {
		return nil, err
	}
	c.title = strings.TrimSpace(in.Title)
	if err := checkRunes("title", "title", c.title, 1, MaxTitleRunes); err != nil {
		return nil, err
	}
	if len(in.Body) > MaxBodyBytes {
		return nil, errBodyTooLarge(len(in.Body))
	}
	if err := checkText("body", "text", in.Body, true); err != nil {
		return nil, err
	}
	c.body = in.Body
	if err := checkText("excerpt", "excerpt", in.Excerpt, true); err != nil {
		return nil, err
	}
	c.excerpt = strings.TrimSpace(in.Excerpt)
	if err := checkRunes("excerpt", "excerpt", c.excerpt, 0, MaxExcerptRunes); err != nil {
		return nil, err
	}
	tags, err := normalizeTags(in.Tags)
	if err != nil {
		return nil, err
	}
	c.tags = tags
	c.slug = strings.TrimSpace(in.Slug)
	if c.slug != "" {
		if err := validatePostSlug(c.slug); err != nil {
			return nil, err
		}
	}
	html, mentions, err := s.render(c.body)
	if err != nil {
		return nil, err
	}
	c.html, c.mentions = html, mentions
	c.summary = summaryOf(c.body, c.excerpt)
	return &c, nil
}

func summaryOf(body, excerpt string) string {
	if excerpt != "" {
		return excerpt
	}
	return markdown.Excerpt(body, SummaryRunes)
}
