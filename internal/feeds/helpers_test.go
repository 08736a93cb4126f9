package feeds

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testBase is the site's base URL in every test.
const testBase = "https://blog.example.com"

// mustTime parses an RFC 3339 time.
func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// fixtureContent is the first entry's HTML, as the Markdown renderer makes
// it: root-relative links and images, a srcset, a heading anchor, a footnote,
// an absolute link, a mailto: link, and characters that need escaping.
const fixtureContent = `<p>The window moves to <strong>Friday</strong>. See <a href="/p/apollo/checklist">the checklist</a> and the note<sup id="fnref:1"><a href="#fn:1" class="footnote-ref" role="doc-noteref">1</a></sup>.</p>
<p><img src="/static/uploads/window.png" alt="Launch window chart" srcset="/static/uploads/window.png 1x, /static/uploads/window@2x.png 2x"></p>
<h2 id="setup">Setup <a class="anchor" href="#setup" aria-hidden="true" tabindex="-1">#</a></h2>
<p>Questions to <a href="mailto:ops@example.com">ops</a>; the <a href="https://example.org/spec?a=1&amp;b=2">spec</a> is outside. R&amp;D says <code>a &lt; b &amp;&amp; c</code>.</p>
<div class="footnotes" role="doc-endnotes">
<ol>
<li id="fn:1">
<p>Weather permitting. <a href="#fnref:1" class="footnote-backref" role="doc-backlink">↩︎</a></p>
</li>
</ol>
</div>
`

// fixture returns the fixed feed of the golden files, with SelfURL for
// format: two entries, newest first; the first edited, with categories, an
// author e-mail, relative links and an image; the second never edited, with
// an author who hides the e-mail.
func fixture(tb testing.TB, format Format) *Feed {
	tb.Helper()
	return &Feed{
		ID:          FeedID(testBase, "project/apollo"),
		Title:       "Apollo",
		Description: "Updates from the Apollo project: launches, tests & reviews.",
		SelfURL:     testBase + "/p/apollo/feed" + format.Ext() + "?token=tok_abc123",
		AltURL:      testBase + "/p/apollo",
		Language:    "en",
		Generator:   "projblog",
		Entries: []Entry{
			{
				ID:          EntryID(testBase, mustTime(tb, "2026-03-01T23:30:00-02:00"), 7),
				Title:       "Launch window moved to Friday",
				URL:         testBase + "/p/apollo/launch-window",
				AuthorName:  "Ada Lovelace",
				AuthorEmail: "ada@example.com",
				Published:   mustTime(tb, "2026-03-02T09:30:00Z"),
				Updated:     mustTime(tb, "2026-03-03T15:05:00+01:00"),
				Categories:  []string{"launch", "schedule", "health:at-risk"},
				ContentHTML: fixtureContent,
				Summary:     "The window moves to Friday. See the checklist & the note.",
			},
			{
				ID:          EntryID(testBase, mustTime(tb, "2026-02-20T07:55:00Z"), 3),
				Title:       "Kick-off <notes>",
				URL:         testBase + "/p/apollo/kick-off",
				AuthorName:  "Grace Hopper",
				Published:   mustTime(tb, "2026-02-20T08:00:00Z"),
				ContentHTML: "<p>Welcome to <a href=\"/p/apollo\">Apollo</a>.</p>\n",
				Summary:     "Welcome to Apollo.",
			},
		},
	}
}

// render renders f in format against testBase, failing the test on error.
func render(tb testing.TB, f *Feed, format Format) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, f, format, testBase); err != nil {
		tb.Fatalf("Render(%s): %v", format, err)
	}
	return buf.Bytes()
}

// writeTemp writes data to a file named name in a fresh temporary directory
// and returns its path.
func writeTemp(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// requireValidators is set in CI: a missing validator fails the test there
// instead of skipping it.
const requireValidators = "PROJBLOG_REQUIRE_VALIDATORS"

// missingValidator skips the test, or fails it when PROJBLOG_REQUIRE_VALIDATORS=1,
// because the validator what is not installed; how says how to install it.
func missingValidator(tb testing.TB, what, how string) {
	tb.Helper()
	msg := what + " is not installed, so this validation did not run; install it with: " + how
	if os.Getenv(requireValidators) == "1" {
		tb.Fatal(msg + " (" + requireValidators + "=1)")
	}
	tb.Skip(msg)
}

// lookTool returns the path of the program name, or "" if it is not on PATH.
func lookTool(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "no difference"
}
