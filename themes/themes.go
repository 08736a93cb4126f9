// Package themes holds projblog's embedded default theme: html/template
// templates under templates/ and static assets under static/. A theme
// directory on disk may override any of its files.
package themes

import (
	"embed"
	"errors"
	"io/fs"
	"os"
)

//go:embed all:default
var embedded embed.FS

// Default returns the embedded default theme, rooted at its directory.
func Default() fs.FS {
	sub, err := fs.Sub(embedded, "default")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Overlay returns a file system in which the files of dir (same layout:
// templates/, static/) take the place of base's files of the same name,
// and base provides the rest. An empty dir returns base.
func Overlay(dir string, base fs.FS) fs.FS {
	if dir == "" {
		return base
	}
	return overlay{top: os.DirFS(dir), base: base}
}

type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if err == nil {
		if st, serr := f.Stat(); serr == nil && !st.IsDir() {
			return f, nil
		}
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return o.base.Open(name)
}

// ReadDir lists base's entries plus any files only the override adds.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.base, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Name()] = true
	}
	extra, _ := fs.ReadDir(o.top, name)
	for _, e := range extra {
		if !seen[e.Name()] {
			entries = append(entries, e)
		}
	}
	return entries, nil
}
