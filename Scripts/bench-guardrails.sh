#!/usr/bin/env bash
# Guardrails benchmark: Canopy (scan + evaluate every built-in pack) vs Cloud Custodian
# (c7n-org run of the same pack files) over the same moto estate, in one run.
#
#     Scripts/bench-guardrails.sh [SCALE]   # default: 1000 extra instances
#
# Seeds GridCo into a private moto server with --scale, then:
#   1. canopy scan (release build): collects the organization's 4 accounts × 2 regions and
#      evaluates the 64 built-in checks, recording findings;
#   2. c7n-org run of the four pack files (they are plain Custodian policies) on the same accounts
#      (assuming OrganizationAccountAccessRole) and regions, with Custodian's default 15-minute
#      resource cache in a fresh file so each resource type is described once per account-region.
# Prints wall-clock seconds and peak RSS for each and the ratio. Needs moto[server], boto3, c7n and
# c7n-org from PyPI. Not a test: machines here are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1000}"
shared="${CANOPY_SHARED:-../shared}"
port=5089
endpoint="http://127.0.0.1:${port}"
work="$(mktemp -d)"
source Scripts/moto.sh
source Scripts/bench-common.sh
moto_pid=""
trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT
start_moto "$port" "$work/moto.log"
echo "seeding GridCo with --scale $scale …"
python3 "$shared/tools/moto/seed_estate.py" --endpoint "$endpoint" --reset --quiet --scale "$scale" --manifest "$work/estate.json"
swift build -c release --product canopy > /dev/null
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1

write_accounts_file "$work/estate.json" "$work/accounts.yml"
python3 - "$work" Sources/CanopyPolicy/Resources/packs <<'PY'
import glob, sys
work, packs = sys.argv[1:3]
with open(f"{work}/packs.yml", "w") as out:
    out.write("policies:\n")
    for path in sorted(glob.glob(f"{packs}/*.yml")):
        text = open(path).read()
        # Custodian has no provider for on-prem hosts (resource onprem.host).
        if "resource: onprem." in text:
            continue
        out.write(text.split("policies:\n", 1)[1])
PY

echo "canopy scan + evaluate …"
measure canopy .build/release/canopy scan --database "$work/canopy.db" --endpoint "$endpoint" \
    --regions us-east-1,ap-northeast-1 --plain
[ "$(cat "$work/canopy.rc")" = 0 ] || { echo "canopy failed:"; tail -20 "$work/canopy.err"; exit 1; }
grep -E "^scan|^evaluation" "$work/canopy.out"

echo "c7n-org run of the same packs …"
mkdir -p "$work/c7n.cache"
measure custodian env AWS_ENDPOINT_URL="$endpoint" c7n-org run -c "$work/accounts.yml" -u "$work/packs.yml" \
    --cache-path "$work/c7n.cache" -s "$work/c7n-out" --region us-east-1 --region ap-northeast-1
# c7n-org exits non-zero when any policy of any account-region failed; count those, keep going.
c7n_errors=$( (grep -rl "ERROR" "$work/c7n-out" --include=custodian-run.log 2>/dev/null || true) | wc -l)
echo "c7n-org exit status $(cat "$work/custodian.rc"); policy runs that logged an ERROR: $c7n_errors"
grep -rh "ERROR" "$work/c7n-out" --include=custodian-run.log 2>/dev/null | cut -c1-200 | sort | uniq -c | sort -rn | head -5 || true
grep -v ":INFO " "$work/custodian.err" | cut -c1-200 | head -10 || true
matched=$(find "$work/c7n-out" -name resources.json -exec python3 -c \
    "import json,sys; print(sum(len(json.load(open(p))) for p in sys.argv[1:]))" {} + | awk '{s+=$1} END {print s}')

# GNU time puts "Command exited with non-zero status N" first when a command fails.
read -r canopy_s canopy_kb < <(tail -1 "$work/canopy.time")
read -r custodian_s custodian_kb < <(tail -1 "$work/custodian.time")
python3 - "$canopy_s" "$canopy_kb" "$custodian_s" "$custodian_kb" "$scale" "$matched" <<'PY'
import sys
cs, ck, us, uk, scale, matched = sys.argv[1:]
cs, ck, us, uk = float(cs), int(ck), float(us), int(uk)
print(f"\nestate: GridCo + {scale} instances, 4 accounts × 2 regions (moto); 64 checks in 4 packs")
print(f"{'tool':26} {'seconds':>8} {'peak RSS MiB':>13}")
print(f"{'canopy scan + evaluate':26} {cs:8.1f} {ck/1024:13.0f}")
print(f"{'c7n-org run (same packs)':26} {us:8.1f} {uk/1024:13.0f}   ({matched} matches written)")
print(f"wall-clock ratio (c7n-org / canopy): {us/cs:.2f}×")
PY
