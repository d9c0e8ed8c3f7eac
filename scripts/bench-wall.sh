# Sourced by the scripts that time `bench` (ab-bench.sh, footprint-probe.sh), not run.
# bench_wall SCRIPT SIMRUN SCENARIO prints the simulation's wall seconds from `bench`'s last line
# ("… events in 2.55 s wall …"). A scenario simrun rejects stops the calling script with simrun's own message and
# status; a line without a wall time stops it with one line naming SCRIPT and status 1.
bench_wall() {
  local output status=0
  output=$("$2" bench "$3") || status=$?
  [ "$status" -eq 0 ] || exit "$status"
  [[ "$(tail -1 <<<"$output")" =~ \ in\ ([0-9.]+)\ s\ wall ]] || { echo "$1: $2: no wall time in bench's output" >&2; exit 1; }
  echo "${BASH_REMATCH[1]}"
}
