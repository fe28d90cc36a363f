#!/usr/bin/env bash
# Activity lake benchmark (figures for notes, never for tests): the 310 corpus CloudTrail events
# replicated to EVENTS events (default 1,000,000) with fresh ids and times, in files of 10,000
# records as S3 delivers them; Canopy's release build imports them (parse, hash chain, one signed
# digest a file) with all 64 Sigma rules (SigmaHQ's CloudTrail rules loaded beside the seven
# built-in ones) running over every event, then verifies the whole lake and runs an eventName query;
# last, with the sqlite3 shell, what storing the same rows costs SQLite alone.
#
#     Scripts/bench-lake.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
work="${BENCH_DIR:-/tmp/canopy-bench-lake}"
corpus="${CANOPY_SHARED:-../shared}/corpus/cloudtrail/stratus-red-team"
source Scripts/bench-common.sh
mkdir -p "$work/files"
if [ ! -f "$work/files/.done-compact-$events" ]; then
    rm -rf "$work/files" && mkdir -p "$work/files"
    python3 - "$corpus" "$work/files" "$events" <<'PY'
import glob, json, sys, uuid, datetime
corpus, out, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
records = [r for f in sorted(glob.glob(corpus + "/*.json")) for r in json.load(open(f))]
start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
written, index = 0, 0
while written < total:
    batch = []
    for _ in range(min(10_000, total - written)):
        r = dict(records[written % len(records)])
        r["eventID"] = str(uuid.UUID(int=written + 1))
        r["eventTime"] = (start + datetime.timedelta(seconds=written)).strftime("%Y-%m-%dT%H:%M:%SZ")
        batch.append(r)
        written += 1
    # Compact, as CloudTrail writes its files to S3.
    json.dump({"Records": batch}, open(f"{out}/{index:05d}.json", "w"), separators=(",", ":"))
    index += 1
open(f"{out}/.done-compact-{total}", "w").close()
PY
fi
swift build -c release --product canopy > /dev/null
canopy=.build/release/canopy
rm -f "$work/lake.db" "$work/lake.db-wal" "$work/lake.db-shm" "$work/lake.db.key"
"$canopy" detect rules add --database "$work/lake.db" "${CANOPY_SHARED:-../shared}/corpus/sigma/aws-cloudtrail" > /dev/null
measure import "$canopy" lake import --database "$work/lake.db" "$work"/files/*.json
read -r seconds rss < "$work/import.time"
python3 -c "print(f'import: {$events} events in {$seconds} s = {$events / max($seconds, 1e-9):,.0f} events/s, peak RSS {$rss / 1024:.0f} MiB')"
measure verify "$canopy" lake verify --database "$work/lake.db"
read -r seconds rss < "$work/verify.time"
echo "verify: $seconds s, peak RSS $((rss / 1024)) MiB ($(cat "$work/verify.out"))"
for attempt in 1 2 3; do
    measure query "$canopy" lake query --database "$work/lake.db" --count 'eventName=StopLogging'
    read -r seconds rss < "$work/query.time"
    echo "query eventName=StopLogging (whole process): $seconds s, $(cat "$work/query.out") events"
done
# SQLite's own floor for the same rows: the sqlite3 shell copies the imported events, already
# parsed, hashed and encoded, into an empty lake table (same columns and indexes, WAL) in
# 10,000-row transactions, as an import commits them. No parsing, hashing or rules: what storing
# the rows alone costs on this machine.
if command -v sqlite3 > /dev/null; then
    rm -f "$work/floor.db" "$work/floor.db-wal" "$work/floor.db-shm"
    sqlite3 "$work/lake.db" ".schema lake_event" > "$work/floor.sql"
    {
        echo "PRAGMA journal_mode=WAL;"
        cat "$work/floor.sql"
        echo "ATTACH '$work/lake.db' AS lake;"
        for ((first = 1; first <= events; first += 10000)); do
            echo "BEGIN; INSERT INTO main.lake_event SELECT * FROM lake.lake_event WHERE seq BETWEEN $first AND $((first + 9999)); COMMIT;"
        done
    } > "$work/floor.run.sql"
    measure floor sqlite3 "$work/floor.db" ".read $work/floor.run.sql"
    read -r seconds rss < "$work/floor.time"
    python3 -c "print(f'SQLite alone storing the same rows: {$seconds} s = {$events / max($seconds, 1e-9):,.0f} rows/s')"
fi
