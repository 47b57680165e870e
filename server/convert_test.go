package server

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/access"
	"github.com/rosterhq/roster/audit"
	"github.com/rosterhq/roster/inventory"
	"github.com/rosterhq/roster/issuer"
)

// fill sets every exported field of v (a pointer) to a value that is not
// zero, recursively: one element per slice and map.
func fill(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte("bytes"))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), depth+1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}

func filled[T any]() T {
	var v T
	fill(reflect.ValueOf(&v), 0)
	return v
}

// TestConvertKeepsEveryField: every field of the inventory's and the
// issuer's values reaches the wire, under the same name and in the same
// encoding as the inventory's own JSON. A field added to an inventory type
// without its api counterpart fails here.
func TestConvertKeepsEveryField(t *testing.T) {
	same := func(name string, want, got any) {
		t.Helper()
		w, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		g, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(w) != string(g) {
			t.Errorf("%s:\n inventory %s\n       api %s", name, w, g)
		}
	}
	acct := filled[inventory.Account]()
	apiAcct, err := apiAccount(&acct)
	if err != nil {
		t.Fatal(err)
	}
	same("Account", acct, apiAcct)
	host := filled[inventory.HostDetail]()
	apiHD, err := apiHostDetail(&host)
	if err != nil {
		t.Fatal(err)
	}
	same("HostDetail", host, apiHD)
	rep := filled[inventory.Report]()
	same("Report", rep, apiReport(&rep))
	same("Token", filled[access.Token](), apiToken(filled[access.Token]()))
	same("AuditEvent", filled[audit.Event](), apiAuditEvent(filled[audit.Event]()))
	same("Event", filled[inventory.Event](), apiEvent(filled[inventory.Event]()))
	ir := filled[inventory.ImportResult]()
	same("ImportResult", ir, apiImportResult(&ir))
	same("IngestResult", filled[inventory.IngestResult](), apiScanResult(filled[inventory.IngestResult]()))
	tk := filled[issuer.EnrollTicket]()
	same("Enrollment", struct {
		issuer.EnrollTicket
		Command string `json:"command,omitempty"`
	}{tk, "cmd"}, apiEnrollment(tk, "cmd"))
	same("SharedCredential", filled[inventory.SharedCredential](), apiShared(filled[inventory.SharedCredential]()))
	ph := filled[inventory.PlanHistory]()
	same("PlanHistory", ph, apiPlanHistory(&ph))
	rr := filled[inventory.RegisterResult]()
	same("RegisterResult", rr, apiRegisterResult(&rr))

	same("Phase", filled[inventory.Phase](), apiPhase(filled[inventory.Phase]()))
	pl := filled[inventory.Plan]()
	same("Plan", pl, apiPlan(&pl))
	same("empty Plan", inventory.Plan{}, apiPlan(&inventory.Plan{}))

	same("SSHGrant", filled[inventory.SSHGrant](), apiSSHGrant(filled[inventory.SSHGrant]()))
	same("SSHPolicy", filled[inventory.SSHPolicy](), apiSSHPolicy(filled[inventory.SSHPolicy]()))
	mig := filled[inventory.SSHMigration]()
	same("SSHMigration", mig, apiSSHMigration(&mig))

	// nil lists stay null, as the inventory encodes them.
	same("empty Report", inventory.Report{}, apiReport(&inventory.Report{}))
	empty, _ := apiAccount(&inventory.Account{})
	same("empty Account", inventory.Account{}, empty)
}
