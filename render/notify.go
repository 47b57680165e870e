package render

import (
	"io"

	"github.com/rosterhq/roster/internal/textout"
	"github.com/rosterhq/roster/notify"
)

// Outbox renders the webhook deliveries waiting or failed (`roster notify
// status`), with a closing line on how many webhooks are configured.
func Outbox(w io.Writer, list []notify.Delivery, webhooks int) error {
	ew := textout.New(w)
	if webhooks == 0 && len(list) == 0 {
		ew.Printf("no webhook is configured (roster server --notify-url URL)\n")
		return ew.Err()
	}
	err := textTable(ew, "DELIVERY\tEVENT\tKIND\tURL\tSTATE\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR", func(tw io.Writer) {
		for _, d := range list {
			textout.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.EventID, d.Kind, d.URL, d.State, d.Attempts,
				minute(d.NextAttempt), dash(textout.Fit(d.LastError, 60)))
		}
	})
	if err != nil {
		return err
	}
	what := "webhooks"
	if webhooks == 1 {
		what = "webhook"
	}
	ew.Printf("%d deliveries waiting or failed; %d %s configured\n", len(list), webhooks, what)
	return ew.Err()
}
