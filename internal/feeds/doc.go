// Package feeds writes projblog's feeds: Atom 1.0 (RFC 4287), RSS 2.0 and
// JSON Feed 1.1, plus OPML 2.0 subscription lists.
//
// It knows nothing of posts, projects, users or HTTP, and imports no other
// projblog package: the web layer gathers what a reader may see, fills a
// neutral Feed (IDs from EntryID and FeedID, sanitised HTML, names and, where
// the user allows it, e-mail addresses) and calls Render with a Format
// parsed from the URL (ParseFormat) and sent with Format.ContentType. Render
// is deterministic: the feed-level updated time is Feed.Updated, the newest
// entry's, never the clock, so the same posts give the same bytes and the
// web layer can cache a feed and answer conditional requests.
//
// # Built on gorilla/feeds, with its gaps filled
//
// github.com/gorilla/feeds (v1.2.0) is the project's fixed choice and the
// base of all three formats: Render fills a gorilla Feed and asks gorilla
// for its AtomFeed, RssFeed and JSONFeed structs. Each of those falls short
// of its specification, or of what readers rely on, and small structs here
// embed gorilla's and add or replace fields. encoding/xml and encoding/json
// both let a field of the outer struct shadow an embedded field with the same
// element or key name, so a wrapper replaces exactly the fields it must and
// gorilla keeps writing all others. Each wrapper also declares its own
// FeedXml, as the promoted one would return the bare gorilla struct.
//
// Atom (atom.go):
//   - gorilla writes a category as a string element, <category>x</category>;
//     RFC 4287 §4.2.2 wants <category term="x"/>, one per category, which
//     jing rejects otherwise. atomEntry replaces it with a list.
//   - gorilla has one feed Link; Atom readers need rel="alternate" (the HTML
//     page) and rel="self" (this document, which is how a reader keeps a
//     token feed's URL). atomFeed replaces it with a list.
//   - gorilla takes the feed id from the link, which would change with the
//     URL (and carry a token); an entry without an id gets a random urn:uuid,
//     a new one on every request. We set the feed id from Feed.ID and refuse
//     entries without an ID.
//   - gorilla writes no <published>, no <generator>, no xml:lang; it types the
//     summary as HTML (ours is plain text, so type="text"); it leaves out
//     <author> when an entry has none, whereas RFC 4287 §4.1.1 requires one
//     on every entry of a feed without a feed-level author (the feed's title
//     stands in). An empty feed still needs <updated>: it gets the Unix
//     epoch, not the clock.
//
// RSS (rss.go):
//   - gorilla writes a single <category>; RSS 2.0 allows one per tag.
//     rssItem replaces it with a list.
//   - gorilla puts the author's bare name in <author>, which RSS 2.0 defines
//     as an e-mail address. <author> now holds "email (Name)" when the user
//     shows the e-mail and is left out otherwise, and the name goes into
//     <dc:creator>; rssDoc declares xmlns:dc.
//   - gorilla cannot write <atom:link rel="self">, which the RSS Best
//     Practices Profile and feed validators ask for; rssChannel adds it and
//     rssDoc declares xmlns:atom. The same namespace carries <atom:updated>
//     on each item, since RSS has no element for the time of an edit.
//   - gorilla never fills the channel's language (it has the field) nor its
//     generator. We write lastBuildDate from Feed.Updated and no channel
//     pubDate, and mark each guid isPermaLink="false": a tag: id is no URL.
//
// JSON Feed (json.go): gorilla v1.2.0 already writes the 1.1 version URL and
// an authors array, and we pin the version all the same. But gorilla's
// "items" has omitempty, so an empty feed lacks the required key (jsonFeed
// replaces it); an item with empty content lacks the required content_html
// (jsonItem replaces it); and gorilla fills neither feed_url, language nor
// tags, writes the deprecated 1.0 "author" next to "authors", and has no
// place for an e-mail, which JSON Feed carries as a mailto: author URL.
//
// Times are UTC, to the second, in every format: RFC 3339 for Atom and JSON
// Feed, RFC 1123 with a numeric zone for RSS.
//
// # Absolute URLs in content
//
// Post HTML links to "/p/project/slug", shows "/static/..." images and
// points to "#fn:1" footnotes. In a feed reader those resolve against the
// reader, not the blog, so Render rewrites the href, src, srcset, poster and
// cite attributes of each entry's HTML against the entry's permalink, with
// golang.org/x/net/html's tokenizer; text and tags without URLs are copied
// byte for byte.
//
// # Tests
//
// The tests read every format back with github.com/mmcdole/gofeed, compare
// with golden files (go test ./internal/feeds -update rewrites them), and
// validate Atom against RFC 4287's RELAX NG schema with jing and JSON Feed
// against the jsonfeed-schema npm package with ajv-cli. A missing validator
// skips its test, or fails it when PROJBLOG_REQUIRE_VALIDATORS=1.
package feeds
