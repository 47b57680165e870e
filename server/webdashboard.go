package server

import (
	"net/http"

	"github.com/rosterhq/roster/inventory"
)

// dashboardData is the dashboard's data: the inventory's report, the same
// one GET /v1/report and roster report give.
type dashboardData struct {
	Report *inventory.Report
}

// dashboardPage answers GET /: the first thing an operator sees.
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.operatorReport(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "dashboard", dashboardData{Report: rep})
}
