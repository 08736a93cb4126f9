package notify

import (
	"slices"
	"sync"
	"time"

	"projblog/internal/posts"
)

// The digest cache.
//
// A project's part of a digest — its posts, decisions and health in the
// window — is the same for every reader of the project: it is read as a
// guest of the project would read it (buildProjectDigest), so with no
// draft and nothing that depends on who asks. Building it costs most of a
// digest (the posts of the week are decoded from JSON), and one project
// has many followers: the weekly run builds the digests of its ~600
// followers, and the /digest page builds the reader's digest on every
// visit. So the part is built once and shared, keyed by project and
// window, and good until the event log's head moves: every write that
// could change it (a post, an edit, a comment, a decision, a change of
// project) appends an event. What is personal is set for each reader from
// the shared part: the reader's view of the project (their role), the
// authors and "yours" of the posts (fillAuthors, on a copy), and whether a
// status update is overdue at the window's end (it changes with time
// alone).
//
// A window that has not ended yet (the web page's "week so far", whose end
// is the moment of the request) would never hit under an exact key. Its
// part does not depend on where it ends as long as it ends after the
// newest post, decision and status update of the project (latest): such a
// part is stored under an open key and serves any end after latest, for
// as long as the head does not move.
//
// The cache is dropped whole when the head moves, and when it holds
// maxDigestCacheItems entries (then the next writes start it again). It is
// safe for concurrent use; entries are never changed once stored.
//
// Access is not the cache's business: its callers (BuildDigest and
// BuildGuestDigest) ask for a project only after deciding that the reader
// may read it.

// maxDigestCacheItems bounds the cache: a weekly run of 10,000 people
// over 200 projects needs 200 entries per window.
const maxDigestCacheItems = 4096

// openEnd is the end of the key of a part that serves any window end
// after its latest.
const openEnd = -1

type digestCacheKey struct {
	project    uint64
	start, end int64 // Unix nanoseconds; end is openEnd for an open part
}

// cachedProjectDigest is a project's shared part of a digest.
type cachedProjectDigest struct {
	pd     ProjectDigest
	latest time.Time // the newest post, decision or status update seen when it was built
}

type digestCache struct {
	mu    sync.Mutex
	head  uint64
	items map[digestCacheKey]*cachedProjectDigest
	built int // parts stored since the start (for tests)
}

func newDigestCache() *digestCache {
	return &digestCache{items: map[digestCacheKey]*cachedProjectDigest{}}
}

// get returns the part of project for w at head, nil when there is none.
func (c *digestCache) get(head, project uint64, w Window) *cachedProjectDigest {
	c.mu.Lock()
	defer c.mu.Unlock()
	if head != c.head {
		c.items, c.head = map[digestCacheKey]*cachedProjectDigest{}, head
		return nil
	}
	key := digestCacheKey{project, w.Start.UnixNano(), w.End.UnixNano()}
	if e := c.items[key]; e != nil {
		return e
	}
	key.end = openEnd
	if e := c.items[key]; e != nil && w.End.After(e.latest) {
		return e
	}
	return nil
}

// put stores the part built at head for project and w, under the open key
// when w ends after latest, and returns the entry.
func (c *digestCache) put(head, project uint64, w Window, pd *ProjectDigest, latest time.Time) *cachedProjectDigest {
	e := &cachedProjectDigest{pd: *pd, latest: latest}
	e.pd.Project = nil // each reader gets their own view
	c.mu.Lock()
	defer c.mu.Unlock()
	if head != c.head || len(c.items) >= maxDigestCacheItems {
		c.items, c.head = map[digestCacheKey]*cachedProjectDigest{}, head
	}
	key := digestCacheKey{project, w.Start.UnixNano(), w.End.UnixNano()}
	if w.End.After(latest) {
		key.end = openEnd
	}
	c.items[key] = e
	c.built++
	return e
}

// forReader is the part for one reader, whose view of the project is pv:
// a copy they may fill in.
func (e *cachedProjectDigest) forReader(pv *posts.ProjectView, w Window) *ProjectDigest {
	pd := e.pd
	pd.Project = pv
	pd.Overdue = pv.Overdue(w.End)
	pd.Posts = slices.Clone(e.pd.Posts)
	return &pd
}
