#!/usr/bin/env bash
# Inventory benchmark: Canopy vs Cloud Custodian (c7n-org) over the same moto estate, in one run.
#
#     Scripts/bench-vs-custodian.sh [SCALE] [DELAY_MS]   # defaults: 1000 extra instances, no added delay
#
# With DELAY_MS, both tools reach moto through Scripts/latency-proxy.py, which adds that delay to
# every request: a model of the round trip to a real AWS region, where concurrency pays off.
#
# Seeds the GridCo estate into a private moto server with --scale, then collects it twice:
#   1. canopy scan (release build) across the organization's 4 accounts × 2 regions, every collector;
#   2. c7n-org run with one filter-less policy per resource type Canopy collects, same accounts
#      (assuming OrganizationAccountAccessRole) and regions.
# Prints wall-clock seconds, resources, resources/s and peak RSS for each, and the ratio.
# Needs moto[server], boto3, c7n and c7n-org from PyPI. Not a test: machines here are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1000}"
delay_ms="${2:-0}"
shared="${CANOPY_SHARED:-../shared}"
port=5088
endpoint="http://127.0.0.1:${port}"
work="$(mktemp -d)"
source Scripts/moto.sh
source Scripts/bench-common.sh
moto_pid=""
trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT
start_moto "$port" "$work/moto.log"
seed_endpoint="$endpoint"
if [ "$delay_ms" != "0" ]; then
    python3 Scripts/latency-proxy.py --listen $((port + 1)) --upstream "$port" --delay-ms "$delay_ms" &
    proxy_pid=$!
    trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; kill "$proxy_pid" 2>/dev/null; rm -rf "$work"' EXIT
    endpoint="http://127.0.0.1:$((port + 1))"
    for _ in $(seq 1 20); do port_open $((port + 1)) && break; sleep 0.5; done
fi
echo "seeding GridCo with --scale $scale …"
python3 "$shared/tools/moto/seed_estate.py" --endpoint "$seed_endpoint" --reset --quiet --scale "$scale" --manifest "$work/estate.json"
swift build -c release --product canopy > /dev/null
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1

write_accounts_file "$work/estate.json" "$work/accounts.yml"
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
types = ["ec2", "ebs", "ebs-snapshot", "ami", "vpc", "subnet", "security-group", "elastic-ip", "nat-gateway", "s3",
         "iam-user", "iam-role", "iam-policy", "account", "rds", "rds-snapshot", "dynamodb-table", "kms-key", "lambda",
         "app-elb", "asg", "cloudtrail", "config-recorder", "backup-plan", "backup-vault", "hostedzone", "healthcheck"]
with open(f"{work}/policies.yml", "w") as f:
    f.write("policies:\n")
    for t in types:
        f.write(f"  - name: inventory-{t}\n    resource: aws.{t}\n")
PY

check() {  # name: stop when the measured command failed
    [ "$(cat "$work/$1.rc")" = 0 ] || { echo "$1 failed:"; tail -20 "$work/$1.err"; exit 1; }
}

echo "canopy scan …"
measure canopy .build/release/canopy scan --database "$work/canopy.db" --endpoint "$endpoint" \
    --regions us-east-1,ap-northeast-1 --plain --no-evaluate
check canopy
canopy_resources=$(sed -n 's/.*complete in [0-9.]* s: \([0-9]*\) resources.*/\1/p' "$work/canopy.out")

echo "c7n-org run …"
measure custodian env AWS_ENDPOINT_URL="$endpoint" c7n-org run -c "$work/accounts.yml" -u "$work/policies.yml" --cache-period 0 \
    -s "$work/c7n-out" --region us-east-1 --region ap-northeast-1
check custodian
custodian_resources=$(find "$work/c7n-out" -name resources.json -exec python3 -c \
    "import json,sys; print(sum(len(json.load(open(p))) for p in sys.argv[1:]))" {} + | awk '{s+=$1} END {print s}')

read -r canopy_s canopy_kb < <(tail -1 "$work/canopy.time")
read -r custodian_s custodian_kb < <(tail -1 "$work/custodian.time")
python3 - "$canopy_s" "$canopy_kb" "$canopy_resources" "$custodian_s" "$custodian_kb" "$custodian_resources" "$scale" "$delay_ms" <<'PY'
import sys
cs, ck, cr, us, uk, ur, scale, delay = sys.argv[1:]
cs, ck, cr, us, uk, ur = float(cs), int(ck), int(cr), float(us), int(uk), int(ur or 0)
print(f"\nestate: GridCo + {scale} instances, 4 accounts × 2 regions (moto, {delay} ms added per request)")
print(f"{'tool':12} {'seconds':>8} {'resources':>10} {'res/s':>8} {'peak RSS MiB':>13}")
print(f"{'canopy':12} {cs:8.1f} {cr:10d} {cr/cs:8.0f} {ck/1024:13.0f}")
print(f"{'c7n-org':12} {us:8.1f} {ur:10d} {ur/us:8.0f} {uk/1024:13.0f}")
print(f"wall-clock ratio (c7n-org / canopy): {us/cs:.2f}×")
PY
