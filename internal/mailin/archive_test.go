package mailin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// archived is one message as an archive reader handed it over.
type archived struct{ raw, where string }

func collectMbox(t *testing.T, mbox string, limit int64) ([]archived, error) {
	t.Helper()
	var got []archived
	err := ReadMbox(strings.NewReader(mbox), limit, func(raw []byte, where string) error {
		got = append(got, archived{string(raw), where})
		return nil
	})
	return got, err
}

func TestReadMbox(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mbox string
		want []archived
	}{
		{"Two", "From ann@example.com Mon Mar  3 09:00:00 2025\nSubject: one\n\nbody one\n\nFrom bob@example.com Mon Mar  3 10:00:00 2025\nSubject: two\n\nbody two\n",
			[]archived{{"Subject: one\n\nbody one\n", "message 1 (line 1)"}, {"Subject: two\n\nbody two\n", "message 2 (line 6)"}}},
		{"MboxrdUnescape", "From a Mon Mar  3 09:00:00 2025\nSubject: x\n\n>From here on we ship.\n>>From quoted\n> From stays\n>Fromage stays\n",
			[]archived{{"Subject: x\n\nFrom here on we ship.\n>From quoted\n> From stays\n>Fromage stays\n", "message 1 (line 1)"}}},
		{"CRLF", "From a Mon Mar  3 09:00:00 2025\r\nSubject: one\r\n\r\nbody\r\n\r\nFrom b Mon Mar  3 10:00:00 2025\r\nSubject: two\r\n\r\n>From x\r\n",
			[]archived{{"Subject: one\r\n\r\nbody\r\n", "message 1 (line 1)"}, {"Subject: two\r\n\r\nFrom x\r\n", "message 2 (line 6)"}}},
		{"UnescapedFromInBody", "From a Mon Mar  3 09:00:00 2025\nSubject: x\n\nWe met.\n\nFrom now on, Tuesdays.\n",
			// Not an envelope line (no time of day): the message goes on.
			[]archived{{"Subject: x\n\nWe met.\n\nFrom now on, Tuesdays.\n", "message 1 (line 1)"}}},
		{"FromNotAfterBlankLine", "From a Mon Mar  3 09:00:00 2025\nSubject: x\n\nline\nFrom b Mon Mar  3 10:00:00 2025\n",
			[]archived{{"Subject: x\n\nline\nFrom b Mon Mar  3 10:00:00 2025\n", "message 1 (line 1)"}}},
		{"LeadingBlankLinesAndNoFinalNewline", "\n\nFrom a Mon Mar  3 09:00:00 2025\nSubject: x\n\nend",
			[]archived{{"Subject: x\n\nend", "message 1 (line 3)"}}},
		{"ThunderbirdEnvelope", "From - Mon Mar  3 09:00:00 2025\nSubject: x\n\nbody\n\nFrom - Mon Mar  3 09:05:00 2025\nSubject: y\n\nbody\n",
			[]archived{{"Subject: x\n\nbody\n", "message 1 (line 1)"}, {"Subject: y\n\nbody\n", "message 2 (line 6)"}}},
		{"FinalBlankLineIsTheMboxs", "From a Mon Mar  3 09:00:00 2025\nSubject: x\n\nbody\n\n",
			[]archived{{"Subject: x\n\nbody\n", "message 1 (line 1)"}}},
		{"Empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := collectMbox(t, tc.mbox, 0)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestReadMboxLongLines reads lines longer than the reader's buffer,
// through a reader that hands over one byte at a time.
func TestReadMboxLongLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 200<<10)
	envelope := "From a Mon Mar  3 09:00:00 2025 " + strings.Repeat("y", 100<<10) + "\n"
	mbox := envelope + "Subject: x\n\n" + long + "\n\n" + envelope + "Subject: y\n\n>From " + long + "\n"
	var got []archived
	err := ReadMbox(iotest.HalfReader(strings.NewReader(mbox)), 0, func(raw []byte, where string) error {
		got = append(got, archived{string(raw), where})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].raw != "Subject: x\n\n"+long+"\n" || got[1].raw != "Subject: y\n\nFrom "+long+"\n" || got[1].where != "message 2 (line 6)" {
		t.Errorf("got %d messages; first %d bytes, second %d bytes at %q", len(got), len(got[0].raw), len(got[1].raw), got[len(got)-1].where)
	}
}

// TestReadMboxLimit: a message over the limit reaches fn cut at limit+1
// bytes, so Parse refuses it, and the next one is read whole.
func TestReadMboxLimit(t *testing.T) {
	t.Parallel()
	big := "From: ann@example.com\nSubject: big\n\n" + strings.Repeat("0123456789\n", 1000)
	small := "From: bob@example.com\nSubject: small\n\nhello\n"
	mbox := "From a Mon Mar  3 09:00:00 2025\n" + big + "\nFrom b Mon Mar  3 09:00:00 2025\n" + small
	const limit = 1000
	got, err := collectMbox(t, mbox, limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].raw) != limit+1 || got[1].raw != small {
		t.Fatalf("got %d messages: %d bytes, then %q", len(got), len(got[0].raw), got[len(got)-1].raw)
	}
	_, err = Parse(strings.NewReader(got[0].raw), limit)
	if err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("Parse of the cut message: %v, want a too-large refusal", err)
	}
	if m, err := Parse(strings.NewReader(got[1].raw), limit); err != nil || m.Subject != "small" {
		t.Errorf("the message after it: %+v, %v", m, err)
	}
}

func TestReadMboxRefusesWhatIsNotAnMbox(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"\x89PNG\r\n\x1a\n\x00\x00", "Subject: hello\n\nan .eml file\n", "   \nFrom a Mon Mar  3 09:00:00 2025\n"} {
		if _, err := collectMbox(t, s, 0); err == nil || !strings.Contains(err.Error(), "not an mbox") {
			t.Errorf("ReadMbox(%q) = %v, want a not-an-mbox error", s, err)
		}
	}
}

func TestReadMboxStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	calls := 0
	mbox := "From a Mon Mar  3 09:00:00 2025\nx\n\nFrom b Mon Mar  3 09:00:00 2025\ny\n"
	err := ReadMbox(strings.NewReader(mbox), 0, func([]byte, string) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ReadMbox = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadMaildir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"cur/1700000002.M2.host:2,S": "two",
		"new/1700000003.M3.host":     "three",
		"cur/1700000001.M1.host:2,S": "one",
		"tmp/1700000000.M0.host":     "being delivered",
		"cur/.hidden":                "dot file",
		"cur/sub/1700000009.M9.host": "a sub-folder",
	})
	var got []string
	err := ReadMaildir(dir, 3, func(raw []byte, where string) error {
		got = append(got, string(raw)+"@"+filepath.ToSlash(strings.TrimPrefix(where, dir)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Name order across cur/ and new/; "three" is cut at limit+1 bytes.
	want := "one@/cur/1700000001.M1.host:2,S two@/cur/1700000002.M2.host:2,S thre@/new/1700000003.M3.host"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}

	t.Run("NotAMaildir", func(t *testing.T) {
		t.Parallel()
		err := ReadMaildir(t.TempDir(), 0, func([]byte, string) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "not a maildir") {
			t.Errorf("ReadMaildir of an empty directory = %v", err)
		}
		file := filepath.Join(t.TempDir(), "f")
		writeFiles(t, filepath.Dir(file), map[string]string{"f": "x"})
		if err := ReadMaildir(file, 0, func([]byte, string) error { return nil }); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("ReadMaildir of a file = %v", err)
		}
		if err := ReadMaildir(filepath.Join(t.TempDir(), "missing"), 0, func([]byte, string) error { return nil }); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("ReadMaildir of a missing path = %v", err)
		}
	})
}

func TestReadEML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"b.eml": "bee", "a.EML": "ay", "c.txt": "not mail", "d.eml/x.eml": "a directory"})
	var got []string
	fn := func(raw []byte, where string) error {
		got = append(got, string(raw)+"@"+filepath.Base(where))
		return nil
	}
	if err := ReadEML(dir, 0, fn); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "ay@a.EML bee@b.eml" {
		t.Errorf("directory: %s", strings.Join(got, " "))
	}
	got = nil
	if err := ReadEML(filepath.Join(dir, "c.txt"), 2, fn); err != nil || strings.Join(got, " ") != "not@c.txt" {
		t.Errorf("one file, limit 2: %v %s", err, strings.Join(got, " "))
	}
	if err := ReadEML(filepath.Join(dir, "d.eml", "..", "missing.eml"), 0, fn); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty := t.TempDir()
	if err := ReadEML(empty, 0, fn); err == nil || !strings.Contains(err.Error(), "no .eml file") {
		t.Errorf("empty directory: %v", err)
	}
}
