package feeds

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// variants returns the feeds every validator checks in format: the fixture
// of the golden files and the edge cases around it.
func variants(t *testing.T, format Format) map[string]*Feed {
	t.Helper()
	empty := fixture(t, format)
	empty.Entries = nil
	empty.Description = ""

	noEmail := fixture(t, format)
	noEmail.Entries = noEmail.Entries[:1]
	noEmail.Entries[0].AuthorEmail = ""

	noAuthor := fixture(t, format)
	noAuthor.Entries[0].AuthorName, noAuthor.Entries[0].AuthorEmail = "", ""
	noAuthor.Entries[1].AuthorName, noAuthor.Entries[1].AuthorEmail = "", "grace@example.com"

	manyCats := fixture(t, format)
	manyCats.Entries[0].Categories = nil
	for i := range 40 {
		manyCats.Entries[0].Categories = append(manyCats.Entries[0].Categories, fmt.Sprintf("tag-%02d", i))
	}
	manyCats.Entries[0].Categories = append(manyCats.Entries[0].Categories,
		"R&D", "C++", "été", "<b>", `"quoted"`, "health:at-risk", "")

	bare := fixture(t, format) // the least a caller may give
	bare.Language, bare.Generator, bare.SelfURL, bare.AltURL = "", "", "", ""
	bare.Entries[0].Summary, bare.Entries[0].ContentHTML = "", "<p>only content</p>"
	bare.Entries[1].Updated = bare.Entries[1].Published

	noContent := fixture(t, format)
	noContent.Entries[1].ContentHTML, noContent.Entries[1].Summary = "", ""

	return map[string]*Feed{
		"no_content":      noContent,
		"golden":          fixture(t, format),
		"empty":           empty,
		"no_email":        noEmail,
		"no_author":       noAuthor,
		"many_categories": manyCats,
		"bare":            bare,
	}
}

// TestAtomRelaxNG validates the Atom output against RFC 4287's RELAX NG
// schema (testdata/atom.rnc, RFC 4287 Appendix B) with jing.
func TestAtomRelaxNG(t *testing.T) {
	t.Parallel() // jing is a JVM: run the documents side by side
	jing := lookTool("jing")
	if jing == "" {
		missingValidator(t, "jing (RELAX NG validator)", "apt-get install -y jing")
	}
	schema := filepath.Join("testdata", "atom.rnc")
	validate := func(t *testing.T, path string) (string, error) {
		out, err := exec.Command(jing, "-c", schema, path).CombinedOutput()
		return jingErrors(out), err
	}

	t.Run("golden_file", func(t *testing.T) {
		t.Parallel()
		if msg, err := validate(t, filepath.Join("testdata", "golden", "feed.atom")); err != nil {
			t.Errorf("jing: %v\n%s", err, msg)
		}
	})
	for name, f := range variants(t, Atom) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := render(t, f, Atom)
			if msg, err := validate(t, writeTemp(t, "feed.atom", doc)); err != nil {
				t.Errorf("jing: %v\n%s\n%s", err, msg, doc)
			}
		})
	}
	// The check itself must be able to fail: gorilla's string category,
	// a missing id and a malformed date are all caught.
	golden := string(render(t, fixture(t, Atom), Atom))
	for name, bad := range map[string]string{
		"string_category": strings.Replace(golden, `<category term="launch"></category>`, `<category>launch</category>`, 1),
		"no_id":           strings.Replace(golden, `<id>tag:blog.example.com,2026:feed/project/apollo</id>`, ``, 1),
		"rfc1123_date":    strings.Replace(golden, `<updated>2026-03-03T14:05:00Z</updated>`, `<updated>Tue, 03 Mar 2026 14:05:00 +0000</updated>`, 1),
	} {
		t.Run("rejects_"+name, func(t *testing.T) {
			t.Parallel()
			if bad == golden {
				t.Fatal("the replacement did not apply; update the test")
			}
			if _, err := validate(t, writeTemp(t, "bad.atom", []byte(bad))); err == nil {
				t.Error("jing accepted an invalid Atom document")
			}
		})
	}
}

// jingErrors drops the warnings Debian's jing wrapper prints about optional
// jars from its output.
func jingErrors(out []byte) string {
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "[warning]") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// ajvDir is where `npm install --prefix internal/feeds/testdata/npm ...`
// puts ajv-cli, ajv-formats and jsonfeed-schema.
var ajvDir = filepath.Join("testdata", "npm", "node_modules")

// TestJSONFeedSchema validates the JSON Feed output against the JSON Schema of
// JSON Feed 1.1 from the npm package jsonfeed-schema@0.5.0, with ajv-cli.
func TestJSONFeedSchema(t *testing.T) {
	t.Parallel() // each ajv run starts node: run the documents side by side
	ajv := filepath.Join(ajvDir, ".bin", "ajv")
	schema := filepath.Join(ajvDir, "jsonfeed-schema", "schema-v1.1.json")
	const how = "npm install --prefix internal/feeds/testdata/npm ajv-cli@5 ajv-formats@2 jsonfeed-schema@0.5.0"
	for _, p := range []string{ajv, schema} {
		if _, err := os.Stat(p); err != nil {
			missingValidator(t, p, how)
		}
	}
	if lookTool("node") == "" {
		missingValidator(t, "node", "apt-get install -y nodejs npm")
	}
	validate := func(t *testing.T, path string) (string, error) {
		// The schema is draft-07 and uses the formats uri and date-time,
		// which ajv 8 knows only through ajv-formats.
		out, err := exec.Command(ajv, "validate", "--spec=draft7", "-c", "ajv-formats",
			"--all-errors", "--errors=text", "-s", schema, "-d", path).CombinedOutput()
		return string(out), err
	}

	t.Run("golden_file", func(t *testing.T) {
		t.Parallel()
		if msg, err := validate(t, filepath.Join("testdata", "golden", "feed.json")); err != nil {
			t.Errorf("ajv: %v\n%s", err, msg)
		}
	})
	for name, f := range variants(t, JSON) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := render(t, f, JSON)
			if msg, err := validate(t, writeTemp(t, "feed.json", doc)); err != nil {
				t.Errorf("ajv: %v\n%s\n%s", err, msg, doc)
			}
		})
	}
	golden := string(render(t, fixture(t, JSON), JSON))
	for name, bad := range map[string]string{
		"no_items":     strings.Replace(golden, `"items": [`, `"entries": [`, 1),
		"relative_url": strings.Replace(golden, `"url": "https://blog.example.com/p/apollo/kick-off"`, `"url": "/p/apollo/kick-off"`, 1),
		"bad_date":     strings.Replace(golden, `"date_published": "2026-02-20T08:00:00Z"`, `"date_published": "Fri, 20 Feb 2026 08:00:00 +0000"`, 1),
		"author_email": strings.Replace(golden, `"url": "mailto:ada@example.com"`, `"email": "ada@example.com"`, 1),
	} {
		t.Run("rejects_"+name, func(t *testing.T) {
			t.Parallel()
			if bad == golden {
				t.Fatal("the replacement did not apply; update the test")
			}
			if _, err := validate(t, writeTemp(t, "bad.json", []byte(bad))); err == nil {
				t.Error("ajv accepted an invalid JSON Feed")
			}
		})
	}
}
