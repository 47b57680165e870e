package discovery

import (
	"fmt"

	"github.com/rosterhq/roster/scan"
)

// warnings collects what the scanner could not read or parse. Messages
// name the file and line and what was wrong; they never quote secret
// material, so a caller must not pass a secret value into a message.
type warnings struct {
	list []scan.Warning
}

func (w *warnings) add(file string, line int, format string, args ...any) {
	w.list = append(w.list, scan.Warning{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}
