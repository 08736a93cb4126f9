package users

import (
	"sync"
	"sync/atomic"
	"time"
)

// The session cache.
//
// Every request of a signed-in reader looks up their session: a bbolt read
// and two JSON decodes, a sixth of a cached page's cost. The cache keeps
// the answer in memory, keyed by the session's stored key (the token's
// SHA-256, never the token), for as long as nothing of this package has
// been written since: every write transaction of the package (s.update)
// moves a generation counter, and an entry of an older generation is read
// again. A logout, a deactivation, a password change or a renewal thus
// takes effect at the next request, as before. An entry is also used only
// while the session is unexpired and its renewal is not due (the slow path
// renews it). The package owns its buckets and the database is opened by
// one process, so no write escapes the counter.
//
// The generation is read before the database is, and bumped after a
// commit: an entry filled from a read that raced a write is of the old
// generation, never used after that write.
//
// At most sessionCacheMax entries; when full it is emptied (sessions are
// few next to that; an attack with made-up tokens never fills it, as only
// sessions that exist are kept).

const sessionCacheMax = 10000

type sessionCache struct {
	gen atomic.Uint64
	mu  sync.Mutex
	m   map[string]cachedSession
}

type cachedSession struct {
	gen       uint64
	user      User // without its password hash
	expiresAt time.Time
	renewAt   time.Time // when the slow path should renew it
}

func (c *sessionCache) invalidate() { c.gen.Add(1) }

// generation is the generation to stamp a lookup about to be made with.
func (c *sessionCache) generation() uint64 { return c.gen.Load() }

// get returns a copy of the user of a remembered session, nil when there
// is none of the current generation still good at now.
func (c *sessionCache) get(key string, now time.Time) *User {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || e.gen != c.gen.Load() || !now.Before(e.expiresAt) || !now.Before(e.renewAt) {
		return nil
	}
	u := e.user
	return &u
}

// put remembers a lookup made at generation gen.
func (c *sessionCache) put(key string, gen uint64, u *User, expiresAt, renewAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= sessionCacheMax {
		c.m = make(map[string]cachedSession)
	}
	e := cachedSession{gen: gen, user: *u, expiresAt: expiresAt, renewAt: renewAt}
	e.user.PasswordHash = nil
	c.m[key] = e
}
