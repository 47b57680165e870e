package server

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/rosterhq/roster/api"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/render"
)

func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	f, err := format(r, api.FormatTable, api.FormatJSON, api.FormatCSV, api.FormatMarkdown)
	if err != nil {
		return err
	}
	rep, err := s.operatorReport(r.Context(), s.inv.Now())
	if err != nil {
		return err
	}
	return respond(w, r, f, apiReport(rep), func(w io.Writer) error { return render.Report(w, rep, f) })
}

func (s *Server) sharedCredentials(w http.ResponseWriter, r *http.Request) error {
	shared, err := s.inv.SharedCredentials(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, nonNil(mapSlice(shared, apiShared)))
	return nil
}

// operatorReport is the report that GET /v1/report, roster report and the
// dashboard show: the inventory's, with roster's own operators in tier 1.
func (s *Server) operatorReport(ctx context.Context, now time.Time) (*inventory.Report, error) {
	rep, err := s.inv.Report(ctx, now)
	if err != nil {
		return nil, err
	}
	ops, err := s.operators(ctx)
	if err != nil {
		return nil, err
	}
	rep.AddOperators(ops)
	return rep, nil
}

// operators are roster's own operators for the report: every unrevoked
// token, with its factor from its passkeys (access knows tokens and
// passkeys, inventory neither).
func (s *Server) operators(ctx context.Context) ([]inventory.Operator, error) {
	toks, err := s.tokens.List(ctx)
	if err != nil {
		return nil, err
	}
	pks, err := s.passkeys.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var ops []inventory.Operator
	for _, t := range toks {
		if t.RevokedAt != nil {
			continue
		}
		n, last := 0, (*time.Time)(nil)
		for _, p := range pks {
			if p.TokenID != t.ID || !p.Active() {
				continue
			}
			n++
			if p.LastUsedAt != nil && (last == nil || p.LastUsedAt.After(*last)) {
				last = p.LastUsedAt
			}
		}
		ops = append(ops, inventory.NewOperator(t.Name, string(t.Role), n, last))
	}
	return ops, nil
}
