package markdown

import (
	"testing"

	"github.com/yuin/goldmark/ast"
)

func TestHeadingIDs(t *testing.T) {
	tests := []struct {
		name     string
		headings []string
		want     []string
	}{
		{"ASCII", []string{"Set up, now!"}, []string{"set-up-now"}},
		{"UnderscoreAndHyphen", []string{"a_b-c d"}, []string{"a-b-c-d"}},
		{"Latin", []string{"Über uns"}, []string{"über-uns"}},
		{"CJK", []string{"日本語の見出し"}, []string{"日本語の見出し"}},
		{"CombiningMarks", []string{"हिन्दी"}, []string{"हिन्दी"}},
		{"OnlyPunctuation", []string{"!?", "  "}, []string{"heading", "heading-1"}},
		{"Repeats", []string{"Notes", "Notes", "Notes"}, []string{"notes", "notes-1", "notes-2"}},
		{"RepeatMeetsSuffix", []string{"Notes", "Notes 1", "Notes"}, []string{"notes", "notes-1", "notes-2"}},
		{"SuffixMeetsRepeat", []string{"Notes", "Notes", "Notes 1"}, []string{"notes", "notes-1", "notes-1-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := newHeadingIDs()
			for i, h := range tt.headings {
				if got := string(ids.Generate([]byte(h), ast.KindHeading)); got != tt.want[i] {
					t.Errorf("heading %d %q: id %q, want %q", i, h, got, tt.want[i])
				}
			}
		})
	}
}

// BenchmarkHeadingIDsRepeated generates the id of the same heading many
// times, which must cost the same each time and not grow with the count.
func BenchmarkHeadingIDsRepeated(b *testing.B) {
	ids := newHeadingIDs()
	for b.Loop() {
		ids.Generate([]byte("Same heading"), ast.KindHeading)
	}
}
