#!/usr/bin/env bash
# Re-records the bundled demo estate (Sources/CanopyDemo/Resources/demo-estate.json): seeds the
# shared GridCo estate into a private moto server, scans it with Canopy, makes the kind of drift
# a CCoE sees in a week (a vendor opens RDP to the world, an instance is stopped, an Elastic IP
# released, a bucket loses its owner tag), scans again, and records both scans.
#
#     Scripts/record-demo.sh            # needs moto[server] and boto3 from PyPI
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${CANOPY_SHARED:-../shared}"
port=5077
endpoint="http://127.0.0.1:${port}"
work="$(mktemp -d)"
source Scripts/moto.sh
moto_pid=""
trap '[ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT
start_moto "$port" "$work/moto.log"
python3 "$shared/tools/moto/seed_estate.py" --endpoint "$endpoint" --reset --quiet --manifest "$work/estate.json"
swift build --product canopy
canopy=.build/debug/canopy
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"$canopy" scan --database "$work/demo.db" --endpoint "$endpoint" --regions us-east-1,ap-northeast-1 --plain 2>/dev/null
python3 - "$endpoint" "$work/estate.json" <<'PY'
import json, sys, boto3
endpoint, manifest = sys.argv[1], json.load(open(sys.argv[2]))
base = boto3.session.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x")
def member(key, service, region="us-east-1"):
    account = manifest["accounts"][key]["id"]
    sts = base.client("sts", region_name=region, endpoint_url=endpoint)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="demo")["Credentials"]
    return boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"]).client(service, region_name=region, endpoint_url=endpoint)
gen = manifest["resources"]["generation"]["us-east-1"]
ec2 = member("generation", "ec2")
sg = ec2.create_security_group(GroupName="vendor-remote-access", Description="opened for a turbine vendor",
                               VpcId=gen["vpc"]["gen-prod"])["GroupId"]
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
                                                                 "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
ec2.stop_instances(InstanceIds=[gen["instance"]["turbine-analytics-04"]])
ec2.release_address(AllocationId=gen["elastic_ip"]["gen-unused-eip-1"])
member("generation", "s3").delete_bucket_tagging(Bucket="gridco-gen-scada-archive")
PY
"$canopy" scan --database "$work/demo.db" --endpoint "$endpoint" --regions us-east-1,ap-northeast-1 --plain 2>/dev/null
"$canopy" demo --record-from "$work/demo.db" --output Sources/CanopyDemo/Resources/demo-estate.json
ls -l Sources/CanopyDemo/Resources/demo-estate.json
