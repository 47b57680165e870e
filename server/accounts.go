package server

import (
	"cmp"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// listAccounts answers GET /v1/accounts with the filter of
// [api.AccountQuery].
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var filter inventory.Filter
	if t := q.Get("tier"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 4 {
			return errorf(http.StatusBadRequest, "query parameter tier: %q is not a tier from 1 to 4", t)
		}
		filter.Tier = inventory.Tier(n)
	}
	if filter.NoOwner, err = queryBool(r, "no_owner"); err != nil {
		return err
	}
	if filter.Static, err = queryBool(r, "static"); err != nil {
		return err
	}
	if filter.Retired, err = queryBool(r, "retired"); err != nil {
		return err
	}
	all, err := queryBool(r, "all")
	if err != nil {
		return err
	}
	filter.Humans, filter.System = all, all
	filter.Host, filter.Env = q.Get("host"), q.Get("env")
	accts, err := s.inv.ListAccounts(r.Context(), filter)
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(accts, apiSummary)), func(w io.Writer) error { return render.Accounts(w, accts, f) })
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	acct, err := s.inv.GetAccount(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out, err := apiAccount(acct)
	if err != nil {
		return err
	}
	return respond(w, r, f, out, func(w io.Writer) error { return render.Account(w, acct, time.Now()) })
}

func (s *Server) accountHistory(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON)
	if err != nil {
		return err
	}
	events, err := s.inv.AccountHistory(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return respond(w, r, f, nonNil(mapSlice(events, apiEvent)), func(w io.Writer) error { return render.History(w, events) })
}

// ok answers a change that returns nothing else.
func ok(w http.ResponseWriter, r *http.Request, status string) error {
	writeJSON(w, r, http.StatusOK, api.Status{Status: status})
	return nil
}

func (s *Server) tagAccount(w http.ResponseWriter, r *http.Request) error {
	var req api.TagsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.TagAccount(r.Context(), r.PathValue("name"), req.Add, req.Remove); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

func (s *Server) setTier(w http.ResponseWriter, r *http.Request) error {
	var req api.TierRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.SetTier(r.Context(), r.PathValue("name"), inventory.Tier(req.Tier), req.Reason); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

func (s *Server) setKind(w http.ResponseWriter, r *http.Request) error {
	var req api.KindRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.SetKind(r.Context(), r.PathValue("name"), req.Kind); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

func (s *Server) retireAccount(w http.ResponseWriter, r *http.Request) error {
	var req api.RetireRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.RetireAccount(r.Context(), r.PathValue("name"), true, req.Reason); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

func (s *Server) unretireAccount(w http.ResponseWriter, r *http.Request) error {
	var req api.UnretireRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.UnretireAccount(r.Context(), r.PathValue("name"), req.Reason); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

func (s *Server) splitAccount(w http.ResponseWriter, r *http.Request) error {
	var req api.SplitRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	switch {
	case req.Separate && (req.Host != "" || req.Env != ""):
		return errorf(http.StatusBadRequest, "request body: separate moves no instance: give it without host and env")
	case req.Separate:
		if err := s.inv.Split(r.Context(), name, "", ""); err != nil {
			return err
		}
		writeJSON(w, r, http.StatusOK, api.SplitResponse{Name: name})
		return nil
	case req.Host == "":
		return errorf(http.StatusBadRequest, "request body: host is required (or separate, to confirm the account without moving an instance)")
	}
	group := cmp.Or(req.Env, req.Host)
	if err := s.inv.Split(r.Context(), name, req.Host, group); err != nil {
		return err
	}
	// The new account keeps the account name and takes the group: NAME@GROUP.
	base, _, _ := strings.Cut(name, "@")
	writeJSON(w, r, http.StatusOK, api.SplitResponse{Name: base + "@" + group})
	return nil
}

func (s *Server) mergeAccount(w http.ResponseWriter, r *http.Request) error {
	var req api.MergeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.Merge(r.Context(), req.From, r.PathValue("name")); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}
