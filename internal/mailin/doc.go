// Package mailin is the e-mail bridge into projblog: messages that arrive
// by SMTP (serve --smtp-listen), from a site's mail server through
// `projblog mail deliver`, or from an archive (`projblog import mbox|eml|
// maildir`) become comments and posts.
//
// Floor 3: it reads and writes through posts and users, and owns the
// buckets named mailin.*.
package mailin
