package directory

import (
	"fmt"
	"strconv"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sprint(v any) string { return fmt.Sprintf("%+v", v) }
