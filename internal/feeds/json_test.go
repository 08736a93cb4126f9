package feeds

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// jsonCheck is JSON Feed 1.1 as encoding/json decodes it.
type jsonCheck struct {
	Version     string `json:"version"`
	Title       string `json:"title"`
	HomePageURL string `json:"home_page_url"`
	FeedURL     string `json:"feed_url"`
	Description string `json:"description"`
	Language    string `json:"language"`
	Author      any    `json:"author"` // the deprecated 1.0 field: must be absent
	Items       *[]struct {
		ID            string  `json:"id"`
		URL           string  `json:"url"`
		Title         string  `json:"title"`
		ContentHTML   *string `json:"content_html"`
		Summary       string  `json:"summary"`
		DatePublished string  `json:"date_published"`
		DateModified  string  `json:"date_modified"`
		Author        any     `json:"author"`
		Authors       []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"authors"`
		Tags []string `json:"tags"`
	} `json:"items"`
}

// TestJSONFeedFields decodes the JSON Feed output of every variant with
// encoding/json and checks the JSON Feed 1.1 fields.
func TestJSONFeedFields(t *testing.T) {
	for name, f := range variants(t, JSON) {
		t.Run(name, func(t *testing.T) {
			doc := render(t, f, JSON)
			var j jsonCheck
			dec := json.NewDecoder(strings.NewReader(string(doc)))
			if err := dec.Decode(&j); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, doc)
			}
			if j.Version != "https://jsonfeed.org/version/1.1" {
				t.Errorf("version %q", j.Version)
			}
			if j.Title != f.Title || j.Description != f.Description || j.Language != f.Language {
				t.Errorf("title %q, description %q, language %q; want %q, %q, %q",
					j.Title, j.Description, j.Language, f.Title, f.Description, f.Language)
			}
			wantHome := f.AltURL
			if wantHome == "" {
				wantHome = testBase + "/"
			}
			if j.HomePageURL != wantHome || j.FeedURL != f.SelfURL {
				t.Errorf("home_page_url %q, feed_url %q; want %q, %q", j.HomePageURL, j.FeedURL, wantHome, f.SelfURL)
			}
			if j.Author != nil {
				t.Errorf("deprecated feed author %v", j.Author)
			}
			if j.Items == nil {
				t.Fatal("no items array (required, even when empty)")
			}
			items := *j.Items
			if len(items) != len(f.Entries) {
				t.Fatalf("%d items, want %d", len(items), len(f.Entries))
			}
			for i, it := range items {
				e := f.Entries[i]
				if it.ID != e.ID || it.URL != e.URL || it.Title != e.Title || it.Summary != e.Summary {
					t.Errorf("item %d: id %q url %q title %q summary %q", i, it.ID, it.URL, it.Title, it.Summary)
				}
				if it.ContentHTML == nil || (e.ContentHTML != "" && *it.ContentHTML == "") {
					t.Errorf("item %d: content_html %v", i, it.ContentHTML)
				}
				if it.DatePublished != e.Published.UTC().Format(time.RFC3339) {
					t.Errorf("item %d: date_published %q, want %v in UTC RFC 3339", i, it.DatePublished, e.Published)
				}
				if want := e.updated().UTC().Format(time.RFC3339); it.DateModified != want {
					t.Errorf("item %d: date_modified %q, want %q", i, it.DateModified, want)
				}
				if it.Author != nil {
					t.Errorf("item %d: deprecated author %v", i, it.Author)
				}
				switch {
				case e.AuthorName == "" && e.AuthorEmail == "":
					if len(it.Authors) != 0 {
						t.Errorf("item %d: authors %+v for no author", i, it.Authors)
					}
				case len(it.Authors) != 1 || it.Authors[0].Name != e.AuthorName:
					t.Errorf("item %d: authors %+v, want one named %q", i, it.Authors, e.AuthorName)
				case e.AuthorEmail == "" && it.Authors[0].URL != "":
					t.Errorf("item %d: author url %q, but the e-mail is not to be shown", i, it.Authors[0].URL)
				case e.AuthorEmail != "" && it.Authors[0].URL != "mailto:"+e.AuthorEmail:
					t.Errorf("item %d: author url %q, want mailto:%s", i, it.Authors[0].URL, e.AuthorEmail)
				}
				wantTags := slices.DeleteFunc(slices.Clone(e.Categories), func(c string) bool { return c == "" })
				if !slices.Equal(it.Tags, wantTags) {
					t.Errorf("item %d: tags %q, want %q", i, it.Tags, wantTags)
				}
			}
		})
	}
}
