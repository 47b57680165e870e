package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// hostsData is the hosts page's data: roster hosts list.
type hostsData struct {
	Hosts []inventory.Host
}

// hostsPage answers GET /hosts (?format=csv: roster hosts list --format
// csv).
func (s *Server) hostsPage(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, "html", api.FormatCSV)
	if err != nil {
		return err
	}
	hosts, err := s.inv.ListHosts(r.Context())
	if err != nil {
		return err
	}
	if f == api.FormatCSV {
		return respond(w, r, f, nil, func(w io.Writer) error { return render.Hosts(w, hosts, f) })
	}
	return s.render(w, r, http.StatusOK, "hosts", hostsData{Hosts: hosts})
}

// hostData is a host's page data.
type hostData struct {
	Host *inventory.HostDetail
	Done string
}

// hostPage answers GET /hosts/{host}: the host with its account
// instances, as GET /v1/hosts/{host}.
func (s *Server) hostPage(w http.ResponseWriter, r *http.Request) error {
	h, err := s.inv.GetHost(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "host", hostData{Host: h, Done: r.URL.Query().Get("done")})
}

// webTagHost answers POST /hosts/{host}/tags (fields add, remove: tags
// separated by spaces or commas): inventory.RetagHosts, as POST
// /v1/hosts/{host}/tags. What an env= change moved is said on the host's
// page.
func (s *Server) webTagHost(w http.ResponseWriter, r *http.Request) error {
	host := r.PathValue("host")
	res, err := s.inv.RetagHosts(r.Context(), []string{host}, tagList(r.PostFormValue("add")), tagList(r.PostFormValue("remove")))
	if err != nil {
		return err
	}
	done := "tags changed"
	if n := len(res.Moved); n > 0 {
		done += fmt.Sprintf("; %d service account(s) moved", n)
	}
	if n := len(res.NeedOwner); n > 0 {
		done += fmt.Sprintf("; %d new service account(s) need an owner", n)
	}
	return webDone(w, r, "/hosts/"+url.PathEscape(host), done)
}

// tagList splits a form field of tags at spaces and commas.
func tagList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}
