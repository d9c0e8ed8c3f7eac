#!/usr/bin/env bash
# Which memory the time added at large cluster sizes waits on. Builds probe variants of the committed HEAD, each
# of which makes one kind of state larger without changing anything the simulation computes, and times them with
# `bench` on one scenario, alternated (round r starts at the r-th variant), so that all meet the same hour's load:
#   base             HEAD as it is;
#   request+BYTES    each request object carries BYTES more, never read (its malloc chunk grows with it);
#   instance+LINES   each replica reads and writes LINES more cache lines of its own memory at every step's end.
# The padding and the lines touched feed nothing, so every output is the same as base's. Prints each variant's
# simulation wall times (as `bench` reports them), least and median, and the median over the rounds of its time over
# the first variant's in the same round, in the order given.
# Usage: scripts/footprint-probe.sh SCENARIO ROUNDS VARIANT...
#   e.g. scripts/footprint-probe.sh big.json 4 base request+64 request+256 instance+8
# Builds in a temporary folder it removes: a release build of HEAD, then one incremental build per variant
# (minutes in all). Needs git and swift; writes nothing else.
set -euo pipefail
usage="usage: scripts/footprint-probe.sh SCENARIO ROUNDS VARIANT..."
[ $# -ge 3 ] || { echo "footprint-probe.sh: expected a scenario, ROUNDS and at least one VARIANT, got $# arguments ($usage)" >&2; exit 2; }
scenario=$1 rounds=$2
shift 2
variants=("$@")
[ -f "$scenario" ] || { echo "footprint-probe.sh: $scenario: no such scenario file" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "footprint-probe.sh: ROUNDS: expected a whole number from 1 to 999, got '$rounds'" >&2; exit 2; }
for v in "${variants[@]}"; do
  ok=0
  if [ "$v" = base ]; then ok=1
  elif [[ "$v" =~ ^request\+([1-9][0-9]{0,3})$ ]]; then (( BASH_REMATCH[1] % 8 == 0 && BASH_REMATCH[1] <= 4096 )) && ok=1
  elif [[ "$v" =~ ^instance\+([1-9][0-9]{0,2})$ ]]; then (( BASH_REMATCH[1] <= 256 )) && ok=1
  fi
  [ "$ok" = 1 ] || { echo "footprint-probe.sh: VARIANT: expected base, request+BYTES (a multiple of 8 up to 4096) or instance+LINES (1 to 256), got '$v'" >&2; exit 2; }
done
command -v swift >/dev/null || { echo "footprint-probe.sh: no swift on the PATH" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
git -C "$root" rev-parse -q --verify HEAD >/dev/null || { echo "footprint-probe.sh: $root: not a git checkout with a commit to build" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/src" "$dir/pristine" "$dir/bin"
git -C "$root" archive HEAD | tar -x -C "$dir/src"
cp "$dir/src/Sources/Serving/ServingRequest.swift" "$dir/src/Sources/Serving/Instance.swift" "$dir/pristine/"

# Applies variant $1 to the copy of HEAD (after restoring its two files).
patch_variant() {
  cp "$dir/pristine/ServingRequest.swift" "$dir/pristine/Instance.swift" "$dir/src/Sources/Serving/"
  python3 - "$1" "$dir/src/Sources/Serving" <<'PY'
import sys
variant, folder = sys.argv[1], sys.argv[2]

def insert(name, anchor, text):
    path = f"{folder}/{name}"
    source = open(path).read()
    if source.count(anchor) != 1:
        sys.exit(f"footprint-probe.sh: HEAD's Sources/Serving/{name} no longer has {anchor.strip()!r} once: update the probe")
    open(path, "w").write(source.replace(anchor, anchor + text))

if variant.startswith("request+"):
    words = int(variant[len("request+"):]) // 8
    insert("ServingRequest.swift", "    public let arrival: SimTime\n",
           "    private var footprintProbe = (" + ", ".join(["UInt64(0)"] * words) + ")\n")
elif variant.startswith("instance+"):
    lines = int(variant[len("instance+"):])
    insert("Instance.swift", "    private var stretch = DecodeStretch()\n",
           "    private var footprintProbe = OwnedValues<UInt64>()\n")
    insert("Instance.swift", "    func completeIteration(metrics: MetricsRecorder, at now: SimTime) -> Bool {\n",
           f"        if footprintProbe.count == 0 {{ footprintProbe.resize(to: 8 * {lines}, filling: 0) }}\n"
           f"        let probe = footprintProbe.buffer\n"
           f"        for line in 0..<{lines} {{ probe[8 &* line] &+= 1 }}\n")
PY
}

n=${#variants[@]}
for ((k = 0; k < n; k++)); do
  patch_variant "${variants[k]}"
  swift build -c release --package-path "$dir/src" --scratch-path "$dir/build" > "$dir/build.log" 2>&1 \
    || { tail -20 "$dir/build.log" >&2; echo "footprint-probe.sh: ${variants[k]}: the build failed" >&2; exit 1; }
  cp "$dir/build/release/simrun" "$dir/bin/$k"
  # A scenario simrun rejects stops the probe at once, with simrun's own message and status.
  if [ "$k" = 0 ]; then
    "$dir/bin/0" run "$scenario" --set workload.num_requests=10 --out "$dir/check" > /dev/null || exit $?
  fi
done

source "$root/scripts/bench-wall.sh"

declare -a times
for ((r = 0; r < rounds; r++)); do
  for ((j = 0; j < n; j++)); do
    k=$(( (j + r) % n ))
    times[k]="${times[k]:-} $(bench_wall footprint-probe.sh "$dir/bin/$k" "$scenario")"
  done
done
python3 - "${variants[@]}" -- "${times[@]}" <<'PY'
import statistics, sys
cut = sys.argv.index("--")
names, runs = sys.argv[1:cut], [[float(t) for t in r.split()] for r in sys.argv[cut + 1:]]
for name, times in zip(names, runs):
    shown = " ".join(f"{t:.2f}" for t in times)
    # Each round's time over the first variant's in the same round: steadier than either when the hour drifts.
    ratio = statistics.median(t / f for t, f in zip(times, runs[0]))
    print(f"{name}: least {min(times):.2f} s, median {statistics.median(times):.2f} s, median ratio to {names[0]} "
          f"{ratio:.3f} ({shown})")
PY
