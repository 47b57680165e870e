package server

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/rosterhq/roster/access"
)

// The web page: every template and static file is in the binary, so that
// `go run ./cmd/roster server` needs no build step and the page loads
// nothing from elsewhere.
//
//go:embed web/templates/*.html web/static/*
var webFiles embed.FS

// webRoute is one entry of the web page's route table (webRoutes in
// routes.go): like [route], but the caller signs in with a session cookie
// instead of a bearer token, and errors are pages.
type webRoute struct {
	// pattern is the http.ServeMux pattern: METHOD PATH.
	pattern string
	// who may call it: anyone (the sign-in pages), or a session whose
	// token has at least the role of viewer, operator or admin.
	who caller
	// body is the most the route reads of a request body; 0 means
	// formBody for a POST.
	body int64
	h    handlerFunc
}

// formBody bounds a form posted to the web page.
const formBody = 64 << 10

// webHeaders are set on every page and static file: nothing inline,
// nothing from elsewhere, no framing, no referrer.
var webHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"X-Content-Type-Options": "nosniff",
}

func setWebHeaders(h http.Header) {
	for k, v := range webHeaders {
		h.Set(k, v)
	}
}

// webFuncs are the functions the templates may call.
var webFuncs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
}

// parsePages parses every page once, at [New]: layout.html and the
// partials (_*.html) with each other template file, one template set per
// page, named after its file without ".html".
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(webFuncs).ParseFS(webFiles, "web/templates/layout.html", "web/templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	files, err := fs.Glob(webFiles, "web/templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(webFiles, f)
		if err != nil {
			return nil, fmt.Errorf("web template %s: %w", f, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// webPage is what the layout is executed with; a page's own data is in
// Data.
type webPage struct {
	// Section is the first element of the path ("" for the dashboard),
	// which the navigation marks as the current page.
	Section string
	// Who is the signed-in operator; nil on the sign-in pages.
	Who *webWho
	// CSRF is the value of every form's hidden field "csrf".
	CSRF string
	Data any
}

// webWho is the signed-in operator as the templates see it.
type webWho struct {
	Name, Role, Factor string
	// CanWrite: role operator or admin (a viewer sees no write controls);
	// IsAdmin: role admin.
	CanWrite, IsAdmin bool
}

// render is the one page writer: it executes page (a template file's name
// without ".html") with data into a buffer, so that a template error is a
// clean 500, then writes the security headers, status and page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) error {
	t := s.pages[page]
	if t == nil {
		return fmt.Errorf("web page %q: no such template", page)
	}
	p := webPage{Section: strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0], Data: data}
	if ws := webSessionFrom(r.Context()); ws != nil {
		p.Who = &webWho{Name: ws.tok.Name, Role: string(ws.tok.Role), Factor: ws.sess.Factor,
			CanWrite: ws.tok.Role.Allows(access.RoleOperator), IsAdmin: ws.tok.Role.Allows(access.RoleAdmin)}
		p.CSRF = ws.sess.CSRF
	} else {
		p.CSRF = preSessionCSRF(r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return fmt.Errorf("web page %s: %w", page, err)
	}
	setWebHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// webErrorData is the error page's data.
type webErrorData struct {
	Status       int
	StatusText   string
	Message      string
	Hint         string
	SignInAgain  bool
	RetryAfterIn string
}

// webError writes err as the error page, with the status, message and
// hint the API's error writer would give it.
func (s *Server) webError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, hint := s.describeError(w, r, err)
	d := webErrorData{Status: status, StatusText: http.StatusText(status), Message: msg, Hint: hint,
		SignInAgain: status == http.StatusUnauthorized}
	if rerr := s.render(w, r, status, "error", d); rerr != nil {
		s.log.ErrorContext(r.Context(), "web error page", "error", rerr.Error())
		setWebHeaders(w.Header())
		http.Error(w, msg, status)
	}
}

// webStatic serves /static/ from the binary.
func (s *Server) webStatic() http.Handler {
	sub, err := fs.Sub(webFiles, "web/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setWebHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-cache")
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// wrapWeb builds a web route's handler: the security headers and the body
// limit; for a POST the same-origin check and the CSRF token; then who may
// call it (a session whose token has the route's role, or anyone), then
// the handler, whose error becomes the error page.
func (s *Server) wrapWeb(rt webRoute) http.Handler {
	limit := rt.body
	if limit == 0 && strings.HasPrefix(rt.pattern, http.MethodPost+" ") {
		limit = formBody
	}
	return s.metrics.timed(rt.pattern, func(w, inner http.ResponseWriter, r *http.Request) {
		setWebHeaders(w.Header())
		r.Body = http.MaxBytesReader(inner, r.Body, limit)
		if err := s.serveWeb(w, r, rt); err != nil {
			s.webError(w, r, err)
		}
	})
}

func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request, rt webRoute) error {
	post := r.Method == http.MethodPost
	if post {
		if err := sameOrigin(r); err != nil {
			return err
		}
	}
	if rt.who == anyone {
		if post {
			if err := checkPreSessionCSRF(r); err != nil {
				return err
			}
		}
		return rt.h(w, r)
	}
	ws, err := s.webSessionOf(r)
	if err != nil {
		if errors.Is(err, access.ErrUnauthenticated) {
			clearCookie(w, sessionCookie)
			if post {
				return errorf(http.StatusUnauthorized, "your session has ended: nothing was changed").
					withHint("sign in again at /login")
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		return err
	}
	ctx := withWebSession(withPrincipal(r.Context(), principal{token: &ws.tok}), ws)
	r = r.WithContext(ctx)
	if post {
		if err := checkCSRF(r, ws); err != nil {
			return err
		}
	}
	if need := rt.who.role(); !ws.tok.Role.Allows(need) {
		return errorf(http.StatusForbidden, "token %q has role %s; this needs role %s", ws.tok.Name, ws.tok.Role, need).
			withHint(fmt.Sprintf("ask an admin for a token with role %s: roster token create --role %s --name NAME", need, need))
	}
	if rt.who == admin && s.adminPasskey && ws.sess.Factor != access.FactorPasskey {
		return errorf(http.StatusForbidden, "this server requires admins to sign in with a passkey for this page").
			withHint("sign in with your passkey at /login")
	}
	return rt.h(w, r)
}
