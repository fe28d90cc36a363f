#!/usr/bin/env bash
# Cost import and query benchmark, Canopy against DuckDB, one run side by side (figures for notes,
# never for tests). The FOCUS 1.0 corpus sample replicated to ROWS rows (default 10,000,000) as one
# CSV; DuckDB (PyPI, in .build/bench-tools) loads it into a table and runs month × service and
# month × sub-account (DuckDB has no business units) aggregations; Canopy imports it (release build,
# peak RSS by /usr/bin/time) and runs `canopy bench cost-queries`.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-10000000}"
work="${BENCH_DIR:-/tmp/canopy-bench-cost}"
sample="${CANOPY_SHARED:-../shared}/corpus/focus/focus-1.0-sample.csv"
mkdir -p "$work"
file="$work/focus-${rows}.csv"
if [ ! -s "$file" ]; then
    python3 - "$sample" "$file" "$rows" <<'PY'
import sys
sample, out, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(sample, encoding="utf-8-sig", newline="") as f:
    header, *body = f.read().splitlines(keepends=True)
with open(out, "w", newline="") as f:
    f.write(header)
    written = 0
    while written < rows:
        chunk = body[: rows - written]
        f.writelines(chunk)
        written += len(chunk)
PY
fi
ls -la "$file"
if ! .build/bench-tools/bin/python3 -c "import duckdb" 2>/dev/null; then
    python3 -m venv .build/bench-tools
    .build/bench-tools/bin/python3 -m pip install --quiet --disable-pip-version-check duckdb
fi
swift build -c release --product canopy > /dev/null
canopy=.build/release/canopy

echo "== DuckDB $(.build/bench-tools/bin/python3 -c 'import duckdb; print(duckdb.__version__)')"
rm -f "$work/duck.db"
/usr/bin/time -f "duckdb peak RSS %M KiB, wall %e s" .build/bench-tools/bin/python3 - "$file" "$work/duck.db" <<'PY'
import sys, time, duckdb
con = duckdb.connect(sys.argv[2])
t = time.perf_counter()
con.execute(f"CREATE TABLE cost AS SELECT * FROM read_csv('{sys.argv[1]}', header=true)")
print(f"duckdb load: {time.perf_counter() - t:.1f} s, {con.execute('SELECT count(*) FROM cost').fetchone()[0]} rows")
for name, sql in [
    ("month × service", "SELECT date_trunc('month', ChargePeriodStart) m, ServiceName, sum(BilledCost) FROM cost GROUP BY ALL"),
    ("month × sub-account", "SELECT date_trunc('month', ChargePeriodStart) m, SubAccountId, sum(BilledCost) FROM cost GROUP BY ALL"),
]:
    samples = []
    for _ in range(7):
        t = time.perf_counter()
        con.execute(sql).fetchall()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    print(f"duckdb {name}: best {samples[0]:.1f} ms, median {samples[3]:.1f} ms")
PY

echo "== Canopy"
rm -f "$work/canopy.db" "$work/canopy.db-wal" "$work/canopy.db-shm"
/usr/bin/time -f "canopy import peak RSS %M KiB, wall %e s" "$canopy" cost import --database "$work/canopy.db" "$file"
"$canopy" bench cost-queries --database "$work/canopy.db"
