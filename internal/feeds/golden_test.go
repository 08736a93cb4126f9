package feeds

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGolden compares the rendering of the fixed feed in each format with
// testdata/golden/feed.{atom,rss,json}. Run `go test ./internal/feeds -update`
// to rewrite them, and read the diff.
func TestGolden(t *testing.T) {
	for _, format := range []Format{Atom, RSS, JSON} {
		t.Run(string(format), func(t *testing.T) {
			got := render(t, fixture(t, format), format)
			path := filepath.Join("testdata", "golden", "feed"+format.Ext())
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendering (run with -update to accept it):\n%s", path, firstDiff(got, want))
			}
			// The same Feed renders to the same bytes: nothing reads the clock.
			if again := render(t, fixture(t, format), format); !bytes.Equal(again, got) {
				t.Errorf("a second rendering differs:\n%s", firstDiff(again, got))
			}
		})
	}
}
