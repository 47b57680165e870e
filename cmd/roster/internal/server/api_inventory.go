package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rosterhq/roster/inventory"
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
func render(w http.ResponseWriter, f string, v any, text func(io.Writer) error) error {
	var buf bytes.Buffer
	if f == inventory.FormatJSON {
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
		if f == inventory.FormatCSV {
			ct = "text/csv; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// table writes a header and rows with aligned columns.
func table(w io.Writer, header string, rows func(tw io.Writer)) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func (a *api) report(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON, inventory.FormatCSV, inventory.FormatMarkdown)
	if err != nil {
		return err
	}
	rep, err := a.inv.Report(r.Context(), time.Now())
	if err != nil {
		return err
	}
	return render(w, f, rep, func(w io.Writer) error { return rep.Write(w, f) })
}

func (a *api) listAccounts(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON, inventory.FormatCSV)
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
	if accts == nil {
		accts = []inventory.AccountSummary{}
	}
	return render(w, f, accts, func(w io.Writer) error { return inventory.WriteAccounts(w, accts, f) })
}

func (a *api) getAccount(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON)
	if err != nil {
		return err
	}
	acct, err := a.inv.GetAccount(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return render(w, f, acct, func(w io.Writer) error { return writeAccountDetail(w, acct) })
}

func writeAccountDetail(w io.Writer, acct *inventory.Account) error {
	owner := "none (roster owner set " + acct.Name + " OWNER)"
	if acct.Owner != nil {
		owner = acct.Owner.Name
		if acct.Owner.Contact != "" {
			owner += " <" + acct.Owner.Contact + ">"
		}
	}
	fmt.Fprintf(w, "service account %s (env %s)\n", acct.Key, acct.Env)
	fmt.Fprintf(w, "  owner:    %s\n", owner)
	fmt.Fprintf(w, "  tier:     %d: %s\n", acct.Tier, acct.TierReason)
	fmt.Fprintf(w, "  status:   %s\n", acct.Status)
	fmt.Fprintf(w, "  weakest:  %s\n", acct.Strength)
	if acct.SharedAcrossEnvs {
		fmt.Fprintf(w, "  shared across environments: split it with roster account split %s --host HOST\n", acct.Name)
	}
	if len(acct.Tags) > 0 {
		fmt.Fprintf(w, "  tags:     %s\n", strings.Join(acct.Tags, " "))
	}
	fmt.Fprintln(w, "\ninstances:")
	err := table(w, "  HOST\tUID\tCREDENTIALS\tUSED BY\tCERT\tLAST SEEN", func(tw io.Writer) {
		for _, in := range acct.Instances {
			var creds, used []string
			for _, c := range in.Data.Credentials {
				creds = append(creds, c.Type)
			}
			for _, u := range in.Data.UsedBy {
				used = append(used, u.Type+":"+u.Name)
			}
			cert := "-"
			if in.Cert != nil {
				cert = in.Cert.Serial + " until " + ts(in.Cert.NotAfter)
			}
			seen := ts(in.LastSeen)
			if in.GoneAt != nil {
				seen = "gone " + ts(*in.GoneAt)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\n", in.Host, in.Data.UID, strings.Join(creds, ","), strings.Join(used, ","), cert, seen)
		}
	})
	if err != nil {
		return err
	}
	if len(acct.Exceptions) > 0 {
		fmt.Fprintln(w, "\nexceptions:")
		return writeExceptionTable(w, acct.Exceptions)
	}
	return nil
}

func (a *api) accountHistory(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON)
	if err != nil {
		return err
	}
	events, err := a.inv.AccountHistory(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if events == nil {
		events = []inventory.Event{}
	}
	return render(w, f, events, func(w io.Writer) error {
		return table(w, "TIME\tEVENT\tHOST\tDETAIL\tBY", func(tw io.Writer) {
			for _, e := range events {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ts(e.Time), e.Kind, dash(e.Host), dash(e.Detail), dash(e.Actor))
			}
		})
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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

func (a *api) tagHost() handlerFunc {
	return change(func(r *http.Request, req tagsRequest) error {
		return a.inv.TagHost(r.Context(), r.PathValue("host"), req.Add, req.Remove)
	})
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

func (a *api) splitAccount(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Host string `json:"host"`
		As   string `json:"as"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Host == "" {
		return errorf(http.StatusBadRequest, "request body: host is required")
	}
	group := req.As
	if group == "" {
		group = req.Host
	}
	if err := a.inv.Split(r.Context(), r.PathValue("name"), req.Host, group); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": r.PathValue("name") + "@" + group})
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
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON)
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
	if f == inventory.FormatJSON || status != http.StatusOK {
		if f != inventory.FormatJSON {
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
	return render(w, f, res, func(w io.Writer) error {
		verb := "would set"
		if res.Applied {
			verb = "set"
		}
		err := table(w, "LINE\tACCOUNT\tOWNER\tCONTACT", func(tw io.Writer) {
			for _, row := range res.Rows {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", row.Line, row.Key, row.Owner, dash(row.Contact))
			}
		})
		fmt.Fprintf(w, "%s %d owners", verb, len(res.Rows))
		if !res.Applied {
			fmt.Fprint(w, " (dry run: add --apply to write)")
		}
		fmt.Fprintln(w)
		return err
	})
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
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON, inventory.FormatCSV)
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
	if list == nil {
		list = []inventory.Exception{}
	}
	return render(w, f, list, func(w io.Writer) error {
		if f == inventory.FormatCSV {
			return writeExceptionCSV(w, list)
		}
		return writeExceptionTable(w, list)
	})
}

func exceptionState(e inventory.Exception, now time.Time) string {
	switch {
	case e.Closed != nil:
		return "closed"
	case e.Expired(now):
		return "EXPIRED"
	case e.Expires.Sub(now) < inventory.ExpiringWindow:
		return "expiring"
	}
	return "valid"
}

func writeExceptionTable(w io.Writer, list []inventory.Exception) error {
	now := time.Now()
	return table(w, "ID\tACCOUNT\tCREDENTIAL\tOWNER\tEXPIRES\tSTATE\tREASON", func(tw io.Writer) {
		for _, e := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Account, dash(e.Credential), e.Owner,
				e.Expires.UTC().Format("2006-01-02"), exceptionState(e, now), e.Reason)
		}
	})
}

func writeExceptionCSV(w io.Writer, list []inventory.Exception) error {
	now := time.Now()
	var b bytes.Buffer
	b.WriteString("id,account,credential,owner,expires,state,reason\n")
	for _, e := range list {
		b.WriteString(csvRow(e.ID, e.Account, e.Credential, e.Owner, e.Expires.UTC().Format(time.RFC3339), exceptionState(e, now), e.Reason))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// csvRow quotes fields as RFC 4180 does.
func csvRow(fields ...string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\n\r") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		b.WriteString(f)
	}
	b.WriteByte('\n')
	return b.String()
}

func (a *api) closeException(w http.ResponseWriter, r *http.Request) error {
	if err := a.inv.CloseException(r.Context(), r.PathValue("id"), r.URL.Query().Get("reason")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "closed"})
	return nil
}

func (a *api) listHosts(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON, inventory.FormatCSV)
	if err != nil {
		return err
	}
	hosts, err := a.inv.ListHosts(r.Context())
	if err != nil {
		return err
	}
	if hosts == nil {
		hosts = []inventory.Host{}
	}
	return render(w, f, hosts, func(w io.Writer) error {
		if f == inventory.FormatCSV {
			var b strings.Builder
			b.WriteString("hostname,machine_id,os,env,tags,accounts,last_scan\n")
			for _, h := range hosts {
				b.WriteString(csvRow(h.Hostname, h.MachineID, h.OS.PrettyName, h.Env, strings.Join(h.Tags, " "), strconv.Itoa(h.Accounts), h.LastScan.UTC().Format(time.RFC3339)))
			}
			_, err := io.WriteString(w, b.String())
			return err
		}
		return table(w, "HOST\tOS\tENV\tTAGS\tACCOUNTS\tLAST SCAN", func(tw io.Writer) {
			for _, h := range hosts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", h.Hostname, dash(h.OS.PrettyName), h.Env, dash(strings.Join(h.Tags, ",")), h.Accounts, ts(h.LastScan))
			}
		})
	})
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
	if shared == nil {
		shared = []inventory.SharedCredential{}
	}
	writeJSON(w, http.StatusOK, shared)
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
	plain, tok, err := a.inv.CreateToken(r.Context(), req.Name, inventory.Role(req.Role))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": plain, "name": tok.Name, "role": string(tok.Role), "id": tok.ID})
	return nil
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON)
	if err != nil {
		return err
	}
	toks, err := a.inv.ListTokens(r.Context())
	if err != nil {
		return err
	}
	if toks == nil {
		toks = []inventory.Token{}
	}
	return render(w, f, toks, func(w io.Writer) error {
		return table(w, "NAME\tROLE\tCREATED\tBY\tREVOKED", func(tw io.Writer) {
			for _, t := range toks {
				revoked := "-"
				if t.RevokedAt != nil {
					revoked = ts(*t.RevokedAt)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, ts(t.CreatedAt), dash(t.CreatedBy), revoked)
			}
		})
	})
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.inv.RevokeToken(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "revoked"})
	return nil
}

func (a *api) listAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, inventory.FormatTable, inventory.FormatJSON, "jsonl")
	if err != nil {
		return err
	}
	filter := inventory.AuditFilter{Account: r.URL.Query().Get("account")}
	if s := r.URL.Query().Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			filter.Since = t
		} else if d, err := ParseDays(s); err == nil {
			filter.Since = time.Now().Add(-d)
		} else {
			return errorf(http.StatusBadRequest, "query parameter since: %q is neither RFC 3339 nor a duration such as 24h or 7d", s)
		}
	}
	events, err := a.inv.ListAudit(r.Context(), filter)
	if err != nil {
		return err
	}
	if events == nil {
		events = []inventory.AuditEvent{}
	}
	if f == "jsonl" {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, e := range events {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	return render(w, f, events, func(w io.Writer) error {
		return table(w, "SEQ\tTIME\tACTOR\tACTION\tOUTCOME\tHOST\tACCOUNT\tSERIAL\tREASON", func(tw io.Writer) {
			for _, e := range events {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), dash(e.Actor), e.Action,
					e.Outcome, dash(e.Host), dash(e.Account), dash(e.Serial), dash(e.Reason))
			}
		})
	})
}

func (a *api) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	events, err := a.inv.ListAudit(r.Context(), inventory.AuditFilter{})
	if err != nil {
		return err
	}
	res := map[string]any{"ok": true, "records": len(events)}
	if err := a.inv.VerifyAudit(r.Context()); err != nil {
		res["ok"] = false
		res["error"] = err.Error()
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
