package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// webImportBody bounds a POST of the import page: the CSV (at most
// csvBody) as a file and pasted, or URL-encoded in the Apply form's
// hidden field, which may triple it.
const webImportBody = 3*csvBody + formBody

// importData is the import page's data: the form, and after a dry run its
// rows with their errors and, when none has one, the Apply form carrying
// the same CSV.
type importData struct {
	Kinds []string
	Kind  string
	// CSV is the content checked: the Apply form's hidden field, and the
	// paste box's text after a refusal.
	CSV     string
	Refused *webRefusal
	// Checked is set after a dry run: Head and Rows are its table,
	// Failed counts the rows with an error.
	Checked bool
	Head    []string
	Rows    []importRow
	Failed  int
	Done    string
}

type importRow struct {
	Line  int
	Cells []string
	Err   string
}

// importPage answers GET /import: choose the kind, upload or paste a CSV.
func (s *Server) importPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "import", s.newImportData("owners", r.URL.Query().Get("done")))
}

func (s *Server) newImportData(kind, done string) importData {
	d := importData{Kind: kind, Done: done}
	for _, k := range s.importKinds() {
		d.Kinds = append(d.Kinds, k.name)
	}
	return d
}

// importKindOf is the import the form's field kind names.
func (s *Server) importKindOf(r *http.Request) (importKind, error) {
	name := r.PostFormValue("kind")
	for _, k := range s.importKinds() {
		if k.name == name {
			return k, nil
		}
	}
	return importKind{}, errorf(http.StatusBadRequest, "import kind %q: want owners, accounts or vendors", name)
}

// importContent is the CSV of the form: the uploaded file (field file)
// when one was chosen, else the pasted text (field csv); at most csvBody
// bytes.
func importContent(r *http.Request) (string, error) {
	text := r.PostFormValue("csv")
	if f, hdr, err := r.FormFile("file"); err == nil {
		defer f.Close()
		if hdr.Size > 0 {
			b, err := io.ReadAll(io.LimitReader(f, csvBody+1))
			if err != nil {
				return "", fmt.Errorf("read the uploaded file: %w", err)
			}
			text = string(b)
		}
	} else if !errors.Is(err, http.ErrMissingFile) && !errors.Is(err, http.ErrNotMultipart) {
		return "", errorf(http.StatusBadRequest, "the uploaded file: %v", err)
	}
	switch {
	case len(text) > csvBody:
		return "", errorf(http.StatusRequestEntityTooLarge, "the CSV is larger than %d MiB", csvBody>>20).withHint("split the file and import each part")
	case strings.TrimSpace(text) == "":
		return "", errorf(http.StatusBadRequest, "no CSV: choose a file or paste its text")
	}
	return text, nil
}

// webImport answers POST /import (fields kind, file or csv): the dry run
// of the same importer the API's import route runs, shown as a table of
// rows with their errors; nothing is written.
func (s *Server) webImport(w http.ResponseWriter, r *http.Request) error {
	return s.runWebImport(w, r, false)
}

// webImportApply answers POST /import/apply (fields kind, csv: the Apply
// form carries the CSV that was checked): the import applied, as
// ?apply=true on the API. The importer checks every row again and writes
// nothing if one has an error.
func (s *Server) webImportApply(w http.ResponseWriter, r *http.Request) error {
	return s.runWebImport(w, r, true)
}

func (s *Server) runWebImport(w http.ResponseWriter, r *http.Request, apply bool) error {
	k, err := s.importKindOf(r)
	if err != nil {
		return err
	}
	d := s.newImportData(k.name, "")
	if d.CSV, err = importContent(r); err != nil {
		return s.importRefused(w, r, d, err)
	}
	res, err := k.run(r.Context(), strings.NewReader(d.CSV), apply)
	if err != nil {
		return s.importRefused(w, r, d, err)
	}
	d.Checked, d.Head = true, res.head
	for _, l := range res.lines {
		d.Rows = append(d.Rows, importRow{Line: l.line, Cells: l.cells, Err: l.err})
	}
	d.Failed = len(res.failed())
	status := http.StatusOK
	switch {
	case d.Failed > 0:
		status = http.StatusUnprocessableEntity
	case apply:
		return webDone(w, r, "/import", fmt.Sprintf("%s: %d row(s) applied", k.what, len(d.Rows)))
	}
	return s.render(w, r, status, "import", d)
}

// importRefused shows the import form again with why the file was refused
// (a bad header, too large) and the text kept.
func (s *Server) importRefused(w http.ResponseWriter, r *http.Request, d importData, err error) error {
	if d.Refused, err = s.refusal(w, r, err); err != nil {
		return err
	}
	return s.render(w, r, d.Refused.Status, "import", d)
}
