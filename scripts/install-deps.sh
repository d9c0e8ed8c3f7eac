#!/usr/bin/env bash
# Installs the Debian packages the build needs, only when one is missing.
set -euo pipefail
packages=(libgsl-dev libsqlite3-dev pkg-config libopenblas0-pthread)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Ray, for the distributed sweep driver (tools/ray_sweep.py) and its test.
if ! python3 -c "import ray" >/dev/null 2>&1; then
  echo "installing: ray (PyPI)" >&2
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "ray==2.60.0"
fi
# jsonschema, for tools/validate_scenarios.py and the test that checks scenarios with it.
if ! python3 -c "import jsonschema" >/dev/null 2>&1; then
  echo "installing: jsonschema (PyPI)" >&2
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "jsonschema==4.26.0"
fi
