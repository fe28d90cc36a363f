#!/usr/bin/env bash
# Re-records the bundled demo estate (Sources/CanopyDemo/Resources/demo-estate.json): seeds the
# shared GridCo estate into a private moto server, scans it with Canopy, makes the kind of drift
# a CCoE sees in a week (a vendor opens RDP to the world, an instance is stopped, an Elastic IP
# released, a bucket loses its owner tag, log buckets get lifecycle rules) and puts two weeks of the
# CloudWatch series savings recommendations read (NAT gateway bytes, RDS connections, bucket sizes),
# scans again, and records both scans with the last scan's series.
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
# What CloudWatch would have said of the week (the seed puts only EC2 CPU): one NAT gateway and one
# database nobody uses any more, traffic and connections elsewhere, bucket sizes and object counts;
# and lifecycle rules on the log buckets, so only the data buckets lack one.
import datetime
today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
days = [today - datetime.timedelta(days=d) for d in range(1, 14)]
def put(key, namespace, name, dimensions, values):
    member(key, "cloudwatch").put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Dimensions": dimensions, "Timestamp": t, "Value": v} for t, v in zip(days, values)])
resources = manifest["resources"]
for key in resources:
    for name, nat in resources[key].get("us-east-1", {}).get("nat_gateway", {}).items():
        put(key, "AWS/NATGateway", "BytesOutToDestination", [{"Name": "NatGatewayId", "Value": nat}],
            [0] * 13 if name == "corp-it-nat-a" else [40e9 + 1e9 * d for d in range(13)])
    for name in resources[key].get("us-east-1", {}).get("rds_instance", {}):
        put(key, "AWS/RDS", "DatabaseConnections", [{"Name": "DBInstanceIdentifier", "Value": name}],
            [0] * 13 if name == "corp-legacy-crm" else [20 + d % 5 for d in range(13)])
sizes = {"gridco-gen-scada-archive": (18_000, 400_000), "gridco-gen-telemetry-raw": (6_500, 2_500_000),
         "gridco-corp-hr-legacy": (900, 120_000), "gridco-corp-finance-reports": (300, 40_000),
         "gridco-gridops-mdm-exports": (2_200, 300_000), "gridco-gridops-outage-maps-public": (40, 9_000),
         "gridco-org-cloudtrail": (1_200, 3_000_000), "gridco-config-delivery": (60, 200_000),
         "gridco-gen-local-trail-logs": (150, 500_000)}
for key in resources:
    for bucket in resources[key].get("us-east-1", {}).get("s3_bucket", {}):
        gigabytes, objects = sizes.get(bucket, (100, 10_000))
        put(key, "AWS/S3", "BucketSizeBytes", [{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": "StandardStorage"}],
            [gigabytes * 2**30] * 13)
        put(key, "AWS/S3", "NumberOfObjects", [{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": "AllStorageTypes"}],
            [objects] * 13)
        if bucket.endswith(("cloudtrail", "trail-logs", "config-delivery")):
            member(key, "s3").put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
                {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 400},
                 "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}]}]})
PY
"$canopy" scan --database "$work/demo.db" --endpoint "$endpoint" --regions us-east-1,ap-northeast-1 --plain 2>/dev/null
"$canopy" demo --record-from "$work/demo.db" --output Sources/CanopyDemo/Resources/demo-estate.json
ls -l Sources/CanopyDemo/Resources/demo-estate.json
