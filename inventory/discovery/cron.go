package discovery

// cronJob is one crontab entry.
type cronJob struct{ User, Source, Schedule, Command string } // Source "file:line"

// readCron reads the system and per-user crontabs of the root.
func readCron(r *Root, w *warnings) []cronJob { return nil }
