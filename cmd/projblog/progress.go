package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress reports a long command's advance on w. On a terminal it draws
// one bar line redrawn in place at most ten times a second; elsewhere (a
// log, a pipe, a test) it writes a plain line at each tenth of the way, so
// logs stay readable. Total 0 means unknown: only the count is shown.
type progress struct {
	w        io.Writer
	label    string
	total    int
	tty      bool
	start    time.Time
	last     time.Time
	lastTick int
	drawn    bool
}

func newProgress(w io.Writer, label string, total int) *progress {
	return &progress{w: w, label: label, total: total, tty: isTerminal(w), start: time.Now()}
}

// isTerminal tells whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Set records that done units of the total are finished.
func (p *progress) Set(done int) {
	if p.tty {
		now := time.Now()
		if now.Sub(p.last) < 100*time.Millisecond && done != p.total {
			return
		}
		p.last = now
		fmt.Fprintf(p.w, "\r%s %s", p.label, p.bar(done))
		p.drawn = true
		return
	}
	if p.total <= 0 {
		return
	}
	if tick := done * 10 / p.total; tick > p.lastTick {
		p.lastTick = tick
		fmt.Fprintf(p.w, "%s: %d/%d (%d%%)\n", p.label, done, p.total, done*100/p.total)
	}
}

func (p *progress) bar(done int) string {
	elapsed := time.Since(p.start).Round(time.Second)
	if p.total <= 0 {
		return fmt.Sprintf("%d  %s ", done, elapsed)
	}
	const width = 30
	fill := min(width, done*width/p.total)
	eta := ""
	if done > 0 && done < p.total {
		left := time.Duration(float64(time.Since(p.start)) * float64(p.total-done) / float64(done))
		eta = fmt.Sprintf(", %s left", left.Round(time.Second))
	}
	return fmt.Sprintf("[%s%s] %3d%% %d/%d  %s%s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		done*100/p.total, done, p.total, elapsed, eta)
}

// Done ends the bar's line on a terminal.
func (p *progress) Done() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}

// reporter adapts a progress to callbacks that learn the total with each
// report (posts.Rerender, search.Rebuild): the bar is made at the first
// report. finish ends its line.
func reporter(w io.Writer, label string) (report func(done, total int), finish func()) {
	var bar *progress
	report = func(done, total int) {
		if bar == nil {
			bar = newProgress(w, label, total)
		}
		bar.Set(done)
	}
	finish = func() {
		if bar != nil {
			bar.Done()
		}
	}
	return report, finish
}
