package posts

import (
	"slices"
	"strings"
	"testing"

	"projblog/internal/access"
	"projblog/internal/apperr"
)

func TestSlugify(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"Brief", "Réunion d'équipe — Q3!", "reunion-d-equipe-q3"},
		{"Plain", "Hello World", "hello-world"},
		{"Digits", "Release 2.0 notes", "release-2-0-notes"},
		{"Trim", "  --Hello--  ", "hello"},
		{"Collapse", "a   &&  b", "a-b"},
		{"Sharp s", "Straße", "strasse"},
		{"Ligatures", "Æsop Œuvre ﬁnal", "aesop-oeuvre-final"},
		{"Nordic", "Ørsted Łódź", "orsted-lodz"},
		{"Fullwidth", "ＡＢＣ１", "abc1"},
		{"Non-Latin only", "日本語", ""},
		{"Mixed script", "Go 言語 tips", "go-tips"},
		{"Empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Slugify(tt.in); got != tt.want {
				t.Errorf("Slugify(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeTag(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"Lower", "GoLang", "golang", true},
		{"Trim", "  ops  ", "ops", true},
		{"Spaces", "release  notes 2", "release-notes-2", true},
		{"Hash", "#infra", "infra", true},
		{"Accented", "Économie", "économie", true},
		{"Decomposed is NFC", "e\u0301te\u0301", "été", true},
		{"CJK", "日本", "日本", true},
		{"Hyphen", "a-b", "a-b", true},
		{"Max", strings.Repeat("é", 40), strings.Repeat("é", 40), true},
		{"ErrEmpty", "   ", "", false},
		{"ErrPunctuation", "c++", "", false},
		{"ErrComma", "a,b", "", false},
		{"ErrTooLong", strings.Repeat("a", 41), "", false},
		{"ErrBadUTF8", "a\xffb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeTag(tt.in)
			if !tt.ok {
				wantField(t, err, apperr.Invalid, "tags")
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizeTag(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       []DiffLine
	}{
		{"Same", "a\nb\n", "a\nb\n", []DiffLine{{' ', "a"}, {' ', "b"}}},
		{"Insert", "a\nc\n", "a\nb\nc\n", []DiffLine{{' ', "a"}, {'+', "b"}, {' ', "c"}}},
		{"Delete", "a\nb\nc\n", "a\nc\n", []DiffLine{{' ', "a"}, {'-', "b"}, {' ', "c"}}},
		{"Replace", "a\nb\nc", "a\nB\nc", []DiffLine{{' ', "a"}, {'-', "b"}, {'+', "B"}, {' ', "c"}}},
		{"Blank lines", "a\n\nb\n", "a\n\n\nb\n", []DiffLine{{' ', "a"}, {' ', ""}, {'+', ""}, {' ', "b"}}},
		{"From empty", "", "x\ny\n", []DiffLine{{'+', "x"}, {'+', "y"}}},
		{"CRLF", "a\r\nb\r\n", "a\r\nc\r\n", []DiffLine{{' ', "a"}, {'-', "b"}, {'+', "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.a, tt.b); !slices.Equal(got, tt.want) {
				t.Errorf("Diff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCreateProjectValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name  string
		in    ProjectInput
		code  apperr.Code
		field string
	}{
		{"SlugTooShort", ProjectInput{Slug: "a", Name: "A"}, apperr.Invalid, "slug"},
		{"SlugTooLong", ProjectInput{Slug: long(41), Name: "A"}, apperr.Invalid, "slug"},
		{"SlugUpper", ProjectInput{Slug: "Alpha", Name: "A"}, apperr.Invalid, "slug"},
		{"SlugUnderscore", ProjectInput{Slug: "al_pha", Name: "A"}, apperr.Invalid, "slug"},
		{"SlugLeadingDash", ProjectInput{Slug: "-alpha", Name: "A"}, apperr.Invalid, "slug"},
		{"SlugTrailingDash", ProjectInput{Slug: "alpha-", Name: "A"}, apperr.Invalid, "slug"},
		{"SlugReserved", ProjectInput{Slug: "admin", Name: "A"}, apperr.Invalid, "slug"},
		{"SlugReservedDigest", ProjectInput{Slug: "digest", Name: "A"}, apperr.Invalid, "slug"},
		{"SlugNotDerivable", ProjectInput{Name: "日本"}, apperr.Invalid, "slug"},
		{"NameEmpty", ProjectInput{Slug: "alpha", Name: "  "}, apperr.Invalid, "name"},
		{"NameTooLong", ProjectInput{Slug: "alpha", Name: long(101)}, apperr.Invalid, "name"},
		{"NameNewline", ProjectInput{Slug: "alpha", Name: "a\nb"}, apperr.Invalid, "name"},
		{"NameBadUTF8", ProjectInput{Slug: "alpha", Name: "a\xff"}, apperr.Invalid, "name"},
		{"DescriptionTooLong", ProjectInput{Slug: "alpha", Name: "A", Description: long(2001)}, apperr.Invalid, "description"},
		{"DescriptionControl", ProjectInput{Slug: "alpha", Name: "A", Description: "a\x00"}, apperr.Invalid, "description"},
		{"DescriptionBadUTF8", ProjectInput{Slug: "alpha", Name: "A", Description: "\xc3"}, apperr.Invalid, "description"},
		{"VisibilityUnknown", ProjectInput{Slug: "alpha", Name: "A", Visibility: "secret"}, apperr.Invalid, "visibility"},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.CreateProject(owner, tt.in, 0)
			wantField(t, err, tt.code, tt.field)
		})
	}
	t.Run("OK", func(t *testing.T) {
		p, err := f.s.CreateProject(owner, ProjectInput{Slug: "alpha", Name: "  Alpha ", Description: "Line 1\nLine 2", Visibility: access.Private}, 0)
		must(t, err)
		if p.Name != "Alpha" || p.Slug != "alpha" || p.Visibility != access.Private || !p.CreatedAt.Equal(t0) || !p.LastActivity.Equal(t0) {
			t.Errorf("project = %+v", p)
		}
	})
	t.Run("OKLimits", func(t *testing.T) {
		_, err := f.s.CreateProject(owner, ProjectInput{Slug: long(40), Name: strings.Repeat("é", 100), Description: strings.Repeat("é", 2000)}, 0)
		must(t, err)
	})
	t.Run("ErrSlugTaken", func(t *testing.T) {
		_, err := f.s.CreateProject(member, ProjectInput{Slug: "alpha", Name: "Another"}, 0)
		wantField(t, err, apperr.Conflict, "slug")
		if !strings.Contains(apperr.MessageOf(err), "taken") {
			t.Errorf("message %q does not say the slug is taken", apperr.MessageOf(err))
		}
	})
	t.Run("DerivedSlugAndDefaultVisibility", func(t *testing.T) {
		p, err := f.s.CreateProject(owner, ProjectInput{Name: "Réunion d'équipe — Q3!"}, 0)
		must(t, err)
		if p.Slug != "reunion-d-equipe-q3" || p.Visibility != access.Internal {
			t.Errorf("slug %q visibility %q", p.Slug, p.Visibility)
		}
	})
	t.Run("ErrAnonymous", func(t *testing.T) {
		_, err := f.s.CreateProject(anon, ProjectInput{Slug: "beta", Name: "B"}, 0)
		wantCode(t, err, apperr.Unauthorized)
	})
	t.Run("ErrOwnerOtherThanSelf", func(t *testing.T) {
		_, err := f.s.CreateProject(member, ProjectInput{Slug: "beta", Name: "B"}, owner.UserID)
		wantCode(t, err, apperr.Forbidden)
	})
	t.Run("AdminForSomeoneElse", func(t *testing.T) {
		_, err := f.s.CreateProject(access.Actor{Admin: true}, ProjectInput{Slug: "beta", Name: "B"}, member.UserID)
		must(t, err)
		role, err := f.s.RoleOf(mustProject(t, f, "beta").ID, member.UserID)
		must(t, err)
		if role != access.Owner {
			t.Errorf("role = %q, want owner", role)
		}
	})
}

func mustProject(tb testing.TB, f *fixture, slug string) *ProjectView {
	tb.Helper()
	pv, err := f.s.Project(admin, slug)
	if err != nil {
		tb.Fatalf("Project(%s): %v", slug, err)
	}
	return pv
}

func TestCreatePostValidation(t *testing.T) {
	f := newFixture(t)
	f.project("alpha", access.Public)
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	manyTags := make([]string, 11)
	for i := range manyTags {
		manyTags[i] = string(rune('a' + i))
	}
	tests := []struct {
		name  string
		in    PostInput
		code  apperr.Code
		field string
	}{
		{"TitleEmpty", PostInput{Title: " \t "}, apperr.Invalid, "title"},
		{"TitleTooLong", PostInput{Title: long("é", 201)}, apperr.Invalid, "title"},
		{"TitleNewline", PostInput{Title: "a\nb"}, apperr.Invalid, "title"},
		{"TitleTab", PostInput{Title: "a\tb"}, apperr.Invalid, "title"},
		{"TitleBadUTF8", PostInput{Title: "a\xffb"}, apperr.Invalid, "title"},
		{"BodyTooLarge", PostInput{Title: "T", Body: long("a", MaxBodyBytes+1)}, apperr.TooLarge, "body"},
		{"BodyControl", PostInput{Title: "T", Body: "bell \a here"}, apperr.Invalid, "body"},
		{"BodyNUL", PostInput{Title: "T", Body: "a\x00"}, apperr.Invalid, "body"},
		{"BodyBadUTF8", PostInput{Title: "T", Body: "a\xc3("}, apperr.Invalid, "body"},
		{"ExcerptTooLong", PostInput{Title: "T", Excerpt: long("é", 501)}, apperr.Invalid, "excerpt"},
		{"ExcerptControl", PostInput{Title: "T", Excerpt: "a\x1b[0m"}, apperr.Invalid, "excerpt"},
		{"ExcerptBadUTF8", PostInput{Title: "T", Excerpt: "\xff"}, apperr.Invalid, "excerpt"},
		{"TooManyTags", PostInput{Title: "T", Tags: manyTags}, apperr.Invalid, "tags"},
		{"TagTooLong", PostInput{Title: "T", Tags: []string{long("a", 41)}}, apperr.Invalid, "tags"},
		{"TagBadChars", PostInput{Title: "T", Tags: []string{"a/b"}}, apperr.Invalid, "tags"},
		{"TagBadUTF8", PostInput{Title: "T", Tags: []string{"\xff"}}, apperr.Invalid, "tags"},
		{"SlugTooLong", PostInput{Title: "T", Slug: long("a", 81)}, apperr.Invalid, "slug"},
		{"SlugChars", PostInput{Title: "T", Slug: "Hello World"}, apperr.Invalid, "slug"},
		{"SlugDash", PostInput{Title: "T", Slug: "-x"}, apperr.Invalid, "slug"},
		{"SlugReserved", PostInput{Title: "T", Slug: "drafts"}, apperr.Invalid, "slug"},
		{"SlugBadUTF8", PostInput{Title: "T", Slug: "\xff"}, apperr.Invalid, "slug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.CreatePost(member, "alpha", tt.in)
			wantField(t, err, tt.code, tt.field)
		})
	}
	t.Run("OKLimits", func(t *testing.T) {
		tags := append(slices.Clone(manyTags[:9]), "I", " ", "A", long("é", 40)) // 'a' and 'A' are one tag; blank skipped
		p, err := f.s.CreatePost(member, "alpha", PostInput{
			Title:   long("é", 200),
			Body:    long("a", MaxBodyBytes-3) + "\n\t\r",
			Excerpt: long("é", 500),
			Slug:    long("a", 80),
			Tags:    tags,
		})
		must(t, err)
		want := append(slices.Clone(manyTags[:9]), long("é", 40))
		if !slices.Equal(p.Tags, want) {
			t.Errorf("tags = %q, want %q", p.Tags, want)
		}
	})
	t.Run("OKRenderedAndSummary", func(t *testing.T) {
		p, err := f.s.CreatePost(member, "alpha", PostInput{Title: "  Hello  ", Body: "First *para*.\n\nSecond <script>alert(1)</script>", Tags: []string{"Ops", "ops", "#Infra"}})
		must(t, err)
		if p.Title != "Hello" || !strings.Contains(p.HTML, "<em>para</em>") || strings.Contains(p.HTML, "<script") {
			t.Errorf("title %q html %q", p.Title, p.HTML)
		}
		if p.Summary == "" || strings.Contains(p.Summary, "Second") || p.Excerpt != "" {
			t.Errorf("summary %q excerpt %q", p.Summary, p.Excerpt)
		}
		if !slices.Equal(p.Tags, []string{"infra", "ops"}) {
			t.Errorf("tags = %q", p.Tags)
		}
		if p.AuthorID != member.UserID || p.Revision != 1 || p.Draft || !p.PublishedAt.Equal(t0) {
			t.Errorf("post = %+v", p)
		}
		q, err := f.s.CreatePost(member, "alpha", PostInput{Title: "With excerpt", Body: "Body", Excerpt: " Typed. "})
		must(t, err)
		if q.Excerpt != "Typed." || q.Summary != "Typed." {
			t.Errorf("excerpt %q summary %q", q.Excerpt, q.Summary)
		}
	})
}
