# Helpers shared by the benchmark scripts (sourced, not run).

# measure NAME COMMAND…: runs COMMAND with /usr/bin/time; wall seconds and peak RSS (KiB) go to
# $work/NAME.time, its exit status to $work/NAME.rc. Standard output and error are kept beside.
measure() {
    local name="$1"; shift
    local rc=0
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || rc=$?
    echo "$rc" > "$work/$name.rc"
}

# write_accounts_file MANIFEST OUT: a c7n-org accounts file for the seeded organization (c7n-org
# requires a role for every account, the management account included).
write_accounts_file() {
    python3 - "$1" "$2" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as f:
    f.write("accounts:\n")
    for key, value in sorted(manifest["accounts"].items()):
        f.write(f"  - account_id: '{value['id']}'\n    name: {key}\n    regions: [us-east-1, ap-northeast-1]\n"
                f"    role: arn:aws:iam::{value['id']}:role/OrganizationAccountAccessRole\n")
PY
}
