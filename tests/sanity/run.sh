#!/usr/bin/env bash
# `ansible-test sanity` for the collection: make sanity, and make test through it.
#
# ansible-test resolves symlinks, so the .collections link to the checkout does not satisfy its
# need for an ansible_collections/<namespace>/<name> parent directory. The tests therefore run on a
# copy in a temporary directory outside the checkout (inside it, ansible-test would ask git and
# find the copy ignored): every file git tracks, as it is in the working tree (uncommitted edits
# included), plus new files that git does not ignore.
#
# ansible-test keeps its per-test virtual environments under ~/.ansible/test. Its HOME here is a
# directory of this project's own in the user's cache (kept across clones, so only the first run on
# a machine builds them), where it also finds the get-pip stand-in (offline_get_pip.py) in place of
# the bootstrap script it would otherwise download. Extra arguments go to ansible-test, e.g.
# `tests/sanity/run.sh --test pylint`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SANITY_VENV_BIN:-$repo/.venv/bin}
home=${SANITY_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/tonsurance-deploy/ansible-test}
tree=$(mktemp -d "${TMPDIR:-/tmp}/tonsurance-sanity.XXXXXX")
trap 'rm -rf "$tree"' EXIT
copy=$tree/ansible_collections/tonsurance/deploy
# The pip release ansible-core 2.19's ansible-test bootstraps; should an upgrade change it,
# ansible-test says "Downloading pip <version> bootstrap script" and this name needs the new version.
get_pip=$home/.ansible/test/cache/get_pip_24_2.py

mkdir -p "$copy" "$(dirname "$get_pip")"
cp "$repo/tests/sanity/offline_get_pip.py" "$get_pip"

cd "$repo"
# Every ignore line must carry its reason; ansible-test would take a bare one. The files are optional.
shopt -s nullglob
ignore_files=(tests/sanity/ignore-*.txt)
shopt -u nullglob
"$bin/python" tests/sanity/check_ignores.py "${ignore_files[@]}"

git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' path; do [ -f "$path" ] && printf '%s\0' "$path"; done \
  | tar --create --null --files-from=- --file=- \
  | tar --extract --file=- --directory="$copy"

cd "$copy"
HOME=$home PATH=$bin:$PATH "$bin/ansible-test" sanity --local --python 3.11 --color no "$@"
