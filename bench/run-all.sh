#!/usr/bin/env bash
# Every benchmark, one after the other. Each prints its own table.
set -euo pipefail
cd "$(dirname "$0")"
for script in passthrough.sh gzip.sh zstd.sh grep.sh flow.sh exec.sh; do
    echo "== bench/$script"
    ./"$script"
    echo
done
