package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	bolterrors "go.etcd.io/bbolt/errors" // only to tell "in use" from "broken"; the index's files are bleve's

	"projblog/internal/access"
	"projblog/internal/apperr"
	"projblog/internal/posts"
	"projblog/internal/store"
)

// Keys kept inside the index with SetInternal.
var (
	keyCursor  = []byte("projblog.cursor")  // store.Key of the last event handled
	keyVersion = []byte("projblog.version") // mappingVersion, decimal
)

const (
	// eventBatch is how many events one catch-up round reads and commits,
	// with the cursor, in one bleve batch.
	eventBatch = 1024
	// rebuildBatch is how many posts a rebuild puts in one bleve batch.
	rebuildBatch = 500
	// syncLag is the largest lag Search closes itself before searching
	// (see Search); a larger one is left to Run.
	syncLag = 64
	// gather is how long Run lets events come after the first one wakes
	// it, so that a burst of writes is taken in a few large bleve batches
	// rather than many small ones (each a segment to merge later). A
	// search right after a write still finds it: Search catches up
	// itself when it is up to syncLag events behind.
	gather = 300 * time.Millisecond
	// openTimeout bounds the wait for the index's lock file.
	openTimeout = "2s"
)

// everyone reads every project, draft and trash: the indexer decides for
// itself what is published, and Search decides who may read it.
var everyone = access.Actor{UserID: ^uint64(0), Admin: true}

// Options configure an Index.
type Options struct {
	// Logger receives what Run and Open have to report (a rebuild, a
	// failed round); slog.Default() if nil.
	Logger *slog.Logger
}

// Index is the full-text index of posts and comments and its feeder. Build
// it with Open. It is safe for concurrent use: searches run while it is fed.
type Index struct {
	dir   string
	db    *store.DB
	posts *posts.Service
	log   *slog.Logger

	writeMu sync.Mutex   // one writer at a time: CatchUp, Rebuild, Close
	mu      sync.RWMutex // guards idx against being swapped or closed under a search
	idx     bleve.Index  // nil once closed

	cursor atomic.Uint64 // mirrors keyCursor
	fresh  atomic.Bool   // no cursor: the index must be built from the database
}

// Open opens the index in dir, or creates it (and dir) when there is none.
// A new index, and one that was left half-built, has no cursor: the first
// CatchUp (or Run) builds it from the database. An index that cannot be
// read (corrupt files, or made by a version of projblog with another
// mapping) is derived data: Open logs it, deletes it and starts a new one.
// It refuses a dir that holds other files, and an index another process
// has open.
func Open(dir string, db *store.DB, p *posts.Service, opts Options) (*Index, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ix := &Index{dir: dir, db: db, posts: p, log: opts.Logger}
	idx, err := openOrCreate(dir, ix.log)
	if err != nil {
		return nil, err
	}
	ix.idx = idx
	v, err := idx.GetInternal(keyCursor)
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("search index %s: read cursor: %w", dir, err)
	}
	if len(v) == 8 {
		ix.cursor.Store(store.U64(v))
	} else {
		ix.fresh.Store(true)
	}
	return ix, nil
}

// openOrCreate opens the index in dir, replacing an unreadable or outdated
// one with a new, empty one.
func openOrCreate(dir string, log *slog.Logger) (bleve.Index, error) {
	meta := filepath.Join(dir, "index_meta.json")
	if _, err := os.Stat(meta); err == nil {
		idx, err := bleve.OpenUsing(dir, map[string]any{"bolt_timeout": openTimeout})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, apperr.New(apperr.Unavailable, "The search index %s is in use by another process.", dir)
		}
		if err == nil {
			v, verr := idx.GetInternal(keyVersion)
			if verr == nil && string(v) == strconv.Itoa(mappingVersion) {
				return idx, nil
			}
			idx.Close()
			log.Info("search index made by another version; rebuilding it", "dir", dir, "version", string(v), "want", mappingVersion)
		} else {
			log.Warn("search index cannot be read; rebuilding it", "dir", dir, "err", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove broken search index %s: %w", dir, err)
		}
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s holds files but no search index; remove it or choose another directory", dir)
	}
	return create(dir)
}

// create makes a new, empty index in dir (which must not hold one).
func create(dir string) (bleve.Index, error) {
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return nil, fmt.Errorf("create search index %s: %w", dir, err)
	}
	_ = os.Remove(dir) // an empty directory; bleve wants to make it
	idx, err := bleve.NewUsing(dir, m, scorch.Name, scorch.Name, map[string]any{"bolt_timeout": openTimeout})
	if err != nil {
		return nil, fmt.Errorf("create search index %s: %w", dir, err)
	}
	if err := idx.SetInternal(keyVersion, []byte(strconv.Itoa(mappingVersion))); err != nil {
		idx.Close()
		return nil, fmt.Errorf("create search index %s: %w", dir, err)
	}
	return idx, nil
}

// Close closes the index, after the catch-up round or rebuild under way
// (cancel its context first to cut a rebuild short). Searches after Close
// fail.
func (ix *Index) Close() error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.idx == nil {
		return nil
	}
	err := ix.idx.Close()
	ix.idx = nil
	return err
}

// Position returns the sequence number of the last event the index has
// taken in (0 before the first build).
func (ix *Index) Position() uint64 { return ix.cursor.Load() }

// Lag returns how many events of the log the index has not taken in yet.
func (ix *Index) Lag() uint64 {
	head, pos := ix.db.Head(), ix.cursor.Load()
	if head < pos {
		return 0
	}
	return head - pos
}

// CatchUp brings the index up to the head of the event log and returns how
// many events it handled. A new or half-built index is first built from
// the database (Rebuild). Each round of events is committed to the index
// in one batch together with the cursor, so that the index and its
// position never disagree: after a crash the next CatchUp resumes at the
// first event not yet in the index. Handling an event again is harmless:
// each event with a post re-reads that post and its comments, and puts
// them into the index as they are now (or takes them out).
func (ix *Index) CatchUp(ctx context.Context) (int, error) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	return ix.catchUp(ctx)
}

func (ix *Index) catchUp(ctx context.Context) (int, error) {
	if ix.idx == nil {
		return 0, errClosed()
	}
	if ix.fresh.Load() {
		ix.log.Info("building the search index from the database", "dir", ix.dir)
		if err := ix.rebuild(ctx, nil); err != nil {
			return 0, err
		}
	}
	handled := 0
	for {
		if err := ctx.Err(); err != nil {
			return handled, err
		}
		evs, err := ix.db.Events(ix.cursor.Load(), eventBatch)
		if err != nil {
			return handled, err
		}
		if len(evs) == 0 {
			return handled, nil
		}
		b := ix.idx.NewBatch()
		seen := map[uint64]bool{}
		for _, ev := range evs {
			if ev.PostID == 0 || seen[ev.PostID] {
				// Project events need nothing: who may read a project is
				// decided when searching.
				continue
			}
			seen[ev.PostID] = true
			if err := ix.refreshPost(b, ev.PostID); err != nil {
				return handled, fmt.Errorf("index post %d (event %d %s): %w", ev.PostID, ev.Seq, ev.Type, err)
			}
		}
		last := evs[len(evs)-1].Seq
		b.SetInternal(keyCursor, store.Key(last))
		if err := ix.idx.Batch(b); err != nil {
			return handled, fmt.Errorf("write search index: %w", err)
		}
		ix.cursor.Store(last)
		handled += len(evs)
	}
}

// refreshPost adds to b what makes the index hold post id as it is now:
// the post and its live comments when it is published, nothing otherwise.
func (ix *Index) refreshPost(b *bleve.Batch, id uint64) error {
	stale, err := ix.docsOfPost(id)
	if err != nil {
		return err
	}
	p, _, err := ix.posts.Post(everyone, id)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	if err == nil && !p.Draft && p.DeletedAt.IsZero() {
		// Deleted comments are not added, so their documents stay in
		// stale and go.
		added, err := ix.addPost(b, p)
		if err != nil {
			return err
		}
		for _, docID := range added {
			delete(stale, docID)
		}
	}
	for docID := range stale {
		b.Delete(docID)
	}
	return nil
}

// addPost adds a published post and its live comments to b, and returns
// their document IDs.
func (ix *Index) addPost(b *bleve.Batch, p *posts.Post) ([]string, error) {
	added := []string{postDocID(p.ID)}
	if err := b.Index(added[0], postDoc(p)); err != nil {
		return nil, fmt.Errorf("index post %d: %w", p.ID, err)
	}
	cs, err := ix.posts.Comments(everyone, p.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Deleted() { // a placeholder kept for its replies
			continue
		}
		id := commentDocID(c.ID)
		if err := b.Index(id, commentDoc(p, c)); err != nil {
			return nil, fmt.Errorf("index comment %d: %w", c.ID, err)
		}
		added = append(added, id)
	}
	return added, nil
}

// docsOfPost returns the IDs of the documents the index holds for a post:
// the post's and its comments'.
func (ix *Index) docsOfPost(id uint64) (map[string]bool, error) {
	out := map[string]bool{}
	q := query.NewTermQuery(idString(id))
	q.SetField(fPost)
	const page = 1000
	for from := 0; ; from += page {
		req := bleve.NewSearchRequestOptions(q, page, from, false)
		req.Score = bleve.ScoreNone
		res, err := ix.idx.Search(req)
		if err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		for _, h := range res.Hits {
			out[h.ID] = true
		}
		if len(res.Hits) < page {
			return out, nil
		}
	}
}

// Rebuild drops the index and builds it again from the database: every
// published post of every project, with its live comments. progress, if
// not nil, is called after each batch with the posts indexed and the total.
// The cursor is set to the head of the event log as it was when the
// rebuild started, and only with the last batch: a rebuild cut short (ctx
// cancelled, a crash) leaves an index without a cursor, which the next
// CatchUp builds again. Searches meanwhile see the part already built.
func (ix *Index) Rebuild(ctx context.Context, progress func(done, total int)) error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.idx == nil {
		return errClosed()
	}
	return ix.rebuild(ctx, progress)
}

func (ix *Index) rebuild(ctx context.Context, progress func(done, total int)) error {
	start := time.Now()
	// Events after head are handled again by the next CatchUp, which is
	// harmless; events up to head are all in the database read below.
	head := ix.db.Head()
	ix.fresh.Store(true)
	ix.mu.Lock()
	err := ix.idx.Close()
	if err == nil {
		err = os.RemoveAll(ix.dir)
	}
	var idx bleve.Index
	if err == nil {
		idx, err = create(ix.dir)
	}
	ix.idx = idx
	ix.mu.Unlock()
	if err != nil {
		return fmt.Errorf("rebuild search index: %w", err)
	}

	projects, err := ix.posts.Projects(everyone)
	if err != nil {
		return err
	}
	total := 0
	for _, pv := range projects {
		total += pv.PostCount
	}
	done := 0
	b := idx.NewBatch()
	flush := func(final bool) error {
		if final {
			b.SetInternal(keyCursor, store.Key(head))
		}
		if err := idx.Batch(b); err != nil {
			return fmt.Errorf("write search index: %w", err)
		}
		b.Reset()
		if progress != nil {
			progress(done, max(total, done))
		}
		return nil
	}
	for _, pv := range projects {
		cursor := ""
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			pinned, page, err := ix.posts.ProjectPosts(everyone, pv.Slug, cursor, posts.MaxLimit)
			if err != nil {
				return err
			}
			for _, p := range append(pinned, page.Posts...) {
				if _, err := ix.addPost(b, p); err != nil {
					return err
				}
				done++
				if done%rebuildBatch == 0 {
					if err := flush(false); err != nil {
						return err
					}
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	ix.cursor.Store(head)
	ix.fresh.Store(false)
	ix.log.Info("search index built", "posts", done, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Run keeps the index up to date until ctx ends: it catches up, then waits
// for the next event. A failed round is logged and tried again after a
// pause that grows from a second to a minute.
func (ix *Index) Run(ctx context.Context) {
	const maxBackoff = time.Minute
	backoff := time.Second
	for {
		// Ask to be woken before catching up, so that an event committed
		// during the round is not missed.
		wake := ix.db.Wait()
		if _, err := ix.CatchUp(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			ix.log.Error("search indexing", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = time.Second
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(gather):
		}
	}
}

func errClosed() error { return apperr.New(apperr.Unavailable, "The search index is closed.") }
