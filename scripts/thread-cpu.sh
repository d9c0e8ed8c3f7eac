#!/usr/bin/env bash
# Where a simrun process's processor time goes, thread by thread: each thread's time on a core and its time ready
# but waiting for one, from the kernel's per-thread schedstat, read every 0.2 s while the process runs (a thread's
# last reading before it ends counts). The worker threads carry their names (simrun_gaps, simrun_records,
# simrun_requests, simrun_arrivals: spaces shown as _); the simulation's thread is the process's own. On a 2-core
# machine a `run`'s workers share a core, and the simulation thread waits whenever two of them are ready at once.
# Usage: scripts/thread-cpu.sh SIMRUN ARGUMENTS…
#   e.g. scripts/thread-cpu.sh .build/release/simrun run scenarios/stress-10m-256x7b.json
# Linux only (/proc). simrun's own output goes to standard error; the table to standard output.
set -euo pipefail
usage="usage: scripts/thread-cpu.sh SIMRUN ARGUMENTS…"
[ $# -ge 2 ] || { echo "thread-cpu.sh: expected a simrun executable and its arguments ($usage)" >&2; exit 2; }
[ -x "$1" ] || { echo "thread-cpu.sh: $1: no such executable (build it: swift build -c release)" >&2; exit 2; }
[ -r /proc/self/schedstat ] || { echo "thread-cpu.sh: no /proc/<pid>/schedstat here (Linux with schedstats only)" >&2; exit 2; }

"$@" >&2 &
pid=$!
declare -A last
while kill -0 "$pid" 2>/dev/null; do
  for task in /proc/"$pid"/task/*; do
    # "ns on a core, ns waiting, slices" and the thread's name; a thread may end between the two reads.
    stat=$(cat "$task/schedstat" 2>/dev/null) || continue
    name=$(cat "$task/comm" 2>/dev/null) || continue
    last[${task##*/}]="${name// /_} $stat"
  done
  sleep 0.2
done
status=0
wait "$pid" || status=$?
printf '%-8s %-18s %10s %12s\n' thread name on-core-s waiting-s
for tid in "${!last[@]}"; do echo "$tid ${last[$tid]}"; done | sort -n |
  awk '{ printf "%-8s %-18s %10.2f %12.2f\n", $1, $2, $3 / 1e9, $4 / 1e9 }'
exit "$status"
