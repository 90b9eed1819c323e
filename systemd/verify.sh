#!/bin/sh
# Checks systemd/amago.service and systemd/amago-worker.service with `systemd-analyze verify`. The unit's ExecStart names the
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
status=0
for unit in amago.service:serve amago-worker.service:worker; do
    name=${unit%%:*} command=${unit##*:}
    sed "s|^ExecStart=/usr/local/bin/amago |ExecStart=$binary |" "$here/$name" > "$work/$name"
    grep -q "^ExecStart=$binary $command$" "$work/$name" || { echo "ExecStart line not found in $name" >&2; exit 1; }
    echo "verifying $name with ExecStart=$binary $command"
    # The worker's site settings file is required by its unit; an empty stand-in lets it load.
    sed -i "s|^EnvironmentFile=/etc/default/amago-worker$|EnvironmentFile=-/etc/default/amago-worker|" "$work/$name"
    if output=$(systemd-analyze verify "$work/$name" 2>&1) && [ -z "$output" ]; then
        echo "systemd-analyze verify: OK (no findings)"
    else
        printf '%s\n' "$output"
        echo "systemd-analyze verify: FAILED"
        status=1
    fi
    systemd-analyze security --offline=yes "$work/$name" 2>/dev/null | tail -n 1 || true
done
exit $status
