#!/usr/bin/env bash
# Builds the request-parser fuzz target (libFuzzer + AddressSanitizer) and runs it.
#   Fuzz/run.sh [seconds]     default 60; the corpus grows in Fuzz/corpus (not committed)
# Crash inputs are written to Fuzz/crash-*; re-run one with: Fuzz/.build/fuzz-parser <file>
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
src=../Sources/HTTPCore
mkdir -p .build corpus
swiftc -parse-as-library -sanitize=fuzzer,address -O -module-name HTTPCoreFuzz \
    main.swift \
    "$src/RequestParser.swift" "$src/RequestParser+Chunked.swift" "$src/HeadParser.swift" "$src/HTTPRequest.swift" "$src/HTTPHeaders.swift" \
    "$src/HTTPError.swift" "$src/HTTPStatus.swift" "$src/Query.swift" "$src/ServerConfiguration.swift" \
    "$src/Platform.swift" \
    -o .build/fuzz-parser
# Swift's own crash backtracer trips AddressSanitizer; libFuzzer reports crashes itself.
export SWIFT_BACKTRACE=enable=no
exec ./.build/fuzz-parser corpus seeds -dict=http.dict -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -max_total_time="$seconds" -print_final_stats=1
