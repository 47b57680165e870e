package server

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

// Registered accounts (accounts no scan finds) and every account's
// purpose: inventory/registered.go.

// addAccount registers an account (POST /v1/accounts) and answers it as
// GET /v1/accounts lists it.
func (s *Server) addAccount(w http.ResponseWriter, r *http.Request) error {
	var req api.AccountAddRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, err := s.inv.AddRegistered(r.Context(), newAccount(req))
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusCreated, apiSummary(a))
	return nil
}

// removeAccount retires a registered account (POST
// /v1/accounts/{name}/remove).
func (s *Server) removeAccount(w http.ResponseWriter, r *http.Request) error {
	var req api.AccountRemoveRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.RemoveRegistered(r.Context(), r.PathValue("name"), req.Reason); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

// setPurpose sets or clears an account's purpose (PUT
// /v1/accounts/{name}/purpose).
func (s *Server) setPurpose(w http.ResponseWriter, r *http.Request) error {
	var req api.PurposeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.inv.SetPurpose(r.Context(), r.PathValue("name"), req.Purpose); err != nil {
		return err
	}
	return ok(w, r, api.StatusOK)
}

// importAccounts registers accounts from a CSV body (POST
// /v1/accounts/import); see importCSV.
func (s *Server) importAccounts(w http.ResponseWriter, r *http.Request) error {
	return s.importCSV(w, r, "account import", s.accountImport)
}

// accountImport is the registered-account import of POST
// /v1/accounts/import and the web page's /import.
func (s *Server) accountImport(ctx context.Context, csv io.Reader, apply bool) (imported, error) {
	res, err := s.inv.ImportRegistered(ctx, csv, apply)
	if err != nil {
		return imported{}, err
	}
	im := imported{head: []string{"name", "env", "system", "kind", "credential", "owner", "tier", "remedy", "purpose", "account"},
		body: apiRegisterResult(res), table: func(w io.Writer) error { return render.RegisterResult(w, res) }}
	for _, row := range res.Rows {
		tier := ""
		if row.Tier != 0 {
			tier = strconv.Itoa(int(row.Tier))
		}
		im.lines = append(im.lines, importLine{row.Line, []string{row.Name, row.Env, row.System, row.Kind, row.Credential, row.Owner, tier,
			row.Remedy, row.Purpose, row.Key}, row.Err})
	}
	return im, nil
}

func newAccount(req api.AccountAddRequest) inventory.NewAccount {
	return inventory.NewAccount{Name: req.Name, Env: req.Env, System: req.System, Kind: req.Kind, Credential: req.Credential,
		Owner: req.Owner, Tier: inventory.Tier(req.Tier), Remedy: req.Remedy, Purpose: req.Purpose}
}

func apiAddRequest(a inventory.NewAccount) api.AccountAddRequest {
	return api.AccountAddRequest{Name: a.Name, Env: a.Env, System: a.System, Kind: a.Kind, Credential: a.Credential,
		Owner: a.Owner, Tier: int(a.Tier), Remedy: a.Remedy, Purpose: a.Purpose}
}

func apiRegistration(g *inventory.Registration) *api.Registration {
	if g == nil {
		return nil
	}
	return &api.Registration{System: g.System, Kind: g.Kind, Credential: g.Credential.Name(), Remedy: g.Remedy}
}

func apiRegisterResult(r *inventory.RegisterResult) *api.AccountImportResult {
	return &api.AccountImportResult{Errors: r.Errors, Applied: r.Applied,
		Rows: mapSlice(r.Rows, func(row inventory.RegisterRow) api.AccountImportRow {
			return api.AccountImportRow{Line: row.Line, AccountAddRequest: apiAddRequest(row.NewAccount), Key: row.Key, Err: row.Err}
		})}
}
