package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
)

var (
	binOnce sync.Once
	binDir  string // removed by TestMain
	binPath string
	binErr  error
)

// projblogBinary builds the command once per test run and returns the
// path of the binary. It is built without -race even under -race: bcrypt
// runs ten times slower with the race detector, and the server's
// concurrency is covered by internal/web's tests, which run in-process.
func projblogBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		if binDir, binErr = os.MkdirTemp("", "projblog-cli-test-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "projblog")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build projblog: %v", binErr)
	}
	return binPath
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cleanEnv is this process's environment without PROJBLOG_* variables
// (TestMain removed them, but be explicit about what the child sees).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PROJBLOG_") {
			env = append(env, kv)
		}
	}
	return env
}

// server is `projblog serve` running as a child process.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:PORT
	port int

	mu     sync.Mutex
	lines  []string // standard output so far
	stderr syncBuffer

	ready  chan struct{} // closed when "serving on" was printed
	exited chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's answer, set before exited is closed
}

// startServe runs serve on dir on a free port and waits until it prints
// "serving on". The process is killed when the test ends if it still runs.
func startServe(t testing.TB, dir string, extra ...string) *server {
	t.Helper()
	s := launchServe(t, dir, freePort(t), extra...)
	select {
	case <-s.ready:
	case <-s.exited:
		t.Fatalf("serve exited before serving: %v\nstdout:\n%s\nstderr:\n%s", s.err, s.stdout(), s.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not print \"serving on\"\nstdout:\n%s\nstderr:\n%s", s.stdout(), s.stderr.String())
	}
	return s
}

// launchServe starts serve on dir and port without waiting for it.
func launchServe(t testing.TB, dir string, port int, extra ...string) *server {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"serve", "--data", dir, "--listen", addr}, extra...)
	s := &server{t: t, url: "http://" + addr, port: port, ready: make(chan struct{}), exited: make(chan struct{})}
	s.cmd = exec.Command(projblogBinary(t), args...)
	s.cmd.Env = cleanEnv()
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
			if strings.Contains(sc.Text(), " serving on ") {
				close(s.ready)
			}
		}
		// Wait only once standard output is drained, as exec requires.
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

// stdout returns what the server printed so far.
func (s *server) stdout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n") + "\n"
}

// wait waits for the process to exit and returns its exit code.
func (s *server) wait() int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.t.Fatalf("serve did not exit\nstderr:\n%s", s.stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case s.err == nil:
		return 0
	case errors.As(s.err, &ee) && ee.Exited():
		return ee.ExitCode()
	}
	s.t.Fatalf("serve did not exit normally: %v\nstderr:\n%s", s.err, s.stderr.String())
	return -1
}

// stop sends SIGTERM and checks for a graceful exit with code 0.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	if code := s.wait(); code != 0 {
		s.t.Fatalf("serve exited with %d after SIGTERM, want 0\nstderr:\n%s", code, s.stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// firstStart is the account serve announces on its first start.
type firstStart struct{ url, email, password string }

// parseFirstStart reads the first-start block from serve's output; ok is
// false when there is none.
func parseFirstStart(out string) (fs firstStart, ok bool) {
	if !strings.Contains(out, "First start") {
		return fs, false
	}
	for _, line := range strings.Split(out, "\n") {
		key, val, found := strings.Cut(strings.TrimSpace(line), ":")
		if !found {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "URL":
			fs.url = val
		case "Email":
			fs.email = val
		case "Password":
			fs.password = val
		}
	}
	return fs, true
}

// newClient returns an HTTP client with a cookie jar that does not follow
// redirects, so a test sees the 303 itself.
func newClient(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// getHTML fetches a page, checks its status and parses it.
func getHTML(t testing.TB, c *http.Client, u string) *html.Node {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// attr returns n's attribute named key.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// formInput returns the value of the input called name in the form whose
// action is action.
func formInput(t testing.TB, doc *html.Node, action, name string) string {
	t.Helper()
	for _, f := range findAll(doc, "form") {
		if attr(f, "action") != action {
			continue
		}
		for _, in := range findAll(f, "input") {
			if attr(in, "name") == name {
				return attr(in, "value")
			}
		}
	}
	t.Fatalf("no input %q in a form with action %q", name, action)
	return ""
}

// login posts the login form the way a browser does and returns the
// response, whose body is closed.
func login(t testing.TB, c *http.Client, base, email, password string) *http.Response {
	t.Helper()
	doc := getHTML(t, c, base+"/login")
	csrf := formInput(t, doc, "/login", "_csrf")
	if csrf == "" {
		t.Fatal("the login form carries no _csrf token")
	}
	resp, err := c.PostForm(base+"/login", url.Values{
		"_csrf": {csrf}, "next": {"/"}, "email": {email}, "password": {password},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServe(t, dir, "--admin-email", "boss@example.com")

	var admin firstStart
	t.Run("FirstStartPrintsAdmin", func(t *testing.T) {
		fs, ok := parseFirstStart(srv.stdout())
		if !ok {
			t.Fatalf("no first-start block in stdout:\n%s", srv.stdout())
		}
		if fs.email != "boss@example.com" || len(fs.password) < 10 {
			t.Errorf("first start = %+v, want boss@example.com and a password", fs)
		}
		if want := "http://localhost:" + strconv.Itoa(srv.port) + "/login"; fs.url != want {
			t.Errorf("URL = %q, want %q", fs.url, want)
		}
		admin = fs
	})

	t.Run("Healthz", func(t *testing.T) {
		resp, err := http.Get(srv.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || body != "ok\n" {
			t.Errorf("GET /healthz: %s %q", resp.Status, body)
		}
	})

	t.Run("LoginWrongPassword", func(t *testing.T) {
		resp := login(t, newClient(t), srv.url, "boss@example.com", "not the password")
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode < 400 {
			t.Errorf("a wrong password got %s", resp.Status)
		}
	})

	t.Run("Login", func(t *testing.T) {
		if admin.password == "" {
			t.Skip("no admin password was printed")
		}
		c := newClient(t)
		resp := login(t, c, srv.url, admin.email, admin.password)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("POST /login: %s, Location %q; want 303 to /", resp.Status, resp.Header.Get("Location"))
		}
		// The session works: the home page shows the admin's menu.
		doc := getHTML(t, c, srv.url+"/")
		if formInput(t, doc, "/logout", "_csrf") == "" {
			t.Error("the logout form has no _csrf token")
		}
		var settings []string
		for _, a := range findAll(doc, "a") {
			if attr(a, "href") == "/settings" {
				settings = append(settings, attr(a, "title"))
			}
		}
		if len(settings) != 1 || settings[0] != admin.email {
			t.Errorf("links to /settings titled %q, want one for %s", settings, admin.email)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		srv.stop()
		if !strings.Contains(srv.stderr.String(), "stopped") {
			t.Errorf("no graceful shutdown in the log:\n%s", srv.stderr.String())
		}
		// The server released the database.
		r := mustRun(t, "", "user", "list", "--data", dir)
		if rows := readTable(r.stdout); len(rows) != 2 || rows[1][0] != "boss@example.com" || rows[1][3] != "yes" {
			t.Errorf("user list after serve:\n%s", r.stdout)
		}
	})

	t.Run("SecondStartPrintsNoPassword", func(t *testing.T) {
		again := startServe(t, dir)
		out := again.stdout()
		if _, ok := parseFirstStart(out); ok || strings.Contains(out, "Password") {
			t.Errorf("a second start printed a password:\n%s", out)
		}
		if admin.password != "" && strings.Contains(out, admin.password) {
			t.Errorf("a second start printed the admin password again:\n%s", out)
		}
		again.stop()
	})
}

func TestServeHoldsDatabaseLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := startServe(t, dir)

	// The CLI waits for the lock for its default timeout (1s), then
	// gives up with a message that says why.
	r := runCLI(t, "", "user", "list", "--data", dir)
	wantFail(t, r, 1, "in use", dbFile(dir))

	srv.stop()
	mustRun(t, "", "user", "list", "--data", dir)
}

// A first start that fails after the database opened (here: the port is
// taken) must not create the admin whose password it never printed.
func TestServeFailedFirstStartKeepsAdminForLater(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	busy := launchServe(t, dir, ln.Addr().(*net.TCPAddr).Port)
	if code := busy.wait(); code != 1 {
		t.Fatalf("serve on a taken port exited with %d, want 1", code)
	}
	if !strings.Contains(busy.stderr.String(), "listen on") {
		t.Errorf("stderr does not say the listen failed:\n%s", busy.stderr.String())
	}
	if strings.Contains(busy.stdout(), "serving on") {
		t.Errorf("a failed start claimed to serve:\n%s", busy.stdout())
	}

	srv := startServe(t, dir)
	if fs, ok := parseFirstStart(srv.stdout()); !ok || fs.password == "" {
		t.Errorf("the first successful start did not print the admin password:\n%s", srv.stdout())
	}
	srv.stop()
}

func TestServeBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"BaseURLScheme", []string{"--base-url", "ftp://x"}, "--base-url"},
		{"BaseURLRelative", []string{"--base-url", "/blog"}, "--base-url"},
		{"TimeZone", []string{"--time-zone", "Mars/Olympus"}, "--time-zone"},
		{"LogFormat", []string{"--log-format", "xml"}, "--log-format"},
		{"ThemeDir", []string{"--theme-dir", "/nonexistent/theme"}, "--theme-dir"},
		{"TrustProxyValue", []string{"--trust-proxy=perhaps"}, "-trust-proxy"},
		{"UnknownFlag", []string{"--port", "80"}, "-port"},
		{"Argument", []string{"now"}, "no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:1"}, tc.args...)
			wantFail(t, runCLI(t, "", args...), 2, tc.want)
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("serve with a bad flag created the data directory (stat: %v)", err)
			}
		})
	}

	// The binary passes run's exit code to the shell.
	t.Run("Binary", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(projblogBinary(t), "serve", "--data", t.TempDir(), "--time-zone", "Mars/Olympus")
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("exit: %v, want code 2\n%s", err, out)
		}
		if !strings.Contains(string(out), `--time-zone "Mars/Olympus"`) {
			t.Errorf("output does not name the flag:\n%s", out)
		}
	})
}
