package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"projblog/internal/access"
)

// chartPNG is a small bar chart, big enough to see in a screenshot.
func chartPNG(t *testing.T) []byte {
	t.Helper()
	const w, h = 360, 160
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bars := []int{60, 95, 80, 130, 110, 145}
	for x := range w {
		for y := range h {
			c := color.RGBA{R: 246, G: 247, B: 250, A: 255}
			if i := x / 60; x%60 >= 12 && x%60 < 48 && h-y <= bars[i] {
				c = color.RGBA{R: 47, G: 91, B: 211, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dropScript drops one file, built in the page from base64, on the
// editor's text as a person dragging it from their desktop would.
func dropScript(name, mimeType string, data []byte) string {
	return fmt.Sprintf(`(() => {
  const bin = atob(%q);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], %q, {type: %q}));
  const ta = document.getElementById("body");
  for (const type of ["dragenter", "dragover", "drop"]) {
    ta.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
  }
  return true;
})()`, base64.StdEncoding.EncodeToString(data), name, mimeType)
}

// TestBrowserAttachments: in the editor, a file that is refused says why
// and leaves the text as typed; an image dropped on the text is uploaded,
// its Markdown inserted, and the live preview shows it; a PDF becomes a
// link. Published, the post shows the image and lists the PDF.
func TestBrowserAttachments(t *testing.T) {
	e := newEnv(t)
	mia := e.user("mia@example.com", "Mia Member", false)
	e.project(mia, "apollo", access.Internal)
	ctx := newBrowser(t)
	base := e.srv.URL

	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			shot(t, ctx, "failed-attach-"+step)
			t.Fatalf("%s: %v", step, err)
		}
	}
	wait := func(step, predicate string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(20*time.Second)))
		must(step, err)
	}
	value := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("body").value`))
		must("read the text", err)
		return v
	}

	must("log in", chromedp.Do(ctx, chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), mia.Email),
		chromedp.SendKeys(chromedp.ID("password"), testPassword)))
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	must("submit login", err)

	must("open editor", chromedp.Do(ctx, chromedp.Navigate(base+"/p/apollo/new"),
		chromedp.WaitVisible(chromedp.CSS(`label[for="attach-input"]`)),
		chromedp.SendKeys(chromedp.ID("title"), "Sprint 12: burndown"),
		chromedp.SendKeys(chromedp.ID("body"), "Typed before any upload.\n")))
	typed := value()

	// Refused: HTML dressed as a PNG. The message says so; the text is
	// as typed.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](dropScript("cat.png", "image/png", []byte("<!DOCTYPE html><script>alert(1)</script>"))))
	must("drop HTML", err)
	wait("refusal shown", `[...document.querySelectorAll("#attach-status .error")].some(p => p.textContent.includes("HTML files cannot be attached"))`)
	if got := value(); got != typed {
		t.Fatalf("after a refused file the text is %q, want %q", got, typed)
	}

	// Accepted: an image dropped on the text.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const t = document.getElementById("body"); t.focus(); t.setSelectionRange(t.value.length, t.value.length); return true; })()`))
	must("place cursor", err)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](dropScript("burndown.png", "image/png", chartPNG(t))))
	must("drop image", err)
	wait("markdown inserted", `/!\[burndown\.png\]\(\/p\/apollo\/files\/\d+\/burndown\.png\)/.test(document.getElementById("body").value)`)
	wait("preview shows the image", `(() => { const i = document.querySelector("#preview img[src*='/files/']"); return !!i && i.complete && i.naturalWidth === 360; })()`)
	if got := value(); !strings.HasPrefix(got, typed) {
		t.Errorf("the upload changed what was typed: %q", got)
	}

	// A PDF becomes a link.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](dropScript("spec.pdf", "application/pdf", testPDF)))
	must("drop PDF", err)
	wait("PDF link inserted", `/\[spec\.pdf\]\(\/p\/apollo\/files\/\d+\/spec\.pdf\)/.test(document.getElementById("body").value)`)
	wait("preview shows the link", `!!document.querySelector("#preview a[href$='/spec.pdf']")`)
	axeCheck(t, ctx, "editor with attachments")
	screenshots(t, ctx, "attach-01-editor")

	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`button[name=action][value=publish]`)))
	must("publish", err)
	wait("image on the post", `(() => { const i = document.querySelector(".prose img[src*='/files/']"); return !!i && i.complete && i.naturalWidth === 360; })()`)
	files, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#files li a")].map(a => a.textContent)`))
	must("read the file list", err)
	if len(files) != 1 || files[0] != "spec.pdf" {
		t.Errorf("listed files %q, want the PDF", files)
	}
	axeCheck(t, ctx, "post with attachments")
	screenshots(t, ctx, "attach-02-post")
}

// screenshots saves a light and a dark screenshot (see shot).
func screenshots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("PROJBLOG_SCREENSHOTS") == "" {
		return
	}
	for _, scheme := range []string{"light", "dark"} {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Logf("emulate %s: %v", scheme, err)
			return
		}
		shot(t, ctx, name+"-"+scheme)
	}
	chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
}
