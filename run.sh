#!/usr/bin/env bash
# One entry point for newcomers and CI.
#
#   ./run.sh demo   set up .venv if needed, then run `autoscope demo`
#   ./run.sh test   set up .venv if needed, then ruff + the whole test suite
#   ./run.sh setup  only set up .venv
#   ./run.sh ARGS   set up, then run `autoscope ARGS`
#
# The environment lives in .venv (override with AUTOSCOPE_VENV). torch is the
# CPU build: a wheel already on the machine is used when present, otherwise the
# CPU-only index of the PyTorch project. GPU use is opt-in at run time.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${AUTOSCOPE_VENV:-.venv}"
TORCH_VERSION="${AUTOSCOPE_TORCH_VERSION:-2.13.0}"

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3.10 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "run.sh: no Python >= 3.10 found; install python3.11 or set PYTHON=/path/to/python" >&2
  return 1
}

# pip configured with local mirrors prints one warning per missing mirror entry; keep real errors.
quiet_pip() { "$@" 2> >(grep -v "^WARNING: Location .* is ignored" >&2); }

setup() {
  local stamp="$VENV/.autoscope-installed"
  local want
  want="$(cat pyproject.toml run.sh | cksum)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "run.sh: creating $VENV" >&2
    "$(find_python)" -m venv "$VENV"
  fi
  local pip=(quiet_pip "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
  if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "run.sh: installing torch $TORCH_VERSION (CPU build)" >&2
    # Ask pip which build it would pick (metadata only): a +cpu wheel the machine
    # already offers is used as it is; otherwise take the CPU-only index rather
    # than PyPI's multi-GB CUDA build.
    local planned
    planned=$("$VENV/bin/python" -m pip install --dry-run --quiet --no-deps --report - \
      "torch==$TORCH_VERSION" 2>/dev/null | "$VENV/bin/python" -c \
      'import json, sys; print(json.load(sys.stdin)["install"][0]["metadata"]["version"])' \
      2>/dev/null || true)
    case "$planned" in
      *+cpu) "${pip[@]}" "torch==$TORCH_VERSION" ;;
      *) "${pip[@]}" "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu ;;
    esac
  fi
  echo "run.sh: installing autoscope and its dependencies into $VENV" >&2
  "${pip[@]}" -e ".[io,bench,test]"
  echo "$want" > "$stamp"
}

cmd="${1:-demo}"
case "$cmd" in
  setup) setup ;;
  test)
    shift || true
    setup
    "$VENV/bin/ruff" check src tests benchmarks examples
    set +e
    "$VENV/bin/python" -m pytest "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then echo "run.sh: pytest ran no test: failing" >&2; exit 1; fi
    exit "$rc"
    ;;
  *)
    setup
    exec "$VENV/bin/autoscope" "$@"
    ;;
esac
