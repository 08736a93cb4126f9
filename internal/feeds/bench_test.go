package feeds

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// benchContent returns about 3 KB of HTML as the Markdown renderer makes it
// for a typical post: paragraphs with links, a list, an image with a
// srcset, code, a table and a footnote.
func benchContent(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<p>Week %d on Apollo: the <a href="/p/apollo/launch-window">launch window</a> moved again, and the <strong>review board</strong> signed off the <em>thermal</em> tests. Details in <a href="https://wiki.example.org/apollo/thermal?rev=%d&amp;view=full">the wiki</a>.</p>
<h2 id="status">Status <a class="anchor" href="#status" aria-hidden="true" tabindex="-1">#</a></h2>
<ul>
<li>Propulsion: <a href="/p/apollo/propulsion-review">review</a> done, two findings open.</li>
<li>Avionics: firmware 4.%d.1 flashed on both units; see <a href="/p/apollo/avionics#firmware">notes</a>.</li>
<li>Ground: antenna alignment scheduled for Thursday.</li>
<li>Docs: <a href="mailto:docs@example.com">docs@example.com</a> collects the changes.</li>
</ul>
<p><img src="/static/uploads/%d/chart.png" alt="Burn-down chart for week %d" srcset="/static/uploads/%d/chart.png 1x, /static/uploads/%d/chart@2x.png 2x"></p>
<h2 id="numbers">Numbers <a class="anchor" href="#numbers" aria-hidden="true" tabindex="-1">#</a></h2>
<table>
<thead><tr><th>Item</th><th>Planned</th><th>Done</th></tr></thead>
<tbody>
<tr><td>Thermal cycles</td><td>40</td><td>38</td></tr>
<tr><td>Vibration runs</td><td>12</td><td>12</td></tr>
<tr><td>Open findings</td><td>0</td><td>2</td></tr>
</tbody>
</table>
<h2 id="risks">Risks <a class="anchor" href="#risks" aria-hidden="true" tabindex="-1">#</a></h2>
<p>The supplier of the pressure sensor confirmed a two-week delay. We have asked for a partial shipment so that the <a href="/p/apollo/integration-plan">integration plan</a> can start with one unit; if that fails, the integrated test slips by the same two weeks and the launch window with it. The <a href="/p/apollo/risk-register">risk register</a> has the details and the owners.</p>
<ol>
<li>Sensor delay: <strong>high</strong>, owner Grace, mitigation in progress.</li>
<li>Test chamber availability: <em>medium</em>, owner Alan, booked for weeks 12 and 13.</li>
<li>Staffing over the holidays: low, owner Ada, rota agreed.</li>
</ol>
<p>The test harness change is small:</p>
<pre><code class="language-go">func (h *Harness) Run(ctx context.Context) error {
	if err := h.Prepare(ctx); err != nil {
		return fmt.Errorf("prepare: %%w", err)
	}
	return h.loop(ctx, 3 &lt; h.Retries &amp;&amp; h.Enabled)
}
</code></pre>
<blockquote cite="/p/apollo/board-minutes"><p>We are go for the integrated test once both findings are closed.</p></blockquote>
<p>Next week we expect the final report<sup id="fnref:1"><a href="#fn:1" class="footnote-ref" role="doc-noteref">1</a></sup>. Questions go to the <a href="/p/apollo/questions">questions thread</a>; please do not reply-all.</p>
<div class="footnotes" role="doc-endnotes">
<ol>
<li id="fn:1">
<p>Assuming the supplier ships the replacement sensor on time. <a href="#fnref:1" class="footnote-backref" role="doc-backlink">↩︎</a></p>
</li>
</ol>
</div>
`, n, n, n%10, n, n, n, n)
	return b.String()
}

// benchFeed returns a project feed of n entries with realistic content.
func benchFeed(n int) *Feed {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	f := &Feed{
		ID:          FeedID(testBase, "project/apollo"),
		Title:       "Apollo",
		Description: "Updates from the Apollo project.",
		SelfURL:     testBase + "/p/apollo/feed.atom",
		AltURL:      testBase + "/p/apollo",
		Language:    "en",
		Generator:   "projblog",
		Entries:     make([]Entry, n),
	}
	for i := range n {
		pub := start.Add(time.Duration(n-i) * 24 * time.Hour)
		f.Entries[i] = Entry{
			ID:          EntryID(testBase, pub, uint64(n-i)),
			Title:       fmt.Sprintf("Apollo weekly, week %d", n-i),
			URL:         fmt.Sprintf("%s/p/apollo/weekly-%d", testBase, n-i),
			AuthorName:  "Ada Lovelace",
			AuthorEmail: "ada@example.com",
			Published:   pub,
			Updated:     pub.Add(3 * time.Hour),
			Categories:  []string{"weekly", "status", "health:on-track"},
			ContentHTML: benchContent(n - i),
			Summary:     "The launch window moved again, and the review board signed off the thermal tests.",
		}
	}
	return f
}

func benchmarkRender(b *testing.B, format Format) {
	f := benchFeed(50)
	var size countWriter
	if err := Render(&size, f, format, testBase); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, f, format, testBase); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderAtom renders a 50-entry feed of ~3 KB posts as Atom;
// MB/s is output bytes.
func BenchmarkRenderAtom(b *testing.B) { benchmarkRender(b, Atom) }

// BenchmarkRenderRSS is BenchmarkRenderAtom for RSS.
func BenchmarkRenderRSS(b *testing.B) { benchmarkRender(b, RSS) }

// BenchmarkRenderJSON is BenchmarkRenderAtom for JSON Feed.
func BenchmarkRenderJSON(b *testing.B) { benchmarkRender(b, JSON) }

// BenchmarkAbsHTML measures the URL rewriting of one ~3 KB post alone.
func BenchmarkAbsHTML(b *testing.B) {
	content := benchContent(7)
	base, err := parseBase(testBase + "/p/apollo/weekly-7")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		absHTML(content, base)
	}
}

// countWriter counts the bytes written to it.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

func TestBenchContentSize(t *testing.T) {
	// The benchmark claims "~3 KB posts"; keep it honest.
	if n := len(benchContent(42)); n < 2500 || n > 3500 {
		t.Errorf("bench content is %d bytes, want about 3 KB", n)
	}
}
