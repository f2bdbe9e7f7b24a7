#!/usr/bin/env bash
# Print a Python >= 3.12 interpreter command (plain python3 may be older; pyenv shims may hide 3.12).
set -euo pipefail
ok() { "$@" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }
for candidate in "${PYTHON:-}" python3.12 python3.13 python3; do
  [ -n "$candidate" ] || continue
  if ok "$candidate"; then command -v "$candidate"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])' | sort -V); do
    path="$(pyenv root)/versions/$version/bin/python3"
    if ok "$path"; then echo "$path"; exit 0; fi
  done
fi
echo "openclaw needs Python 3.12 or newer; install it (e.g. apt install python3.12) or set PYTHON=" >&2
exit 1
