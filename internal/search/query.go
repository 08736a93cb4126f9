package search

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
)

// Limits of a query.
const (
	MaxQueryRunes = 500 // the longest search text
	DefaultLimit  = 20  // hits per page when Limit is 0
	MaxLimit      = 100 // the most hits per page
	MaxOffset     = 1000
)

// Query is one search: the text (see the package doc for its syntax) and
// the filters, which all must hold.
type Query struct {
	Text string
	// Project is a project's slug: only its posts and comments. A project
	// the reader may not read is NotFound, like a missing one.
	Project string
	// Tag keeps the posts with this tag, and the comments under them.
	Tag string
	// AuthorID keeps what this user wrote (posts and comments); 0: anyone.
	AuthorID uint64
	// From and To bound the time a post was published or a comment
	// written: From <= t < To. Zero: unbounded.
	From, To time.Time
	// Health keeps the status updates reporting it (comments have none).
	Health posts.Health
	// DecisionsOnly keeps the posts and comments marked as decisions.
	DecisionsOnly bool
	// Limit is the number of hits to return: 0 means DefaultLimit, more
	// than MaxLimit means MaxLimit. Offset skips that many first hits
	// (0 to MaxOffset), for the next pages.
	Limit, Offset int
}

// ErrOnlyExclusions is Search's answer to a text that only says what to
// leave out ("-mysql"): Invalid, Field "q". Compare with errors.Is.
var ErrOnlyExclusions = apperr.FieldErr("q", "Say what to search for, not only what to leave out (-word).")

// Kind says whether a hit is a post or a comment.
type Kind string

// The kinds of hits.
const (
	KindPost    Kind = "post"
	KindComment Kind = "comment"
)

// Hit is one post or comment that matches, as the index holds it.
type Hit struct {
	Kind      Kind
	PostID    uint64
	CommentID uint64 // 0 for a post
	ProjectID uint64
	PostSlug  string
	// Title is the post's title (a comment's post's), TitleHTML the same
	// HTML-escaped with the matching words in <mark> (none for a comment).
	Title     string
	TitleHTML string
	AuthorID  uint64
	Time      time.Time // published (post) or written (comment)
	Health    posts.Health
	Decision  bool
	Score     float64
	// Snippet is HTML: a piece of the text around the matching words,
	// HTML-escaped, the matches in <mark>; no other markup.
	Snippet string
}

// Results are one page of hits, best first, and how many there are in all.
type Results struct {
	Total  int
	Hits   []Hit
	Limit  int
	Offset int
}

// Search runs q for the actor and returns a page of the posts and comments
// that match, best first. Only published posts and live comments are in
// the index, and only those of projects the actor may read are searched: a
// private project's words never match for anyone outside it.
//
// Errors: Invalid (with Field "q", "tag", "health", "from", "to" or "offset") for
// a query it cannot run, such as an empty one or one longer than
// MaxQueryRunes; NotFound for a project filter naming a project that is
// missing or that the actor may not read; Unavailable once the index is
// closed.
//
// A search first takes in the events the index lags behind, when they are
// few (up to syncLag) and no one else is writing, so a reader finds what
// was just written; a larger lag is Run's to close.
func (ix *Index) Search(actor access.Actor, q Query) (*Results, error) {
	pq, err := q.check()
	if err != nil {
		return nil, err
	}
	sc, err := ix.scopeOf(actor, q.Project)
	if err != nil {
		return nil, err
	}
	res := &Results{Limit: q.Limit, Offset: q.Offset, Hits: []Hit{}}
	if len(sc.readable) == 0 {
		return res, nil // nothing this reader may read
	}

	if lag := ix.Lag(); lag > 0 && lag <= syncLag && !ix.fresh.Load() && ix.writeMu.TryLock() {
		// TryLock: a search never waits behind a rebuild or another
		// round; Run closes the gap soon enough.
		_, err := ix.catchUp(context.Background())
		ix.writeMu.Unlock()
		if err != nil {
			ix.log.Error("search indexing before a search", "err", err)
		}
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.idx == nil {
		return nil, errClosed()
	}
	// Two passes: the ranking, over every match, without the offsets of
	// the matching words (reading them for every candidate doubles the
	// cost); then the stored fields and offsets of this page's hits only.
	req := bleve.NewSearchRequestOptions(q.build(pq, sc), q.Limit, q.Offset, false)
	req.SortBy([]string{"-_score", "_id"}) // equal scores in a stable order, so pages do not overlap
	sr, err := ix.idx.Search(req)
	if err != nil {
		return nil, apperr.Wrap(err, "search index")
	}
	res.Total = int(sr.Total)
	if len(sr.Hits) == 0 {
		return res, nil
	}
	ids := make([]string, len(sr.Hits))
	for i, dm := range sr.Hits {
		ids[i] = dm.ID
	}
	detail := bleve.NewSearchRequestOptions(query.NewConjunctionQuery([]query.Query{query.NewDocIDQuery(ids), textQuery(pq)}), len(ids), 0, false)
	detail.Fields = []string{fPost, fProject, fAuthor, fTime, fHealth, fDecision, fTitle, fText, fPostTitle, fSlug}
	detail.IncludeLocations = true
	dr, err := ix.idx.Search(detail)
	if err != nil {
		return nil, apperr.Wrap(err, "search index: hits")
	}
	byID := make(map[string]*search.DocumentMatch, len(dr.Hits))
	for _, dm := range dr.Hits {
		byID[dm.ID] = dm
	}
	for _, dm := range sr.Hits {
		d := byID[dm.ID]
		if d == nil {
			continue // gone between the two passes
		}
		h := hitOf(d)
		if !sc.readable[h.ProjectID] {
			// A project created after sc was made (see scope): never
			// shown, though it may count in Total for that instant.
			continue
		}
		h.Score = dm.Score
		res.Hits = append(res.Hits, h)
	}
	return res, nil
}

// scope is the projects a search covers.
type scope struct {
	readable map[uint64]bool // what the reader may read (and the filter leaves in)
	// include, when not nil, is the projects to search: the filter; else
	// exclude is the projects to leave out. Excluding is much cheaper when
	// the reader may read most projects (as most readers may), since it
	// never lists every document of the readable ones. It would let
	// through a project created after the list was made: the hits are
	// checked against readable, so its documents are never shown.
	include, exclude []uint64
}

// scopeOf is the scope of a search by actor, in one project (its slug)
// or in all it may read. A project it may not read is NotFound.
func (ix *Index) scopeOf(actor access.Actor, project string) (scope, error) {
	readable, err := ix.posts.Projects(actor)
	if err != nil {
		return scope{}, err
	}
	sc := scope{readable: make(map[uint64]bool, len(readable))}
	if project != "" {
		for _, pv := range readable {
			if pv.Slug == project {
				sc.readable[pv.ID], sc.include = true, []uint64{pv.ID}
				return sc, nil
			}
		}
		return scope{}, apperr.New(apperr.NotFound, "No such project.")
	}
	for _, pv := range readable {
		sc.readable[pv.ID] = true
		sc.include = append(sc.include, pv.ID)
	}
	all, err := ix.posts.Projects(everyone)
	if err != nil {
		return scope{}, err
	}
	var exclude []uint64
	for _, pv := range all {
		if !sc.readable[pv.ID] {
			exclude = append(exclude, pv.ID)
		}
	}
	if len(exclude) < len(sc.include) {
		sc.include, sc.exclude = nil, exclude
	}
	return sc, nil
}

// parsed is the text of a query taken apart.
type parsed struct {
	words      []string // plain words: any may match, ranking decides
	phrases    []string // "quoted phrases": each must match, words in order
	notWords   []string // -word: must not match
	notPhrases []string // -"phrase"
}

// parseText splits a query's text: "quoted phrases", -excluded words or
// -"phrases", and plain words. An unclosed quote runs to the end. Curly
// and French quotes (“…”, «…») count as straight ones.
func parseText(s string) parsed {
	var p parsed
	s = quotes.Replace(s)
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeftFunc(s, unicode.IsSpace) {
		neg := false
		if len(s) > 1 && s[0] == '-' && !unicode.IsSpace(rune(s[1])) {
			neg, s = true, s[1:]
		} else if s[0] == '+' {
			s = s[1:]
		}
		if strings.HasPrefix(s, `"`) {
			s = s[1:]
			end := strings.IndexByte(s, '"')
			if end < 0 {
				end = len(s)
			}
			if ph := strings.Join(strings.Fields(s[:end]), " "); ph != "" {
				if neg {
					p.notPhrases = append(p.notPhrases, ph)
				} else {
					p.phrases = append(p.phrases, ph)
				}
			}
			s = s[min(end+1, len(s)):]
			continue
		}
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			end = len(s)
		}
		if w := s[:end]; w != "" {
			if neg {
				p.notWords = append(p.notWords, w)
			} else {
				p.words = append(p.words, w)
			}
		}
		s = s[end:]
	}
	return p
}

var quotes = strings.NewReplacer("“", `"`, "”", `"`, "«\u00a0", `"`, "\u00a0»", `"`, "«", `"`, "»", `"`)

// check validates q, fills in its defaults and parses its text.
func (q *Query) check() (parsed, error) {
	q.Text = strings.TrimSpace(q.Text)
	switch {
	case !utf8.ValidString(q.Text):
		return parsed{}, apperr.FieldErr("q", "The search text is not valid UTF-8.")
	case q.Text == "":
		return parsed{}, apperr.FieldErr("q", "Type what to search for.")
	case utf8.RuneCountInString(q.Text) > MaxQueryRunes:
		return parsed{}, apperr.FieldErr("q", "A search can be at most %d characters long.", MaxQueryRunes)
	}
	pq := parseText(q.Text)
	if len(pq.words) == 0 && len(pq.phrases) == 0 {
		return parsed{}, ErrOnlyExclusions
	}
	if q.Tag != "" {
		tag, err := posts.NormalizeTag(q.Tag)
		if err != nil {
			return parsed{}, apperr.FieldErr("tag", "%s", apperr.MessageOf(err))
		}
		q.Tag = tag
	}
	if !q.Health.Valid() {
		return parsed{}, apperr.FieldErr("health", "Health must be on_track, at_risk or off_track.")
	}
	for field, t := range map[string]time.Time{"from": q.From, "to": q.To} {
		if !t.IsZero() && (t.Year() < 1900 || t.Year() > 2200) {
			return parsed{}, apperr.FieldErr(field, "Give a date between the years 1900 and 2200.")
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return parsed{}, apperr.FieldErr("to", "The end date must come after the start date.")
	}
	if q.Offset < 0 || q.Offset > MaxOffset {
		return parsed{}, apperr.FieldErr("offset", "Only the first %d results can be paged through; narrow the search instead.", MaxOffset)
	}
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultLimit
	case q.Limit > MaxLimit:
		q.Limit = MaxLimit
	}
	return pq, nil
}

// build makes the bleve query: the text must match (any plain word, every
// phrase), the excluded words must not, and the filters hold without
// counting towards the score.
func (q *Query) build(pq parsed, sc scope) query.Query {
	bq := query.NewBooleanQuery(nil, nil, nil)
	bq.AddMust(textQuery(pq))
	for _, w := range pq.notWords {
		bq.AddMustNot(anyField(w, false))
	}
	for _, ph := range pq.notPhrases {
		bq.AddMustNot(anyField(ph, true))
	}
	for _, id := range sc.exclude {
		bq.AddMustNot(term(fProject, idString(id)))
	}

	var filters []query.Query
	if sc.include != nil {
		ors := make([]query.Query, len(sc.include))
		for i, id := range sc.include {
			ors[i] = term(fProject, idString(id))
		}
		filters = append(filters, query.NewDisjunctionQuery(ors))
	}
	if q.Tag != "" {
		filters = append(filters, term(fTags, q.Tag))
	}
	if q.AuthorID != 0 {
		filters = append(filters, term(fAuthor, idString(q.AuthorID)))
	}
	if q.Health != posts.HealthNone {
		filters = append(filters, term(fHealth, string(q.Health)))
	}
	if q.DecisionsOnly {
		bf := query.NewBoolFieldQuery(true)
		bf.SetField(fDecision)
		filters = append(filters, bf)
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		yes, no := true, false
		dr := query.NewDateRangeInclusiveQuery(q.From.UTC(), q.To.UTC(), &yes, &no)
		dr.SetField(fTime)
		filters = append(filters, dr)
	}
	if len(filters) > 0 {
		bq.AddFilter(query.NewConjunctionQuery(filters))
	}
	return bq
}

// textQuery is what the text asks for: any of the plain words, and every
// phrase.
func textQuery(pq parsed) query.Query {
	var must []query.Query
	if len(pq.words) > 0 {
		must = append(must, anyField(strings.Join(pq.words, " "), false))
	}
	for _, ph := range pq.phrases {
		must = append(must, anyField(ph, true))
	}
	return query.NewConjunctionQuery(must)
}

// anyField matches text in any of the text fields, in either language: as
// words of which any may match, or as a phrase.
func anyField(text string, phrase bool) query.Query {
	ors := make([]query.Query, len(textFields))
	for i, f := range textFields {
		if phrase {
			mq := query.NewMatchPhraseQuery(text)
			mq.SetField(f.name)
			mq.SetBoost(f.boost)
			ors[i] = mq
			continue
		}
		mq := query.NewMatchQuery(text)
		mq.SetField(f.name)
		mq.SetBoost(f.boost)
		mq.SetOperator(query.MatchQueryOperatorOr)
		ors[i] = mq
	}
	return query.NewDisjunctionQuery(ors)
}

func term(field, value string) query.Query {
	t := query.NewTermQuery(value)
	t.SetField(field)
	return t
}

// hitOf turns a bleve match into a Hit, with its snippet.
func hitOf(dm *search.DocumentMatch) Hit {
	str := func(f string) string { s, _ := dm.Fields[f].(string); return s }
	num := func(f string) uint64 { n, _ := strconv.ParseUint(str(f), 10, 64); return n }
	h := Hit{
		Kind: KindPost, PostID: num(fPost), ProjectID: num(fProject), AuthorID: num(fAuthor),
		PostSlug: str(fSlug), Health: posts.Health(str(fHealth)), Score: dm.Score,
	}
	h.Decision, _ = dm.Fields[fDecision].(bool)
	if t, err := time.Parse(time.RFC3339Nano, str(fTime)); err == nil {
		h.Time = t.UTC()
	}
	if id, ok := strings.CutPrefix(dm.ID, "c"); ok {
		h.Kind = KindComment
		h.CommentID, _ = strconv.ParseUint(id, 10, 64)
		h.Title = str(fPostTitle)
		h.TitleHTML = highlight(h.Title, nil)
	} else {
		h.Title = str(fTitle)
		h.TitleHTML = highlight(h.Title, spansIn(dm, fTitle))
	}
	h.Snippet = snippet(str(fText), spansIn(dm, fText), SnippetRunes)
	return h
}

// spansIn gathers the byte ranges of the matches in a text field, from both
// its English and its French index.
func spansIn(dm *search.DocumentMatch, field string) []span {
	var out []span
	for _, f := range []string{field, field + suffixFR} {
		for _, locs := range dm.Locations[f] {
			for _, l := range locs {
				out = append(out, span{int(l.Start), int(l.End)})
			}
		}
	}
	return out
}
