# Sourced by the scripts that drive a live `amago serve` (crash-test.sh, shutdown-test.sh).
# In: ROOT (the checkout), tools (commands needed), SCRIPT_NAME (for messages, default the caller's).
# Out: AMAGO, the binary (AMAGO_BIN, else the newest .build*/release/amago); the tools,
# installed with apt-get when missing. Exits 2 when either cannot be had.
SCRIPT_NAME=${SCRIPT_NAME:-$(basename "$0" .sh)}
AMAGO=${AMAGO_BIN:-$(ls -t "$ROOT"/.build*/release/amago 2>/dev/null | head -1)}
missing=()
for tool in "${tools[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "$SCRIPT_NAME: installing ${missing[*]}" >&2
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; } \
        || { echo "$SCRIPT_NAME: needs ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 2; }
fi
[[ -x "$AMAGO" ]] || { echo "$SCRIPT_NAME: no amago binary (build with swift build -c release, or set AMAGO_BIN)" >&2; exit 2; }
