package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// format returns the ?format= of a read, checked against the offered ones.
func format(r *http.Request, offered ...string) (string, error) {
	f := r.URL.Query().Get("format")
	if f == "" {
		return offered[0], nil
	}
	for _, o := range offered {
		if f == o {
			return f, nil
		}
	}
	return "", errorf(http.StatusBadRequest, "query parameter format: %q is not one of %s", f, strings.Join(offered, ", "))
}

// render writes v as JSON, or with text when the format is not json. The
// body is rendered first so that a rendering error is still a clean 500.
// nonNil returns items, or an empty list for nil: in JSON an empty list is
// [] rather than null.
func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

func respond(w http.ResponseWriter, f string, v any, text func(io.Writer) error) error {
	var buf bytes.Buffer
	if f == render.FormatJSON {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
	} else {
		if err := text(&buf); err != nil {
			return err
		}
		ct := "text/plain; charset=utf-8"
		if f == render.FormatCSV {
			ct = "text/csv; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (a *api) report(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON, render.FormatCSV, render.FormatMarkdown)
	if err != nil {
		return err
	}
	rep, err := a.inv.Report(r.Context(), time.Now())
	if err != nil {
		return err
	}
	return respond(w, f, rep, func(w io.Writer) error { return render.Report(w, rep, f) })
}

func (a *api) listAccounts(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON, render.FormatCSV)
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
	accts, err := a.inv.ListAccounts(r.Context(), filter)
	if err != nil {
		return err
	}
	return respond(w, f, nonNil(accts), func(w io.Writer) error { return render.Accounts(w, accts, f) })
}

func (a *api) getAccount(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON)
	if err != nil {
		return err
	}
	acct, err := a.inv.GetAccount(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return respond(w, f, acct, func(w io.Writer) error { return render.Account(w, acct, time.Now()) })
}

func (a *api) accountHistory(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON)
	if err != nil {
		return err
	}
	events, err := a.inv.AccountHistory(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return respond(w, f, nonNil(events), func(w io.Writer) error { return render.History(w, events) })
}

type tagsRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// change is a handler that decodes a JSON request into Req, applies it,
// and answers {"status": "ok"}.
func change[Req any](apply func(r *http.Request, req Req) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req Req
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
		if err := apply(r, req); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	}
}

func (a *api) tagAccount() handlerFunc {
	return change(func(r *http.Request, req tagsRequest) error {
		return a.inv.TagAccount(r.Context(), r.PathValue("name"), req.Add, req.Remove)
	})
}

// tagHost answers {"status": "ok"} with what an env= change did to
// service accounts: "moved" (accounts that moved as a whole, with their
// owner and exceptions) and "need_owner" (new accounts without an owner),
// each left out when empty.
func (a *api) tagHost() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req tagsRequest
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
		res, err := a.inv.RetagHosts(r.Context(), []string{r.PathValue("host")}, req.Add, req.Remove)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct {
			Status string `json:"status"`
			inventory.Regrouping
		}{"ok", res})
		return nil
	}
}

type tierRequest struct {
	Tier   int    `json:"tier"`
	Reason string `json:"reason"`
}

func (a *api) setTier() handlerFunc {
	return change(func(r *http.Request, req tierRequest) error {
		return a.inv.SetTier(r.Context(), r.PathValue("name"), inventory.Tier(req.Tier), req.Reason)
	})
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (a *api) retireAccount() handlerFunc {
	return change(func(r *http.Request, req reasonRequest) error {
		return a.inv.RetireAccount(r.Context(), r.PathValue("name"), true, req.Reason)
	})
}

func (a *api) unretireAccount() handlerFunc {
	return change(func(r *http.Request, req reasonRequest) error {
		return a.inv.UnretireAccount(r.Context(), r.PathValue("name"), req.Reason)
	})
}

// splitRequest is the body of POST /v1/accounts/{name}/split: either the
// instance on Host moves into service account NAME@Env (Env defaults to
// Host), or, with Separate and neither Host nor Env, the account is
// confirmed as an identity of its own and nothing moves.
type splitRequest struct {
	Host     string `json:"host"`
	Env      string `json:"env"`
	Separate bool   `json:"separate"`
}

func (a *api) splitAccount(w http.ResponseWriter, r *http.Request) error {
	var req splitRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	switch {
	case req.Separate && (req.Host != "" || req.Env != ""):
		return errorf(http.StatusBadRequest, "request body: separate moves no instance: give it without host and env")
	case req.Separate:
		if err := a.inv.Split(r.Context(), name, "", ""); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"name": name})
		return nil
	case req.Host == "":
		return errorf(http.StatusBadRequest, "request body: host is required (or separate, to confirm the account without moving an instance)")
	}
	group := req.Env
	if group == "" {
		group = req.Host
	}
	if err := a.inv.Split(r.Context(), name, req.Host, group); err != nil {
		return err
	}
	// The new account keeps the account name and takes the group: NAME@GROUP.
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": name + "@" + group})
	return nil
}

type mergeRequest struct {
	From string `json:"from"`
}

func (a *api) mergeAccount() handlerFunc {
	return change(func(r *http.Request, req mergeRequest) error {
		return a.inv.Merge(r.Context(), req.From, r.PathValue("name"))
	})
}

func (a *api) setOwner() handlerFunc {
	return change(func(r *http.Request, req inventory.Owner) error {
		return a.inv.SetOwner(r.Context(), r.PathValue("name"), req)
	})
}

func (a *api) unsetOwner(w http.ResponseWriter, r *http.Request) error {
	if err := a.inv.UnsetOwner(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *api) importOwners(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON)
	if err != nil {
		return err
	}
	apply, err := queryBool(r, "apply")
	if err != nil {
		return err
	}
	res, err := a.inv.ImportOwners(r.Context(), http.MaxBytesReader(w, r.Body, 4<<20), apply)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Errors > 0 {
		status = http.StatusUnprocessableEntity
	}
	if f == render.FormatJSON || status != http.StatusOK {
		if f != render.FormatJSON {
			// The CLI prints the error; the rows go in the message.
			var b strings.Builder
			fmt.Fprintf(&b, "owner import: %d of %d rows have errors, nothing written:", res.Errors, len(res.Rows))
			for _, row := range res.Rows {
				if row.Err != "" {
					fmt.Fprintf(&b, "\n  line %d: %s", row.Line, row.Err)
				}
			}
			return errorf(status, "%s", b.String()).withHint("fix the rows and run the import again")
		}
		writeJSON(w, status, res)
		return nil
	}
	return respond(w, f, res, func(w io.Writer) error { return render.ImportResult(w, res) })
}

func (a *api) addException(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Account        string `json:"account"`
		Reason         string `json:"reason"`
		Expires        string `json:"expires"`
		Owner          string `json:"owner"`
		CredentialType string `json:"credential_type"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var expires time.Time
	if req.Expires != "" {
		var err error
		expires, err = parseDate(req.Expires)
		if err != nil {
			return errorf(http.StatusBadRequest, "expires: %v", err)
		}
	}
	e, err := a.inv.AddException(r.Context(), inventory.Exception{
		Account: req.Account, Reason: req.Reason, Expires: expires, Owner: req.Owner, Credential: req.CredentialType,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// parseDate accepts YYYY-MM-DD (end of that day, UTC) or RFC 3339.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD or RFC 3339)", s)
}

func (a *api) listExceptions(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON, render.FormatCSV)
	if err != nil {
		return err
	}
	within, err := queryDuration(r, "expiring")
	if err != nil {
		return err
	}
	closed, err := queryBool(r, "closed")
	if err != nil {
		return err
	}
	list, err := a.inv.ListExceptions(r.Context(), inventory.ExceptionFilter{
		Account: r.URL.Query().Get("account"), ExpiringWithin: within, Closed: closed,
	})
	if err != nil {
		return err
	}
	return respond(w, f, nonNil(list), func(w io.Writer) error { return render.Exceptions(w, list, f, time.Now()) })
}

func (a *api) closeException(w http.ResponseWriter, r *http.Request) error {
	if err := a.inv.CloseException(r.Context(), r.PathValue("id"), r.URL.Query().Get("reason")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "closed"})
	return nil
}

func (a *api) listHosts(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON, render.FormatCSV)
	if err != nil {
		return err
	}
	hosts, err := a.inv.ListHosts(r.Context())
	if err != nil {
		return err
	}
	return respond(w, f, nonNil(hosts), func(w io.Writer) error { return render.Hosts(w, hosts, f) })
}

func (a *api) getHost(w http.ResponseWriter, r *http.Request) error {
	h, err := a.inv.GetHost(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (a *api) sharedCredentials(w http.ResponseWriter, r *http.Request) error {
	shared, err := a.inv.SharedCredentials(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(shared))
	return nil
}

func (a *api) createToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	plain, tok, err := a.tokens.Create(r.Context(), req.Name, access.Role(req.Role))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": plain, "name": tok.Name, "role": string(tok.Role), "id": tok.ID})
	return nil
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON)
	if err != nil {
		return err
	}
	toks, err := a.tokens.List(r.Context())
	if err != nil {
		return err
	}
	return respond(w, f, nonNil(toks), func(w io.Writer) error { return render.Tokens(w, toks) })
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.tokens.Revoke(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "revoked"})
	return nil
}

func (a *api) listAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, render.FormatTable, render.FormatJSON, "jsonl")
	if err != nil {
		return err
	}
	filter := audit.Filter{Account: r.URL.Query().Get("account")}
	if s := r.URL.Query().Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			filter.Since = t
		} else if d, err := parseDays(s); err == nil {
			filter.Since = time.Now().Add(-d)
		} else {
			return errorf(http.StatusBadRequest, "query parameter since: %q is neither RFC 3339 nor a duration such as 24h or 7d", s)
		}
	}
	events, err := audit.List(r.Context(), a.inv, filter)
	if err != nil {
		return err
	}
	if f == "jsonl" {
		w.Header().Set("Content-Type", "application/x-ndjson")
		return render.AuditJSONL(w, events)
	}
	return respond(w, f, nonNil(events), func(w io.Writer) error { return render.Audit(w, events) })
}

func (a *api) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	n, err := audit.Verify(r.Context(), a.inv)
	res := map[string]any{"ok": err == nil, "records": n}
	if err != nil {
		res["error"] = err.Error()
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
