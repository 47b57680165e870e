package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStat is what fleetsim reads of /proc/PID/stat.
type procStat struct {
	ppid     int
	cpu      time.Duration // utime + stime
	children time.Duration // cutime + cstime: the CPU of its children that have exited and been waited for
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU is the user and system CPU time process pid has used.
func procCPU(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	return st.cpu, err
}

// treeCPU is the CPU time of process pid and all its children, living
// and exited: a PostgreSQL server's postmaster and its backends.
func treeCPU(pid int) (time.Duration, error) {
	root, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	total := root.cpu + root.children
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		child, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if err != nil || child == pid {
			continue
		}
		if st, err := readStat(child); err == nil && st.ppid == pid {
			total += st.cpu + st.children
		}
	}
	return total, nil
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("read CPU time: %w", err)
	}
	return parseStat(string(b))
}

// parseStat reads the text of /proc/PID/stat. The command name (field 2)
// may hold spaces and parentheses, so fields are counted after its last
// ')': state is field 3, ppid 4, utime 14, stime 15, cutime 16, cstime 17.
func parseStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, errors.New("read CPU time: /proc/PID/stat has no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return procStat{}, errors.New("read CPU time: /proc/PID/stat is short")
	}
	var v [5]int64
	for k, field := range []int{1, 11, 12, 13, 14} { // ppid, utime, stime, cutime, cstime
		n, err := strconv.ParseInt(f[field], 10, 64)
		if err != nil || n < 0 {
			return procStat{}, fmt.Errorf("read CPU time: field %d of /proc/PID/stat is not a number", field+3)
		}
		v[k] = n
	}
	return procStat{ppid: int(v[0]), cpu: time.Duration(v[1]+v[2]) * clockTick,
		children: time.Duration(v[3]+v[4]) * clockTick}, nil
}

// selfCPU is the user and system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
