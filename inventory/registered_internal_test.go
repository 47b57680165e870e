package inventory

import (
	"encoding/json"
	"testing"
	"time"
)

// TestRecordsBeforeRegistration: service account and instance records
// written before registered accounts and purposes existed read as before:
// not registered, no purpose, the same level and status.
func TestRecordsBeforeRegistration(t *testing.T) {
	const old = `{"key":"billing@default","name":"billing","group":"default","first_seen":"2026-03-01T12:00:00Z",` +
		`"last_seen":"2026-03-01T12:00:00Z","sum":{"live":1,"where":{"static_password":"password at /etc/shadow:2 on app1"},"creds":{"password":1}}}`
	var r saRecord
	if err := json.Unmarshal([]byte(old), &r); err != nil {
		t.Fatal(err)
	}
	v := &view{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := v.summarize(&r)
	if s.Registered != nil || s.Purpose != "" || s.PurposeFrom != "" || s.Strength != StrengthStaticPassword ||
		s.Status != StatusStatic || s.Static != 1 || s.Tier != TierRest || !r.present() {
		t.Errorf("old record reads as %+v", s)
	}
	var f facts
	if err := json.Unmarshal([]byte(`{"creds":{"password":1}}`), &f); err != nil || f.Purpose != (purposeNote{}) {
		t.Errorf("old facts: %+v, %v", f, err)
	}
	// And an unregistered record writes no new fields.
	b, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"registered", "purpose"} {
		if _, ok := m[k]; ok {
			t.Errorf("record written with %q: %s", k, b)
		}
	}
}
