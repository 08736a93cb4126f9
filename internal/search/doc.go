// Package search is projblog's full-text search over posts and comments,
// built on bleve (github.com/blevesearch/bleve/v2, a scorch index in its
// own directory, DATA/search for the server).
//
// # What is in the index
//
// One document per published, non-deleted post (title, the plain text of
// its body, tags, project, author, publication time, health, decision
// mark) and one per live comment on such a post (text, author, time,
// decision mark, and its post's id, project, tags and title for the
// filters and the result list). Drafts, posts in the trash, unpublished
// posts and deleted comments are never in it. The plain text is taken from
// the stored, sanitised HTML, without its markup.
//
// # Languages
//
// Every text field is indexed twice: with an English analyzer
// (possessives, stop words, Snowball stemmer) and a French one (elision of
// l', d', qu'..., stop words, light stemmer). Both lower-case and fold
// accents to ASCII before the stop words and the stemmer, so "été", "Ete"
// and "ete" meet, "décision" matches "decisions", "serveurs" "serveur" and
// "databases" "database". A query searches both, in every text field;
// a match in the title weighs three times one in the body, a tag twice.
// Ranking is BM25.
//
// # Query syntax
//
//	database migration     plain words: a post with any of them matches;
//	                       those with more of them, in the title, rank first
//	"read replica"         a phrase: must match, its words in this order
//	-mysql  -"last year"   must not match
//
// Curly and French quotes (“…”, « … ») work as straight ones; an unclosed
// quote runs to the end; a leading + is ignored. The text is
// 1 to MaxQueryRunes characters and must ask for something (not only
// exclusions). The filters of Query (project, tag, author, date range,
// health, decisions only) all must hold and do not change the ranking.
//
// # Who sees what
//
// Permissions are applied when searching, not when indexing: each search
// is limited to the projects the reader may read now (posts.Service
// Projects), so a change of visibility or membership takes effect at once
// and needs no reindexing. Admins search everything.
//
// # Feeding
//
// The index is a consumer of the store's event log. Its cursor (the
// sequence number of the last event it took in) lives inside the index
// itself, written in the same bleve batch as the documents, so the index
// and its cursor cannot disagree, whatever the crash. For each event that
// names a post, the indexer reads the post and its comments again and puts
// them in (or takes them out) as they are now; replaying an event is
// harmless. Project events need nothing. Run follows the log; CatchUp does
// one pass; Rebuild drops everything and reads the database again (the
// `projblog reindex` command). An index with no cursor — new, deleted, or
// left half-built — is rebuilt by the next CatchUp; one that cannot be
// opened is deleted and rebuilt (see Open). A change of Markdown renderer
// (posts.rerendered) does not reindex: the text rarely changes; run
// `projblog reindex` if it does.
package search
