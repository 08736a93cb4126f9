package mailin

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Archives.
//
// ReadMbox, ReadMaildir and ReadEML walk a mail archive and hand each raw
// message to a callback, one at a time: an archive is never held in memory
// whole, and of one message at most limit+1 bytes are kept. A message
// longer than limit reaches the callback cut at limit+1 bytes, so that
// Parse (given the same limit) refuses it as too large with its own
// message, and the walk goes on with the next one.
//
// The callback's where names the message for a person ("message 3 (line
// 120)" in an mbox, the file's path otherwise). An error the callback
// returns stops the walk and is returned as it is. raw is the callback's
// to keep.

// ReadMbox calls fn with each message of the mbox read from r, in order.
//
// Both common forms are read: mboxo and mboxrd. A message starts at a
// "From " line at the start of the file, or after a blank line when that
// line looks like an envelope line ("From sender date", with a time of
// day such as 12:34), so an unescaped "From " that starts a paragraph of a
// body does not split a message (mboxo writers are not all careful). The
// envelope line and the blank line before the next one belong to the
// mbox, not to the message (and so does a blank line that ends the file).
// ">From ", ">>From ", ... lines lose one '>' (mboxrd; in mboxo only
// ">From " is escaped and a quoted ">From " of the original loses its
// '>', the usual loss of that format). CRLF line ends are tolerated and
// passed on as they are.
//
// A file whose first line (after blank lines) is not a "From " line is not
// an mbox: the error says so. limit <= 0 means MaxMessageBytes.
func ReadMbox(r io.Reader, limit int64, fn func(raw []byte, where string) error) error {
	if limit <= 0 {
		limit = MaxMessageBytes
	}
	m := mboxReader{limit: limit, fn: fn, atStart: true}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		frag, err := br.ReadSlice('\n')
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		if len(frag) > 0 {
			if err := m.fragment(frag); err != nil {
				return err
			}
		}
		if eof {
			return m.flush()
		}
	}
}

// mboxReader is the state of ReadMbox between the pieces of lines it
// reads (a line longer than the read buffer comes in several).
type mboxReader struct {
	limit int64
	fn    func(raw []byte, where string) error

	msg        []byte // the message so far, at most limit+1 bytes
	size       int64  // its real size
	inMsg      bool
	count      int  // messages so far
	startLine  int  // the envelope line of the current message
	line       int  // lines so far
	atStart    bool // the next fragment starts a line
	skipping   bool // the rest of a long envelope line is being skipped
	prevBlank  bool // the last line was blank
	blankBytes int  // and that many bytes long ("\n" or "\r\n")
}

func (m *mboxReader) fragment(frag []byte) error {
	whole := frag[len(frag)-1] == '\n'
	start := m.atStart
	m.atStart = whole
	if !start {
		if m.skipping {
			m.skipping = !whole
			return nil
		}
		m.add(frag)
		return nil
	}
	m.line++
	if isEnvelope(frag, !m.inMsg || m.prevBlank, !m.inMsg) {
		if err := m.flush(); err != nil {
			return err
		}
		m.inMsg, m.startLine, m.prevBlank, m.skipping = true, m.line, false, !whole
		return nil
	}
	blank := whole && (len(frag) == 1 || (len(frag) == 2 && frag[0] == '\r'))
	if !m.inMsg {
		if blank {
			return nil // blank lines before the first message
		}
		return errors.New("this is not an mbox file: it does not start with a \"From \" line")
	}
	if frag[0] == '>' && bytes.HasPrefix(bytes.TrimLeft(frag, ">"), []byte("From ")) {
		frag = frag[1:] // mboxrd: one '>' less
	}
	m.prevBlank, m.blankBytes = blank, len(frag)
	m.add(frag)
	return nil
}

func (m *mboxReader) add(b []byte) {
	m.size += int64(len(b))
	if room := m.limit + 1 - int64(len(m.msg)); room > 0 {
		m.msg = append(m.msg, b[:min(int64(len(b)), room)]...)
	}
}

// flush hands the message read so far to fn.
func (m *mboxReader) flush() error {
	if !m.inMsg {
		return nil
	}
	// The blank line before the next envelope line is the mbox's.
	if m.prevBlank && m.size == int64(len(m.msg)) && len(m.msg) >= m.blankBytes {
		m.msg = m.msg[:len(m.msg)-m.blankBytes]
	}
	m.count++
	err := m.fn(m.msg, fmt.Sprintf("message %d (line %d)", m.count, m.startLine))
	m.msg, m.size, m.inMsg = nil, 0, false
	return err
}

// envelopeTime is the time of day of an envelope line.
var envelopeTime = regexp.MustCompile(`\b\d{1,2}:\d\d(:\d\d)?\b`)

// isEnvelope tells whether a line (its first fragment) starts a message:
// it is a "From " line where one may stand (after a blank line or at the
// start), and, unless lenient, has a time of day.
func isEnvelope(frag []byte, mayStand, lenient bool) bool {
	if !mayStand || !bytes.HasPrefix(frag, []byte("From ")) {
		return false
	}
	return lenient || envelopeTime.Match(frag)
}

// ReadMaildir calls fn with each message of the maildir dir: the files of
// its cur/ and new/ directories, in the order of their names (a maildir
// name starts with the delivery time, so this is delivery order), cur/
// before new/ for equal names. tmp/ (messages being delivered), sub-folders
// and dot files are ignored. A directory with neither cur/ nor new/ is not
// a maildir: the error says so. where is the file's path. limit <= 0
// means MaxMessageBytes.
func ReadMaildir(dir string, limit int64, fn func(raw []byte, where string) error) error {
	if err := checkDir(dir); err != nil {
		return err
	}
	var files []string
	found := false
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		found = true
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	if !found {
		return fmt.Errorf("%s is not a maildir: it has no cur/ or new/ directory", dir)
	}
	slices.SortStableFunc(files, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return readFiles(files, limit, fn)
}

// ReadEML calls fn with the message of the .eml file path, or, when path
// is a directory, with each of its *.eml files (the extension in any case;
// sub-directories are not walked) in the order of their names. A
// directory without any is an error. where is the file's path. limit <= 0
// means MaxMessageBytes.
func ReadEML(path string, limit int64, fn func(raw []byte, where string) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return readFiles([]string{path}, limit, fn)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	var files []string
	for _, e := range entries { // os.ReadDir sorts by name
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".eml") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("%s holds no .eml file", path)
	}
	return readFiles(files, limit, fn)
}

// checkDir returns an error unless dir is a directory.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// readFiles calls fn with the first limit+1 bytes of each file.
func readFiles(files []string, limit int64, fn func(raw []byte, where string) error) error {
	if limit <= 0 {
		limit = MaxMessageBytes
	}
	for _, name := range files {
		raw, err := readBounded(name, limit+1)
		if err != nil {
			return err
		}
		if err := fn(raw, name); err != nil {
			return err
		}
	}
	return nil
}

func readBounded(name string, n int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}
