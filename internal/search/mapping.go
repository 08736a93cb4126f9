package search

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/lang/fr"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"

	"projblog/internal/posts"
)

// mappingVersion names the shape of the index: its fields and analyzers.
// An index made with another version is dropped and rebuilt when opened,
// so change it with every change of mapping below or of what a document
// holds.
const mappingVersion = 1

// The analyzers. Both fold accents after lower-casing (so that "éte",
// "ete" and "Été" meet) and before the stop words and the stemmer, so a
// word typed without its accents is stemmed as the accented one.
const (
	analyzerEN = "projblog_en" // possessives, stop words, Snowball (Porter 2) stemmer
	analyzerFR = "projblog_fr" // elision (l', d', qu'...), stop words, light stemmer (Savoy)
	foldFilter = "projblog_fold"
)

// The document fields. Text fields are indexed twice, once per analyzer:
// "title" with analyzerEN and "title_fr" with analyzerFR, and so on.
const (
	fPost      = "post"       // post id, keyword: a comment's post, or the post itself
	fProject   = "project"    // project id, keyword
	fAuthor    = "author"     // author id, keyword
	fTags      = "tags"       // the post's tags, keyword (comments carry their post's)
	fTime      = "time"       // publication (post) or writing (comment) time
	fHealth    = "health"     // posts.Health of a status update, keyword
	fDecision  = "decision"   // marked as a decision, boolean
	fTitle     = "title"      // a post's title (comments have none)
	fText      = "text"       // the plain text of the body
	fTagText   = "tagtext"    // the tags as words, so that a search finds a post by its tag
	fPostTitle = "post_title" // stored only: the title to show for a comment
	fSlug      = "slug"       // stored only: the post's slug, for links
	suffixFR   = "_fr"
)

// textFields are the analysed fields a query searches, with their boost:
// a word in the title weighs more than one in the body.
var textFields = []struct {
	name  string
	boost float64
}{
	{fTitle, 3}, {fTitle + suffixFR, 3},
	{fTagText, 2}, {fTagText + suffixFR, 2},
	{fText, 1}, {fText + suffixFR, 1},
}

func init() {
	if err := registry.RegisterTokenFilter(foldFilter, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return foldTokens{}, nil
	}); err != nil {
		panic(err)
	}
}

// foldTokens is a token filter that folds each token to ASCII ("é" → "e",
// "œ" → "oe"). bleve's asciifolding is a character filter, which would
// shift the byte offsets of every token after an accent and so misplace
// the highlighting; as a token filter it keeps them.
type foldTokens struct{}

var folder = asciifolding.New()

func (foldTokens) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		for _, b := range t.Term {
			if b >= utf8.RuneSelf {
				t.Term = folder.Filter(t.Term)
				break
			}
		}
	}
	return in
}

// newMapping is the index mapping: one static document type whose fields
// are listed above; nothing else is indexed.
func newMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	m.ScoringModel = "bm25" // bleve_index_api's BM25Scoring, named here to keep that module out of go.mod's direct requirements
	analyzers := map[string][]string{
		analyzerEN: {en.PossessiveName, lowercase.Name, foldFilter, en.StopName, en.SnowballStemmerName},
		analyzerFR: {fr.ElisionName, lowercase.Name, foldFilter, fr.StopName, fr.LightStemmerName},
	}
	for name, filters := range analyzers {
		tf := make([]any, len(filters))
		for i, f := range filters {
			tf[i] = f
		}
		if err := m.AddCustomAnalyzer(name, map[string]any{
			"type":          custom.Name,
			"tokenizer":     unicode.Name,
			"token_filters": tf,
		}); err != nil {
			return nil, fmt.Errorf("search analyzer %s: %w", name, err)
		}
	}
	m.DefaultAnalyzer = analyzerEN
	m.IndexDynamic, m.StoreDynamic, m.DocValuesDynamic = false, false, false

	doc := bleve.NewDocumentStaticMapping()
	kw := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = store, false, false, false
		return f
	}
	storedOnly := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Index, f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = false, true, false, false, false
		return f
	}
	text := func(name, analyzer string, store bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Name, f.Analyzer = name, analyzer
		// Term vectors give the offsets of the matches, for the
		// snippets; only the English field stores the text itself,
		// which both fields' offsets point into.
		f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = store, true, false, false
		return f
	}
	doc.AddFieldMappingsAt(fPost, kw(true))
	doc.AddFieldMappingsAt(fProject, kw(true))
	doc.AddFieldMappingsAt(fAuthor, kw(true))
	doc.AddFieldMappingsAt(fTags, kw(false))
	doc.AddFieldMappingsAt(fHealth, kw(true))
	tm := bleve.NewDateTimeFieldMapping()
	tm.Store, tm.IncludeInAll, tm.DocValues = true, false, false
	doc.AddFieldMappingsAt(fTime, tm)
	dm := bleve.NewBooleanFieldMapping()
	dm.Store, dm.IncludeInAll, dm.DocValues = true, false, false
	doc.AddFieldMappingsAt(fDecision, dm)
	for _, name := range []string{fTitle, fText, fTagText} {
		doc.AddFieldMappingsAt(name, text(name, analyzerEN, name != fTagText), text(name+suffixFR, analyzerFR, false))
	}
	doc.AddFieldMappingsAt(fPostTitle, storedOnly())
	doc.AddFieldMappingsAt(fSlug, storedOnly())
	m.DefaultMapping = doc
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("search mapping: %w", err)
	}
	return m, nil
}

// Document IDs: "p" and the post id, "c" and the comment id.
func postDocID(id uint64) string    { return "p" + strconv.FormatUint(id, 10) }
func commentDocID(id uint64) string { return "c" + strconv.FormatUint(id, 10) }

func idString(id uint64) string { return strconv.FormatUint(id, 10) }

// postDoc is what the index holds of a published post.
func postDoc(p *posts.Post) map[string]any {
	d := map[string]any{
		fPost:     idString(p.ID),
		fProject:  idString(p.ProjectID),
		fAuthor:   idString(p.AuthorID),
		fTime:     published(p),
		fDecision: p.Decision,
		fTitle:    p.Title,
		fText:     plainText(p.HTML),
		fSlug:     p.Slug,
	}
	if len(p.Tags) > 0 {
		d[fTags] = p.Tags
		d[fTagText] = tagWords(p.Tags)
	}
	if p.Health != posts.HealthNone {
		d[fHealth] = string(p.Health)
	}
	return d
}

// commentDoc is what the index holds of a live comment on the published
// post p.
func commentDoc(p *posts.Post, c *posts.Comment) map[string]any {
	d := map[string]any{
		fPost:      idString(p.ID),
		fProject:   idString(p.ProjectID),
		fAuthor:    idString(c.AuthorID),
		fTime:      c.CreatedAt.UTC(),
		fDecision:  c.Decision,
		fText:      plainText(c.HTML),
		fPostTitle: p.Title,
		fSlug:      p.Slug,
	}
	if len(p.Tags) > 0 {
		d[fTags] = p.Tags
	}
	return d
}

// published is when a post counts as written: its first publication.
func published(p *posts.Post) time.Time {
	if p.PublishedAt.IsZero() {
		return p.CreatedAt.UTC()
	}
	return p.PublishedAt.UTC()
}

// tagWords turns tags into words: "data-base" reads "data base".
func tagWords(tags []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		b := []byte(t)
		for j := range b {
			if b[j] == '-' {
				b[j] = ' '
			}
		}
		out[i] = string(b)
	}
	return out
}
