package discovery

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/scan"
)

// TestGECOSAndUnitDescription: the report carries the passwd GECOS field
// and the Description= of each unit that runs as the account (with
// drop-ins and specifiers applied), secrets in them redacted, and both
// still decode as a valid report.
func TestGECOSAndUnitDescription(t *testing.T) {
	const planted = "planted-gecos-secret-xyz"
	dir := buildRoot(t, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\n" +
			"billing:x:990:990:Billing batch,,,:/var/lib/billing:/usr/sbin/nologin\n" +
			"etl:x:991:991::/var/lib/etl:/usr/sbin/nologin\n" +
			"odd:x:992:992:cron --password=" + planted + ":/var/lib/odd:/usr/sbin/nologin\n",
		"etc/hostname":                       "app1\n",
		"etc/group":                          "root:x:0:\nbilling:x:990:\netl:x:991:\nodd:x:992:\n",
		"etc/systemd/system/billing.service": "[Unit]\nDescription=Billing run\n[Service]\nUser=billing\nExecStart=/usr/bin/billing\n",
		"etc/systemd/system/etl@.service":    "[Unit]\nDescription=ETL load for %i\n[Service]\nUser=etl\nExecStart=/usr/bin/etl %i\n",
		"etc/systemd/system/multi-user.target.wants/etl@sales.service": "-> /etc/systemd/system/etl@.service",
		"etc/systemd/system/etl@.service.d/desc.conf":                  "[Unit]\nDescription=Nightly ETL load of %i\n",
	}).Dir()
	rep := scanRoot(t, Options{Root: dir})
	if a := findAccount(t, rep, "billing"); a.GECOS != "Billing batch,,," || len(a.UsedBy) != 1 || a.UsedBy[0].Description != "Billing run" {
		t.Errorf("billing: gecos %q, used by %+v", a.GECOS, a.UsedBy)
	}
	etl := findAccount(t, rep, "etl")
	if etl.GECOS != "" || len(etl.UsedBy) != 1 || etl.UsedBy[0].Description != "Nightly ETL load of sales" {
		t.Errorf("etl: gecos %q, used by %+v", etl.GECOS, etl.UsedBy)
	}
	if odd := findAccount(t, rep, "odd"); strings.Contains(odd.GECOS, planted) || !strings.Contains(odd.GECOS, "[REDACTED]") {
		t.Errorf("odd: gecos %q, want the secret redacted", odd.GECOS)
	}
	assertNoSecrets(t, []string{planted}, rep)
	if err := scan.Validate(rep); err != nil {
		t.Errorf("report with gecos and descriptions does not validate: %v", err)
	}
}
