package users

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// The login throttling limits, as documented in the package comment.
const (
	ThrottleWindow    = 15 * time.Minute // the sliding window failures are counted in
	MaxFailuresPerIP  = 20               // failures from one address (IPv6: one /64) per window
	MaxFailuresPerAcc = 5                // failures for one email per window
)

// throttle counts recent failed logins per key in memory. Each key keeps at
// most limit timestamps, the newest ones, which is all a sliding window of
// limit failures needs.
type throttle struct {
	mu        sync.Mutex
	ips       map[string][]time.Time
	accounts  map[string][]time.Time
	lastSweep time.Time
}

func newThrottle() *throttle {
	return &throttle{ips: map[string][]time.Time{}, accounts: map[string][]time.Time{}}
}

// blockedUntil returns when the key may try again, the zero time when it
// may now.
func blockedUntil(m map[string][]time.Time, key string, limit int, now time.Time) time.Time {
	fs := m[key]
	if len(fs) < limit {
		return time.Time{}
	}
	// fs holds the newest limit failures; the oldest leaving the window
	// brings the count under the limit.
	until := fs[len(fs)-limit].Add(ThrottleWindow)
	if !until.After(now) {
		return time.Time{}
	}
	return until
}

// check returns when the IP or the account may try again, the zero time
// when both may try now.
func (t *throttle) check(ip, account string, now time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var until time.Time
	if ip != "" {
		until = blockedUntil(t.ips, ip, MaxFailuresPerIP, now)
	}
	if u := blockedUntil(t.accounts, account, MaxFailuresPerAcc, now); u.After(until) {
		until = u
	}
	return until
}

// fail records a failed login.
func (t *throttle) fail(ip, account string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	if ip != "" {
		t.ips[ip] = record(t.ips[ip], MaxFailuresPerIP, now)
	}
	t.accounts[account] = record(t.accounts[account], MaxFailuresPerAcc, now)
}

// succeed clears the account's failures; the IP's stay.
func (t *throttle) succeed(account string) {
	t.mu.Lock()
	delete(t.accounts, account)
	t.mu.Unlock()
}

// record appends now, dropping failures outside the window and beyond the
// newest limit.
func record(fs []time.Time, limit int, now time.Time) []time.Time {
	fs = append(fs, now)
	start := 0
	for start < len(fs) && !fs[start].After(now.Add(-ThrottleWindow)) {
		start++
	}
	start = max(start, len(fs)-limit)
	return append(fs[:0:0], fs[start:]...)
}

// sweep forgets keys whose newest failure has left the window, at most once
// a minute, so addresses and emails tried once do not pile up in memory.
func (t *throttle) sweep(now time.Time) {
	if now.Sub(t.lastSweep) < time.Minute {
		return
	}
	t.lastSweep = now
	cutoff := now.Add(-ThrottleWindow)
	for _, m := range []map[string][]time.Time{t.ips, t.accounts} {
		for k, fs := range m {
			if len(fs) == 0 || !fs[len(fs)-1].After(cutoff) {
				delete(m, k)
			}
		}
	}
}

// ipKey groups remote addresses: an IPv4 address (also IPv4-mapped IPv6)
// counts alone, an IPv6 address by its /64, since one host usually holds a
// whole /64. An address with a port is accepted; anything unparseable counts
// as itself.
func ipKey(remote string) string {
	if remote == "" {
		return ""
	}
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	addr, err := netip.ParseAddr(remote)
	if err != nil {
		return remote
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}
