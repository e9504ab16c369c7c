#!/usr/bin/env bash
# `make build`: build the sdist and the wheel into dist/, then install each one in a fresh
# virtualenv and run `tap-centaur --about` from it.
#   scripts/build.sh VENV_PYTHON [BASE_PYTHON]
# VENV_PYTHON runs `python -m build` (installed there if missing); BASE_PYTHON (default
# python3) creates the throwaway virtualenvs the artifacts are installed into.
set -euo pipefail

venv_py=${1:?usage: build.sh VENV_PYTHON [BASE_PYTHON]}
base_py=${2:-python3}
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$venv_py" -c 'import build' 2>/dev/null || "$venv_py" -m pip install --quiet build
rm -rf dist
if ! "$venv_py" -m build --outdir dist . >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log"
    echo "build: python -m build failed" >&2
    exit 1
fi

shopt -s nullglob
wheels=(dist/*.whl)
sdists=(dist/*.tar.gz)
if [[ ${#wheels[@]} -ne 1 || ${#sdists[@]} -ne 1 ]]; then
    echo "build: expected one wheel and one sdist in dist/, found: $(ls dist)" >&2
    exit 1
fi
ls -l dist

# The wheel carries the package only; the sdist carries what its tests and demo need.
"$base_py" - "${wheels[0]}" "${sdists[0]}" <<'PY'
import sys, tarfile, zipfile

wheel, sdist = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(wheel).namelist()
tops = sorted({n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")})
if tops != ["tap_centaur"]:
    sys.exit(f"build: the wheel should contain only tap_centaur/, it has {tops}")
if not any(n.endswith("entry_points.txt") for n in names):
    sys.exit("build: the wheel has no entry_points.txt (console script tap-centaur)")
members = [m.split("/", 1)[-1] for m in tarfile.open(sdist).getnames()]
for needed in ("pyproject.toml", "README.md", "tap_centaur/__init__.py", "meltano.yml"):
    if needed not in members:
        sys.exit(f"build: the sdist lacks {needed}")
print(f"build: contents OK ({len(names)} files in the wheel, {len(members)} in the sdist)")
PY

for artifact in "${wheels[0]}" "${sdists[0]}"; do
    kind=$([[ $artifact == *.whl ]] && echo wheel || echo sdist)
    venv="$work/venv-$kind"
    "$base_py" -m venv "$venv"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$artifact" \
        >"$work/install-$kind.log" 2>&1; then
        tail -n 40 "$work/install-$kind.log"
        echo "build: installing the $kind failed" >&2
        exit 1
    fi
    echo "--- $kind: tap-centaur --about (fresh virtualenv; first lines) ---"
    (cd "$work" && "$venv/bin/tap-centaur" --about >"$work/about-$kind.txt")
    sed -n '1,6p' "$work/about-$kind.txt"
    version=$(cd "$work" && "$venv/bin/tap-centaur" --about --format=json |
        "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["version"])')
    expected=$(basename "${wheels[0]}" | cut -d- -f2)
    if [[ "$version" != "$expected" ]]; then
        echo "build: the installed $kind reports version $version, the wheel is $expected" >&2
        exit 1
    fi
    echo "build: $kind installs and runs (tap-centaur $version)"
done
