package scan

import (
	"slices"
	"testing"
)

func TestSummarizeUsage(t *testing.T) {
	pg := Usage{Type: UsageProcess, Name: "postgres"}
	cases := []struct {
		desc string
		in   []Usage
		want []string
	}{
		{"none", nil, nil},
		{"one", []Usage{{Type: UsageSystemd, Name: "billing.service"}}, []string{"systemd:billing.service"}},
		{"repeats are counted", []Usage{pg, pg, pg, pg, pg}, []string{"process:postgres ×5"}},
		{"counts add up", []Usage{pg, {Type: UsageProcess, Name: "postgres", Count: 4}}, []string{"process:postgres ×5"}},
		{"first-seen order", []Usage{{Type: UsageCron, Name: "/etc/crontab:3"}, pg, {Type: UsageSystemd, Name: "postgresql.service"}, pg},
			[]string{"cron:/etc/crontab:3", "process:postgres ×2", "systemd:postgresql.service"}},
	}
	for _, tc := range cases {
		if got := SummarizeUsage(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s: SummarizeUsage = %q, want %q", tc.desc, got, tc.want)
		}
	}
	if (Usage{}).Uses() != 1 || (Usage{Count: 3}).Uses() != 3 {
		t.Error("Uses: want 1 for no count, else the count")
	}
}
