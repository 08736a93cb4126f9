// Command loadbench is projblog's HTTP load harness, run by `make bench`
// and, tiny, by `make bench-smoke` (part of `make test`). It is a
// developer tool, not part of the product binary.
//
// It seeds a data directory with `projblog seed` (kept between runs and
// reused when it already holds the asked number of posts), starts a real
// `projblog serve` on it, and measures each endpoint with wrk (Debian's
// package) on 127.0.0.1, side by side with a reference: a minimal net/http
// server in this process that serves, from memory, the very bytes the
// endpoint answered (its status, Content-Type and body; for the post page
// that is the post page's bytes). Each endpoint's run is paired with a
// reference run just before it, and its figures are given as a ratio to
// that reference, because this machine is shared and absolute numbers
// drift.
//
// It also measures the server's start-up time (exec to the first 200 of
// /healthz), its peak resident memory (VmHWM), the database file size per
// post, and posts created per second through the JSON API by 16
// concurrent writers, checking afterwards that every acknowledged post is
// there.
//
// With -smoke it asserts only that the harness works and that every
// response was a 2xx or a 304, never a speed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type config struct {
	bin, data, out string
	profile        string
	noSearch       bool
	posts          int
	duration       time.Duration
	conns, threads int
	smoke          bool
}

func run() error {
	var c config
	flag.StringVar(&c.bin, "projblog", "bin/projblog", "the projblog `binary` to measure")
	flag.StringVar(&c.data, "data", "", "the data `DIR` (seeded when it lacks a database; default a temporary directory)")
	flag.IntVar(&c.posts, "posts", 1000, "posts to seed")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of each wrk run")
	flag.IntVar(&c.conns, "connections", 16, "concurrent connections of wrk")
	flag.IntVar(&c.threads, "threads", 2, "wrk threads")
	flag.StringVar(&c.out, "out", "", "also append the Markdown table to this `file`")
	flag.StringVar(&c.profile, "profile", "", "save a CPU profile of the server during each endpoint's run into this `DIR` (go tool pprof -top FILE)")
	flag.BoolVar(&c.noSearch, "no-search", false, "serve without the search index (serve --no-search) and do not build it: for data sets whose index would take too long")
	flag.BoolVar(&c.smoke, "smoke", false, "check that the harness works and every answer is 2xx/304; no figures")
	flag.Parse()
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is missing: install it with `apt-get install -y wrk` (make bench does)")
	}
	if c.data == "" {
		dir, err := os.MkdirTemp("", "loadbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.data = dir
	}
	bin, err := filepath.Abs(c.bin)
	if err != nil {
		return err
	}
	c.bin = bin

	if err := prepare(c); err != nil {
		return err
	}
	token, err := apiToken(c)
	if err != nil {
		return err
	}
	srv, err := startServer(c)
	if err != nil {
		return err
	}
	defer srv.stop()

	t, err := discover(srv.base)
	if err != nil {
		return err
	}
	ref, err := startReference()
	if err != nil {
		return err
	}
	defer ref.l.Close()

	endpoints := []endpoint{
		{name: "post page, anonymous", url: srv.base + t.post},
		{name: "post page, anonymous, returning", url: srv.base + t.post, headers: []string{"Cookie: " + t.anonCookie}},
		{name: "post page, logged in", url: srv.base + t.post, headers: []string{"Cookie: " + t.cookie}},
		{name: "project page", url: srv.base + t.project},
		{name: "home page", url: srv.base + "/"},
		{name: "project Atom feed (200)", url: srv.base + t.project + "/feed.atom"},
		{name: "project Atom feed (304)", url: srv.base + t.project + "/feed.atom", headers: []string{"If-None-Match: " + t.feedETag}},
		{name: "tag page", url: srv.base + t.tag},
	}
	if t.searchWord != "" {
		endpoints = append(endpoints, endpoint{name: "search", url: srv.base + "/search?q=" + url.QueryEscape(t.searchWord)})
	}
	endpoints = append(endpoints, endpoint{name: "digest page, logged in", url: srv.base + "/digest", headers: []string{"Cookie: " + t.cookie}})

	var rows []row
	for i, ep := range endpoints {
		refURL, err := ref.mirror(i, ep)
		if err != nil {
			return fmt.Errorf("%s: %w", ep.name, err)
		}
		r0, err := wrk(c, endpoint{name: "reference", url: refURL})
		if err != nil {
			return err
		}
		stopProfile := profileDuring(c, srv, ep.name)
		r1, err := wrk(c, ep)
		stopProfile()
		if err != nil {
			return fmt.Errorf("%s: %w", ep.name, err)
		}
		if r1.bad > 0 || r1.requests == 0 {
			return fmt.Errorf("%s: %d of %d answers were not 2xx/3xx (%s)", ep.name, r1.bad, r1.requests, ep.url)
		}
		rows = append(rows, row{ep: ep.name, res: r1, ref: r0})
		fmt.Fprintf(os.Stderr, "%-28s %9.0f req/s  p50 %-9s p99 %-9s  reference %9.0f req/s  ratio %.2f\n",
			ep.name, r1.rps, fmtDur(r1.p50), fmtDur(r1.p99), r0.rps, r1.rps/r0.rps)
	}

	wr, err := writes(c, srv.base, t.project, token)
	if err != nil {
		return err
	}
	rss, err := memoryOf(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	st, err := os.Stat(filepath.Join(c.data, "projblog.db"))
	if err != nil {
		return err
	}
	if c.smoke {
		fmt.Printf("loadbench smoke: %d endpoints and %d API writes answered 2xx/304 only\n", len(rows), wr.acked)
		return nil
	}
	report := table(c, rows, wr, srv.startup, rss, st.Size())
	fmt.Print(report)
	if c.out != "" {
		f, err := os.OpenFile(c.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.WriteString(f, report)
		return err
	}
	return nil
}

// prepare seeds the data directory unless it already holds the asked
// number of posts, then builds the search index once, so the server does
// not index in the background while it is measured.
func prepare(c config) error {
	marker := filepath.Join(c.data, ".loadbench-posts")
	if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(c.posts) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(c.data, "projblog.db")); err == nil {
		return fmt.Errorf("%s holds a database that loadbench did not seed with %d posts; give an empty or new -data", c.data, c.posts)
	}
	fmt.Fprintf(os.Stderr, "seeding %d posts into %s\n", c.posts, c.data)
	if err := command(c.bin, "seed", "--data", c.data, "--posts", strconv.Itoa(c.posts), "--until", "2026-11-01"); err != nil {
		return err
	}
	if hasCommand(c.bin, "reindex") && !c.noSearch {
		if err := command(c.bin, "reindex", "--data", c.data); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, []byte(strconv.Itoa(c.posts)+"\n"), 0o644)
}

func command(bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("projblog %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func hasCommand(bin, name string) bool {
	out, _ := exec.Command(bin, "help").Output()
	return strings.Contains(string(out), "projblog "+name)
}

// apiToken makes a write token for the seeded admin (before serve holds
// the database).
func apiToken(c config) (string, error) {
	out, err := exec.Command(c.bin, "token", "add", "admin@seed.example", "--scope", "write", "--name", "loadbench", "--data", c.data).Output()
	if err != nil {
		return "", fmt.Errorf("projblog token add: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

type server struct {
	cmd     *exec.Cmd
	base    string
	debug   string // the profiler's address, with -profile
	startup time.Duration
	log     *os.File
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startServer(c config) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(c.data, "loadbench-serve.log"))
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	args := []string{"serve", "--data", c.data, "--listen", addr, "--base-url", base, "--log-format", "json"}
	if c.noSearch {
		args = append(args, "--no-search")
	}
	debug := ""
	if c.profile != "" {
		if debug, err = freePort(); err != nil {
			return nil, err
		}
		args = append(args, "--debug-listen", debug)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: base, log: logf, debug: debug}
	for time.Since(start) < 120*time.Second {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.startup = time.Since(start)
				return s, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("the server did not answer /healthz within 2 minutes; see %s", logf.Name())
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
	}
	s.log.Close()
}

// targets are the URLs found on the running site.
type targets struct {
	post, project, tag string
	feedETag           string
	cookie             string
	anonCookie         string // the CSRF cookie an anonymous browser keeps
	searchWord         string
}

var (
	postLink = regexp.MustCompile(`href="(/p/[a-z0-9-]+)/([a-z0-9-]+)"`)
	tagLink  = regexp.MustCompile(`href="(/p/[a-z0-9-]+/tags/[^"/]+)"`)
	csrfIn   = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
)

func discover(base string) (targets, error) {
	var t targets
	home, _, err := get(base+"/", nil)
	if err != nil {
		return t, err
	}
	notPost := map[string]bool{"feed.atom": true, "feed.rss": true, "feed.json": true, "archive": true, "tags": true, "settings": true, "decisions": true}
	for _, m := range postLink.FindAllStringSubmatch(string(home), -1) {
		if !notPost[m[2]] {
			t.project, t.post = m[1], m[1]+"/"+m[2]
			break
		}
	}
	if t.post == "" {
		return t, errors.New("the home page links no public post; is the data set seeded?")
	}
	body, ph, err := get(base+t.post, nil)
	if err != nil {
		return t, err
	}
	// A browser keeps the CSRF cookie of its first visit.
	for _, sc := range ph.Values("Set-Cookie") {
		if kv, _, _ := strings.Cut(sc, ";"); strings.HasPrefix(kv, "projblog_csrf=") {
			t.anonCookie = kv
		}
	}
	if m := tagLink.FindSubmatch(body); m != nil {
		t.tag = string(m[1])
	} else {
		return t, fmt.Errorf("the post page %s links no tag", t.post)
	}
	_, h, err := get(base+t.project+"/feed.atom", nil)
	if err != nil {
		return t, err
	}
	if t.feedETag = h.Get("ETag"); t.feedETag == "" {
		return t, errors.New("the project feed has no ETag")
	}
	if res, err := http.Get(base + "/search?q=database"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.searchWord = "therese" // a name in some posts' tables, written without its accent
		}
	}
	t.cookie, err = login(base)
	return t, err
}

func get(u string, hdr map[string]string) ([]byte, http.Header, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return b, res.Header, err
}

// login signs the seeded admin in through the form and returns the Cookie
// header a browser would send afterwards.
func login(base string) (string, error) {
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Get(base + "/login")
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfIn.FindSubmatch(page)
	if m == nil {
		return "", errors.New("the login form has no CSRF token")
	}
	res, err = cl.PostForm(base+"/login", url.Values{"_csrf": {string(m[1])}, "email": {"admin@seed.example"}, "password": {"projblog-seed"}})
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		return "", fmt.Errorf("login answered %s", res.Status)
	}
	// The first page after the login shows its flash message and clears
	// the flash cookie, as in a browser.
	if res, err = cl.Get(base + "/"); err != nil {
		return "", err
	}
	res.Body.Close()
	u, _ := url.Parse(base)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; "), nil
}

// reference is a minimal net/http server answering from memory exactly
// what an endpoint answered (status, Content-Type and body): the fastest
// this machine serves those bytes over HTTP, measured side by side.
type reference struct {
	l      net.Listener
	mu     sync.RWMutex
	bodies map[string]refAnswer
}

type refAnswer struct {
	status int
	ctype  string
	body   []byte
}

func startReference() (*reference, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &reference{l: l, bodies: map[string]refAnswer{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.RLock()
		a := r.bodies[req.URL.Path]
		r.mu.RUnlock()
		w.Header().Set("Content-Type", a.ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	})
	go func() { _ = http.Serve(l, h) }()
	return r, nil
}

// mirror fetches the endpoint once, as wrk will, and returns the URL under
// which the reference answers the same.
func (r *reference) mirror(i int, ep endpoint) (string, error) {
	req, err := http.NewRequest(http.MethodGet, ep.url, nil)
	if err != nil {
		return "", err
	}
	for _, h := range ep.headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNotModified {
		return "", fmt.Errorf("GET %s: %s", ep.url, res.Status)
	}
	path := fmt.Sprintf("/ref/%d", i)
	r.mu.Lock()
	r.bodies[path] = refAnswer{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), body: body}
	r.mu.Unlock()
	return "http://" + r.l.Addr().String() + path, nil
}

// profileDuring starts a CPU profile of the server for the length of a wrk
// run (with -profile) and returns what waits for it to be saved.
func profileDuring(c config, srv *server, name string) func() {
	if c.profile == "" || srv.debug == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := max(1, int(c.duration.Seconds())-1)
		res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", srv.debug, secs))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer res.Body.Close()
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		file := filepath.Join(c.profile, strings.NewReplacer(" ", "-", ",", "", "(", "", ")", "").Replace(name)+".pprof")
		f, err := os.Create(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, res.Body)
	}()
	return func() { <-done }
}

type endpoint struct {
	name    string
	url     string
	headers []string
	script  string
}

type result struct {
	rps           float64
	p50, p99      time.Duration
	requests, bad int
	errors        int
}

var (
	reqLine    = regexp.MustCompile(`(\d+) requests in`)
	rpsLine    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	badLine    = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	sockLine   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	percentile = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

func wrk(c config, ep endpoint) (result, error) {
	args := []string{"-t", strconv.Itoa(c.threads), "-c", strconv.Itoa(c.conns), "-d", fmt.Sprintf("%ds", max(1, int(c.duration.Seconds()))), "--latency", "--timeout", "10s"}
	for _, h := range ep.headers {
		args = append(args, "-H", h)
	}
	if ep.script != "" {
		args = append(args, "-s", ep.script)
	}
	args = append(args, ep.url)
	ctx, cancel := context.WithTimeout(context.Background(), c.duration+60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return parseWrk(string(out))
}

func parseWrk(out string) (result, error) {
	var r result
	m := reqLine.FindStringSubmatch(out)
	n := rpsLine.FindStringSubmatch(out)
	if m == nil || n == nil {
		return r, fmt.Errorf("cannot read wrk's report:\n%s", out)
	}
	r.requests, _ = strconv.Atoi(m[1])
	r.rps, _ = strconv.ParseFloat(n[1], 64)
	if b := badLine.FindStringSubmatch(out); b != nil {
		r.bad, _ = strconv.Atoi(b[1])
	}
	if s := sockLine.FindStringSubmatch(out); s != nil {
		for _, v := range s[1:] {
			k, _ := strconv.Atoi(v)
			r.errors += k
		}
	}
	for _, p := range percentile.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[3]]
		d := time.Duration(v * float64(unit))
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	return r, nil
}

type writeResult struct {
	result
	acked, present int
}

// writes creates posts through the JSON API with the configured number of
// concurrent writers (each request a new title) and checks afterwards that
// the project holds every acknowledged one.
func writes(c config, base, project, token string) (writeResult, error) {
	var wr writeResult
	type apiProject struct {
		Slug      string `json:"slug"`
		Role      string `json:"role"`
		CanPost   bool   `json:"can_post"`
		Archived  bool   `json:"archived"`
		PostCount int    `json:"post_count"`
	}
	list := func() ([]apiProject, error) {
		b, _, err := get(base+"/api/v1/projects", map[string]string{"Authorization": "Bearer " + token})
		if err != nil {
			return nil, err
		}
		var l struct {
			Projects []apiProject `json:"projects"`
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("/api/v1/projects: %w", err)
		}
		return l.Projects, nil
	}
	// The posts go to a project the admin is not a member of (an admin
	// may post anywhere), so that they do not swell the admin's digest
	// or the measured project's pages in later runs on the same data.
	ps, err := list()
	if err != nil {
		return wr, err
	}
	for _, p := range ps {
		if p.Role == "" && p.CanPost && !p.Archived && "/p/"+p.Slug != project {
			project = "/p/" + p.Slug
			break
		}
	}
	count := func() (int, error) {
		ps, err := list()
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			if "/p/"+p.Slug == project {
				return p.PostCount, nil
			}
		}
		return 0, fmt.Errorf("/api/v1/projects does not list %s", project)
	}
	before, err := count()
	if err != nil {
		return wr, err
	}
	script, err := os.CreateTemp("", "loadbench-*.lua")
	if err != nil {
		return wr, err
	}
	defer os.Remove(script.Name())
	fmt.Fprintf(script, `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
local n = 0
local id = 0
setup = function(thread) id = id + 1; thread:set("id", id) end
init = function(args) n = 0 end
request = function()
  n = n + 1
  local body = string.format('{"title":"Load run %%d-%%d","body":"A post written by the load harness, number %%d.\\n\\n- one\\n- two\\n","tags":["load"]}', id, n, n)
  return wrk.format(nil, nil, nil, body)
end
`, token)
	script.Close()
	path := strings.TrimPrefix(project, "")
	ep := endpoint{name: "API writes", url: base + "/api/v1/projects/" + strings.TrimPrefix(path, "/p/") + "/posts", script: script.Name()}
	r, err := wrk(c, ep)
	if err != nil {
		return wr, err
	}
	wr.result = r
	wr.acked = r.requests - r.bad
	if r.bad > 0 || r.requests == 0 {
		return wr, fmt.Errorf("API writes: %d of %d answers were not 2xx", r.bad, r.requests)
	}
	// wrk stops counting at its deadline; requests in flight may still
	// land, so the project holds at least the acknowledged posts.
	time.Sleep(200 * time.Millisecond)
	after, err := count()
	if err != nil {
		return wr, err
	}
	wr.present = after - before
	if wr.present < wr.acked {
		return wr, fmt.Errorf("API writes: %d posts acknowledged but only %d present afterwards", wr.acked, wr.present)
	}
	fmt.Fprintf(os.Stderr, "%-28s %9.0f posts/s p50 %-9s p99 %-9s  %d acknowledged, %d present\n", "API writes (16 writers)", r.rps, fmtDur(r.p50), fmtDur(r.p99), wr.acked, wr.present)
	return wr, nil
}

// memory is the server's resident memory: its peak (VmHWM, which counts
// the pages of the database and index files it has mapped and read, memory
// the kernel can take back) and, at the end of the run, the part that is
// its own (RssAnon: the Go heap, stacks and caches).
type memory struct{ peak, anon, file int64 }

func memoryOf(pid int) (memory, error) {
	var m memory
	var err error
	if m.peak, err = statusField(pid, "VmHWM:"); err != nil {
		return m, err
	}
	if m.anon, err = statusField(pid, "RssAnon:"); err != nil {
		return m, err
	}
	m.file, err = statusField(pid, "RssFile:")
	return m, err
}

// statusField reads one "kB" field of /proc/PID/status, in bytes.
func statusField(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

type row struct {
	ep       string
	res, ref result
}

func table(c config, rows []row, wr writeResult, startup time.Duration, rss memory, dbSize int64) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "\n### %d posts — %s\n\n", c.posts, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "wrk -t%d -c%d -d%s on 127.0.0.1 (%s); reference = net/http serving that endpoint's own answer (same status and bytes) from memory, measured just before each row.\n\n",
		c.threads, c.conns, c.duration, host)
	b.WriteString("| endpoint | req/s | p50 | p99 | reference req/s | ratio |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.0f | %.2f |\n", r.ep, r.res.rps, fmtDur(r.res.p50), fmtDur(r.res.p99), r.ref.rps, r.res.rps/r.ref.rps)
	}
	fmt.Fprintf(&b, "| API writes, %d writers | %.0f posts/s | %s | %s | | %d acknowledged, %d present |\n",
		c.conns, wr.rps, fmtDur(wr.p50), fmtDur(wr.p99), wr.acked, wr.present)
	fmt.Fprintf(&b, "\nstart-up %s · peak resident memory %.0f MB (at the end: %.0f MB its own, %.0f MB mapped database and index files) · database %.1f MB (%.1f KB per post)\n",
		startup.Round(time.Millisecond), mb(rss.peak), mb(rss.anon), mb(rss.file), mb(dbSize), float64(dbSize)/1024/float64(max(c.posts, 1)))
	return b.String()
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}
