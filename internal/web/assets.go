package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"projblog/internal/markdown"
)

// assets are the theme's static files, read once at start-up and served
// under content-hashed names (style.3f2a1b9c.css) with a year-long,
// immutable cache lifetime: a changed file gets a new URL.
type assets struct {
	byURL  map[string]*asset // "style.3f2a1b9c.css" -> file
	byName map[string]*asset // "style.css" -> file
}

type asset struct {
	name, hashed, ctype string
	body                []byte
	mod                 time.Time
}

func loadAssets(theme fs.FS) (*assets, error) {
	a := &assets{byURL: map[string]*asset{}, byName: map[string]*asset{}}
	entries, err := fs.ReadDir(theme, "static")
	if err != nil {
		return nil, fmt.Errorf("theme: read static/: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(theme, "static/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("theme: %w", err)
		}
		a.add(e.Name(), b)
	}
	// The syntax-highlighting colours come from the Markdown renderer's
	// chroma styles, so they always match the classes it writes.
	a.add("highlight.css", []byte(markdown.HighlightCSS()))
	return a, nil
}

func (a *assets) add(name string, body []byte) {
	sum := sha256.Sum256(body)
	ext := path.Ext(name)
	hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext
	ctype := mime.TypeByExtension(ext)
	if ctype == "" {
		ctype = http.DetectContentType(body)
	}
	f := &asset{name: name, hashed: hashed, ctype: ctype, body: body, mod: time.Now().UTC()}
	a.byURL[hashed] = f
	a.byName[name] = f
}

// url returns the content-hashed URL of a static file; it panics at
// template execution for a name the theme lacks, which the template tests
// catch.
func (a *assets) url(name string) (string, error) {
	f, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("theme has no static/%s", name)
	}
	return "/static/" + f.hashed, nil
}

func (s *Server) serveAsset(c echo.Context) error {
	name := c.Param("file")
	h := c.Response().Header()
	f, ok := s.assets.byURL[name]
	if ok {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else if f, ok = s.assets.byName[name]; ok {
		h.Set("Cache-Control", "public, max-age=300")
	} else {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	h.Set("ETag", `"`+f.hashed+`"`)
	http.ServeContent(c.Response(), c.Request(), f.name, f.mod, bytes.NewReader(f.body))
	return nil
}
