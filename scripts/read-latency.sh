#!/usr/bin/env bash
# How long a read waits on this machine, by how much data is being read: a pointer chase over a random cycle of
# 64-byte lines (each read's address comes from the one before, so nothing overlaps them), 20 M reads per size.
# Prints nanoseconds per read for each working-set size. It explains where the cost per request grows with cluster
# size (README, Speed): the running requests' objects take about 21 MB at 1,024 replicas.
# Usage: scripts/read-latency.sh [SIZES-KIB...]   (default: 32 256 768 2048 8192 24576 65536 262144)
# Needs a C compiler (cc or clang; the Swift toolchain brings clang). Writes only in a temporary folder it removes.
set -euo pipefail
sizes=${*:-32 256 768 2048 8192 24576 65536 262144}
for s in $sizes; do
  [[ "$s" =~ ^[1-9][0-9]{0,7}$ ]] || { echo "read-latency.sh: SIZES-KIB: expected whole numbers from 1 to 99999999, got '$s'" >&2; exit 2; }
done
compiler=$(command -v cc || command -v clang || true)
[ -n "$compiler" ] || { echo "read-latency.sh: no C compiler (cc or clang) on the PATH" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/chase.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
  for (int a = 1; a < argc; a++) {
    size_t n = (size_t)atol(argv[a]) * 1024 / 64;
    if (n < 2) n = 2;
    size_t *order = malloc(n * sizeof *order);
    char *lines = aligned_alloc(64, n * 64);
    if (!order || !lines) { fprintf(stderr, "read-latency.sh: %s KiB: out of memory\n", argv[a]); return 1; }
    srand(1);
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = n - 1; i > 0; i--) {  /* a random order (Fisher–Yates), every line once */
      size_t j = (((size_t)rand() << 16) ^ (size_t)rand()) % (i + 1), t = order[i];
      order[i] = order[j]; order[j] = t;
    }
    for (size_t i = 0; i < n; i++) *(char **)(lines + order[i] * 64) = lines + order[(i + 1) % n] * 64;
    char *p = lines + order[0] * 64;
    for (size_t i = 0; i < n; i++) p = *(char **)p;  /* one lap to warm up */
    const long reads = 20000000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < reads; i++) p = *(char **)p;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / reads;
    printf("%9s KiB: %6.1f ns per dependent read%s\n", argv[a], ns, p ? "" : " ");  /* p used: not optimised away */
    free(order); free(lines);
  }
  return 0;
}
C
"$compiler" -O2 -o "$dir/chase" "$dir/chase.c"
# shellcheck disable=SC2086
"$dir/chase" $sizes
