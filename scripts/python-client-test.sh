#!/usr/bin/env bash
# The Python client's tests (clients/python/tests) against a release build of amago.
#   scripts/python-client-test.sh [pytest arguments]
# Installs the client with its gym extra and pytest into .build/python-venv (once; again when
# clients/python/pyproject.toml changes). Builds no Swift: run `swift build -c release` first, or
# point AMAGO_BIN at an amago binary.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/python-venv
stamp="$venv/.amago-client-installed"
want="$(sha256sum clients/python/pyproject.toml | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ]; then
    mkdir -p .build
    python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] ||
   ! "$venv/bin/python" -c 'import amago_client.gym, pytest' 2>/dev/null; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e 'clients/python[gym]' pytest
    echo "$want" >"$stamp"
fi

if [ -z "${AMAGO_BIN:-}" ]; then
    AMAGO_BIN="$PWD/.build/release/amago"
    [ -x "$AMAGO_BIN" ] || AMAGO_BIN="$(swift build -c release --show-bin-path)/amago"
fi
if [ ! -x "$AMAGO_BIN" ]; then
    echo "python-client-test: no amago binary at $AMAGO_BIN (run swift build -c release first)" >&2
    exit 1
fi
export AMAGO_BIN

exec "$venv/bin/python" -m pytest clients/python/tests -q -s "$@"
