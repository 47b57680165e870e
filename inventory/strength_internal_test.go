package inventory

import "testing"

// TestBelowTarget counts the accounts of a distribution below a target;
// no credential at all is not below any target.
func TestBelowTarget(t *testing.T) {
	dist := map[string]int{"shared_secret": 2, "static_ssh_key": 3, "short_lived_cert": 4, "hardware_bound": 1, "none": 5}
	for _, tc := range []struct {
		target Strength
		want   int
	}{
		{StrengthSharedSecret, 0},
		{StrengthStaticSSHKey, 2},
		{StrengthSecretFile, 5},
		{StrengthShortLivedCert, 5},
		{StrengthHardwareBound, 9},
		{StrengthNone, 10},
	} {
		if got := belowTarget(dist, tc.target); got != tc.want {
			t.Errorf("below %s: %d, want %d", tc.target.Name(), got, tc.want)
		}
	}
}
