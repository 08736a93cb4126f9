// Package posts is projblog's domain: projects, memberships, posts, their
// revisions, slugs, tags and the listing indexes. It knows nothing of HTTP,
// e-mail or feeds; it returns *apperr.Error values and decides access only
// through package access (the actor's role comes from this package's
// members; Admin from the actor).
//
// # Access
//
// A project the actor may not read is NotFound, exactly like a missing one.
// Published posts are seen by every reader of their project. Drafts and
// deleted posts are seen only by those who may edit them: their author with
// access.EditOwn, or anyone with access.EditOthers; to everyone else they
// are NotFound. Editing or deleting one's own post needs EditOwn, someone
// else's EditOthers; pinning and restoring from the trash need EditOthers
// (the author alone may not restore). Writes into an archived project fail
// in access.Check (Forbidden); its drafts and trash stay visible to those
// who could edit them were it not archived. Any signed-in user may create a
// project (access has no action for it).
//
// # Rules and limits
//
// Each violation is an apperr.Invalid error whose Field names the form
// field ("title", "body", "excerpt", "tags", "slug", "name", "description",
// "visibility"); a body over the limit is apperr.TooLarge with Field
// "body". Invalid UTF-8 in any field is refused, naming the field.
//
//   - Project slug: MinProjectSlugLen–MaxProjectSlugLen (2–40) characters
//     of [a-z0-9-], not starting or ending with '-', not one of
//     ReservedSlugs, unique (a taken slug is apperr.Conflict with Field
//     "slug"). Derived from the name when left empty; never changes after
//     creation, so links do not break.
//   - Project name: 1–100 runes, one line. Description: at most 2000 runes.
//     Visibility: public, internal or private (empty: internal on create,
//     unchanged on update).
//   - Post title: 1–200 runes, one line, no control characters.
//   - Post body: at most MaxBodyBytes (1 MiB) of Markdown; control
//     characters other than \n, \t and \r are refused. It is rendered once,
//     on write, with markdown.Render; the HTML and the summary are stored,
//     and reads never parse Markdown.
//   - Excerpt: at most 500 runes. A post's Summary is the excerpt, else
//     markdown.Excerpt(body, SummaryRunes).
//   - Tags: at most MaxTags (10) per post after normalising (NormalizeTag:
//     lower-case letters, accented and non-Latin ones included, digits and
//     '-', 1–40 runes), de-duplicated and sorted. Blank entries are skipped.
//   - Post slug: at most 80 characters of [a-z0-9-], not starting or
//     ending with '-', not one of ReservedPostSlugs, unique within the
//     project. A slug left empty is derived from the title (Slugify), with
//     -2, -3, ... when taken; an explicit slug that is taken is Conflict. A
//     changed slug keeps the old one pointing at the post (ResolvePost
//     answers canonical=false, for a redirect), and no new post may take a
//     slug still held as an old one. Deleted posts keep their slugs.
//     "files" and "attachments" are reserved for attachments' addresses.
//   - Attachments (attachments.go): at most MaxAttachmentBytes (10 MiB) a
//     file (apperr.TooLarge, Field "file"), MaxAttachmentsPerPost (50) per
//     post, MaxPendingAttachments (50) uploaded by one person into no post
//     yet (kept PendingAttachmentTTL, 7 days); the content type is sniffed
//     (http.DetectContentType), never taken from the client, and must be on
//     an allow-list: PNG, JPEG, GIF and WebP images are shown inline; PDF,
//     plain text, zip (Office documents too), gzip, rar, audio, video and
//     unrecognised binary data are downloads; HTML, XML, SVG, PostScript,
//     WebAssembly and fonts are refused (apperr.Invalid naming the kind).
//     File names are sanitised to a base name of at most 120 runes. A file
//     has exactly its post's access; a file in no post yet, its uploader's.
//
// # Revisions and publication
//
// Every post starts at revision 1; an update that changes the title, body,
// excerpt or tags adds the next revision (a slug, pin or draft change
// alone does not). PublishedAt is set the first time a post is published
// and never moves, so an unpublished and re-published post returns to its
// place. Project.LastActivity is the newest publication or edit of a
// published post (CreatedAt before any).
//
// # Listings
//
// Published posts are listed per project (pinned ones apart), across
// projects (Recent), per tag, per author and per month, newest first, from
// big-endian time indexes kept in the same transaction as the post. Lists
// page with an opaque cursor (base64url of the last index key), never an
// offset, and cost O(page size). Cross-project lists (Recent, TagPosts with
// no project, AuthorPosts) skip entries of projects the actor may not
// read, so they cost O(page size + skipped entries). Month and tag counts
// come from counter buckets. A soft-deleted post leaves every listing and
// counter and joins its project's trash; a restore puts it back. Drafts and
// trash lists are unpaged.
//
// # Events
//
// Every write others must react to appends one event to the store's log in
// its own transaction. ProjectID is always set, PostID for post events,
// ActorID is the actor.
//
//	project.created      {"slug","visibility","owner_id"} (followed by member.set for the owner)
//	project.updated      {"slug","visibility","old_visibility"}
//	project.archived     {"slug"}
//	project.unarchived   {"slug"}
//	member.set           {"user_id","role","previous_role"}
//	member.removed       {"user_id","role"}
//	post.created         a draft was created: {"revision","slug","draft":true}
//	post.published       {"revision","slug","first"} (first is true on the first publication)
//	post.edited          {"revision","slug","old_slug"?,"draft"?} (content or slug changed)
//	post.unpublished     {"revision","slug","draft":true}
//	post.deleted         {"revision","slug","draft"?}
//	post.restored        {"revision","slug","draft"?}
//	post.pinned          {"revision","slug","draft"?}
//	post.unpinned        {"revision","slug","draft"?}
//
// Writes that change nothing append nothing.
//
// The discussion's events are listed, with their rules and storage, in the
// files that append them: comments.go (comment.*), mentions.go (mention),
// reactions.go (reaction.*), decisions.go (decision.*), status.go and
// acks.go; attachments.go lists attachment.added and attachment.deleted.
//
// # Storage
//
// The buckets are named "posts.*" and listed, with their key layout, in
// buckets.go; New creates them. Records (projects, members, posts,
// revisions) are JSON; index keys are store.Key and store.TimeKey. Every
// revision keeps its full text, so a post's history costs its size per
// revision; nothing prunes it yet.
//
// # Concurrency
//
// A Service is safe for concurrent use; every public method runs in one
// bbolt transaction, and Markdown is rendered before the write transaction
// opens.
package posts
