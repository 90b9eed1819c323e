#!/bin/sh
# Checks systemd/amago.service with `systemd-analyze verify`. The unit's ExecStart names the
# installed path, /usr/local/bin/amago; to make the check meaningful on a build machine, a copy
# pointing at a built binary is verified instead (which also checks that binary is executable).
#
#   systemd/verify.sh [path/to/amago]    # default: the newest .build*/release/amago
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-$(ls -t "$here"/../.build*/release/amago 2>/dev/null | head -n 1 || true)}
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
    echo "no amago binary found; build one (swift build -c release) or pass its path" >&2
    exit 2
fi
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (apt-get install systemd)" >&2; exit 2; }
binary=$(realpath "$binary")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|^ExecStart=/usr/local/bin/amago |ExecStart=$binary |" "$here/amago.service" > "$work/amago.service"
grep -q "^ExecStart=$binary serve$" "$work/amago.service" || { echo "ExecStart line not found in amago.service" >&2; exit 1; }
echo "verifying amago.service with ExecStart=$binary serve"
if output=$(systemd-analyze verify "$work/amago.service" 2>&1) && [ -z "$output" ]; then
    echo "systemd-analyze verify: OK (no findings)"
else
    printf '%s\n' "$output"
    echo "systemd-analyze verify: FAILED"
    exit 1
fi
systemd-analyze security --offline=yes "$work/amago.service" 2>/dev/null | tail -n 1 || true
