package server

import (
	"context"
	"time"
)

// sweepInterval is how often the server runs its sweep jobs: expired
// exceptions and lapsed certificates written to history, and whatever else
// falls due with the clock rather than with a request.
const sweepInterval = 10 * time.Minute

// sweepJob is one thing the sweep does. It returns how many records it
// wrote (for the log) and an error that the sweep logs before going on
// with the next job.
type sweepJob struct {
	name string
	run  func(ctx context.Context) (int, error)
}

// sweepJobs are the sweep's jobs, in the order they run.
func (s *Server) sweepJobs() []sweepJob {
	return []sweepJob{
		{name: "expired exceptions and lapsed certificates", run: s.inv.Sweep},
		{name: "daily plan snapshot", run: s.inv.SnapshotToday},
		{name: "vendor exception lapses", run: s.iss.SweepVendorLapses},
		{name: "webhook notices", run: s.queueNotices},
		{name: "ssh krl: expired certificates out", run: s.ca.SweepSSHKRL},
	}
}

// Sweep runs every sweep job once. The server runs it at start and every
// sweepInterval; tests call it after moving the clock.
func (s *Server) Sweep(ctx context.Context) {
	for _, j := range s.sweepJobs() {
		n, err := j.run(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("sweep failed", "job", j.name, "error", err)
		case n > 0:
			s.log.Info("sweep", "job", j.name, "records", n)
		}
	}
}

func (s *Server) sweepLoop(ctx context.Context) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
