package markdown

import (
	"bytes"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
)

// headingIDs makes the id of each heading of one document from the Markdown
// of its line, like goldmark's default (lower case, a space, '-' or '_' becomes '-', other
// punctuation is dropped, "-1", "-2", ... make repeats unique), except that it
// keeps the letters and digits of every script: "## Über uns" gets
// "über-uns" where goldmark's would be "ber-uns", and a heading in Japanese
// keeps its words instead of becoming "heading".
type headingIDs struct {
	seen map[string]bool
	// last is the last suffix given to each repeated id, so that the n-th
	// repeat costs O(1) and not O(n).
	last map[string]int
}

var _ parser.IDs = (*headingIDs)(nil)

func newHeadingIDs() *headingIDs {
	return &headingIDs{seen: map[string]bool{}, last: map[string]int{}}
}

// Generate implements parser.IDs.
func (s *headingIDs) Generate(value []byte, kind ast.NodeKind) []byte {
	id := make([]byte, 0, len(value))
	for _, r := range string(bytes.TrimSpace(value)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			id = utf8.AppendRune(id, unicode.ToLower(r))
		case unicode.IsSpace(r) || r == '-' || r == '_':
			id = append(id, '-')
		}
	}
	if len(id) == 0 {
		if kind == ast.KindHeading {
			id = []byte("heading")
		} else {
			id = []byte("id")
		}
	}
	if !s.seen[string(id)] {
		s.seen[string(id)] = true
		return id
	}
	for i := s.last[string(id)] + 1; ; i++ {
		next := string(id) + "-" + strconv.Itoa(i)
		if !s.seen[next] {
			s.seen[next] = true
			s.last[string(id)] = i
			return []byte(next)
		}
	}
}

// Put implements parser.IDs.
func (s *headingIDs) Put(value []byte) {
	s.seen[string(value)] = true
}
