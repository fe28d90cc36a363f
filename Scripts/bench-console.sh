#!/usr/bin/env bash
# Console and API load benchmark: wrk (Debian) on loopback against the demo database, 64
# connections, the Overview and Inventory pages and two API endpoints, DURATION seconds each
# (default 150: a 10-minute run in all). Prints wrk's latency percentiles and requests/s, and the
# server's RSS before and after.
#
#     Scripts/bench-console.sh [DURATION_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-150}"
port=8190
work="$(mktemp -d)"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
swift build -c release --product canopy > /dev/null 2>&1
canopy=.build/release/canopy
$canopy demo --no-serve --database "$work/demo.db" > /dev/null
echo "bench password 12345" | $canopy user add bench --role ccoe --password-stdin --database "$work/demo.db" > /dev/null
token=$($canopy token create bench --user bench --database "$work/demo.db" | tail -1)
# Without the per-request access log: the figures are the server's, not the terminal's.
$canopy serve --database "$work/demo.db" --port "$port" --log-level warning > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done
# Sign in through the form to get a session cookie for the pages.
csrf=$(curl -s -c "$work/jar" "http://127.0.0.1:$port/login" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//; s/"//')
curl -s -b "$work/jar" -c "$work/jar" -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode "name=bench" \
    --data-urlencode "password=bench password 12345" "http://127.0.0.1:$port/login"
session=$(awk '$6 == "canopy_session" {print $7}' "$work/jar")
rss() { ps -o rss= -p "$server_pid" | tr -d ' '; }
echo "server RSS before: $(( $(rss) / 1024 )) MiB"
run() {  # label, path, header
    echo; echo "== $1 ($2), 64 connections, ${duration} s"
    wrk -t2 -c64 -d"${duration}s" --latency -H "$3" "http://127.0.0.1:$port$2" | grep -E "Latency|50%|99%|Requests/sec|Non-2xx|Socket errors"
}
run "Overview page" "/" "Cookie: canopy_session=$session"
run "Inventory page" "/inventory" "Cookie: canopy_session=$session"
run "API findings" "/api/v1/findings?limit=100" "Authorization: Bearer $token"
run "API resources" "/api/v1/resources?type=ec2&limit=50" "Authorization: Bearer $token"
echo; echo "server RSS after: $(( $(rss) / 1024 )) MiB"
