#!/usr/bin/env python3
"""Extract the response shapes Canopy decodes from botocore's AWS API models.

    python3 Scripts/generate-shapes.py     # rewrites Sources/CanopyAWS/Resources/shapes/*.json

Canopy speaks the AWS wire protocols itself. To hand collectors the same keys boto3 gives
(`State.Name`, `Tags`, `BlockDeviceMappings`), the XML decoder must know, for each response
element, its member name, its type and how its lists are wrapped. Those facts live in the
AWS API models, which botocore (PyPI, Apache-2.0) ships. This script keeps only what the
decoder needs (names, types, wire names, list/map wrapping, HTTP bindings) for the operations
Canopy calls, and none of the documentation. Re-run it when an operation is added.
"""
import glob
import gzip
import json
import os

import botocore

OPERATIONS = {
    "ec2": ["DescribeRegions", "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups",
            "DescribeInstances", "DescribeVolumes", "DescribeSnapshots", "DescribeImages",
            "DescribeAddresses", "DescribeNatGateways", "DescribeSnapshotAttribute",
            # remediation actions
            "CreateTags", "DeleteTags", "StopInstances", "TerminateInstances", "DeleteVolume",
            "DeleteSnapshot", "ModifyVolume", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "ReleaseAddress"],
    "s3": ["ListBuckets", "GetBucketLocation", "GetBucketEncryption", "GetBucketVersioning",
           "GetPublicAccessBlock", "GetBucketPolicy", "GetBucketTagging", "GetBucketLogging",
           "GetBucketAcl", "GetBucketLifecycleConfiguration", "ListObjectsV2",
           "PutBucketEncryption", "PutPublicAccessBlock", "PutBucketTagging"],
    "iam": ["ListUsers", "ListAccessKeys", "GetAccessKeyLastUsed", "ListMFADevices",
            "GetLoginProfile", "ListAttachedUserPolicies", "ListUserPolicies", "ListUserTags",
            "ListGroupsForUser", "ListRoles", "ListAttachedRolePolicies", "ListRolePolicies",
            "ListPolicies", "GetAccountPasswordPolicy", "GetAccountSummary",
            "GenerateCredentialReport", "GetCredentialReport", "ListAccountAliases"],
    "rds": ["DescribeDBInstances", "DescribeDBSnapshots", "DescribeDBSnapshotAttributes",
            "AddTagsToResource", "RemoveTagsFromResource", "StopDBInstance"],
    "dynamodb": ["ListTables", "DescribeTable", "DescribeContinuousBackups", "ListTagsOfResource"],
    "kms": ["ListKeys", "DescribeKey", "GetKeyRotationStatus", "ListAliases", "ListResourceTags",
            "EnableKeyRotation"],
    "lambda": ["ListFunctions", "ListTags"],
    "elbv2": ["DescribeLoadBalancers", "DescribeListeners", "DescribeLoadBalancerAttributes",
              "DescribeTags"],
    "autoscaling": ["DescribeAutoScalingGroups"],
    "cloudtrail": ["DescribeTrails", "GetTrailStatus", "GetEventSelectors", "ListTags"],
    "config": ["DescribeConfigurationRecorders", "DescribeConfigurationRecorderStatus",
               "DescribeDeliveryChannels"],
    "backup": ["ListBackupPlans", "GetBackupPlan", "ListBackupVaults"],
    "route53": ["ListHostedZones", "ListHealthChecks", "ListTagsForResource"],
    "organizations": ["DescribeOrganization", "ListAccounts", "ListTagsForResource",
                      "ListParents", "DescribeOrganizationalUnit"],
    "sts": ["AssumeRole", "GetCallerIdentity"],
    "cloudwatch": ["GetMetricData", "ListMetrics"],
    "guardduty": ["ListDetectors", "GetDetector"],
    # the findings hub: pull findings (ASFF) and push Canopy's back
    "securityhub": ["GetFindings", "BatchImportFindings"],
}

# Members a decoder needs; everything else (documentation, examples, constraints) is dropped.
SHAPE_KEYS = ("type", "flattened", "locationName", "timestampFormat", "payload")
MEMBER_KEYS = ("shape", "locationName", "flattened", "location", "xmlAttribute", "queryName")


def load(service):
    data = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    path = sorted(glob.glob(os.path.join(data, "*", "service-2.json*")))[-1]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def slim_member(ref):
    return {k: ref[k] for k in MEMBER_KEYS if k in ref}


# JSON services whose answers Canopy keeps as they come: only the top-level shape is needed
# (a member without a shape passes through unchanged). Security Hub's ASFF has 800+ shapes.
SHALLOW = {"securityhub"}


def collect(model, name, out, depth=None):
    if name in out or depth == 0:
        return
    depth = None if depth is None else depth - 1
    shape = model["shapes"][name]
    slim = {k: shape[k] for k in SHAPE_KEYS if k in shape}
    out[name] = slim
    if shape["type"] == "structure":
        slim["members"] = {m: slim_member(ref) for m, ref in shape.get("members", {}).items()}
        for ref in shape.get("members", {}).values():
            collect(model, ref["shape"], out, depth)
    elif shape["type"] == "list":
        slim["member"] = slim_member(shape["member"])
        collect(model, shape["member"]["shape"], out, depth)
    elif shape["type"] == "map":
        slim["key"] = slim_member(shape["key"])
        slim["value"] = slim_member(shape["value"])
        collect(model, shape["key"]["shape"], out, depth)
        collect(model, shape["value"]["shape"], out, depth)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dest = os.path.join(root, "Sources", "CanopyAWS", "Resources", "shapes")
    os.makedirs(dest, exist_ok=True)
    for service, operations in OPERATIONS.items():
        model = load(service)
        meta = model["metadata"]
        protocols = meta.get("protocols", [meta["protocol"]])
        # CloudWatch's newest model prefers CBOR; Canopy speaks its query protocol, which
        # every endpoint (and moto) still serves.
        protocol = "query" if "query" in protocols and meta["protocol"] not in ("query", "ec2", "json", "rest-json", "rest-xml") else meta["protocol"]
        shapes, ops = {}, {}
        for op in operations:
            spec = model["operations"][op]
            entry = {"http": spec["http"]}
            if "output" in spec:
                entry["output"] = spec["output"]["shape"]
                if "resultWrapper" in spec["output"]:
                    entry["resultWrapper"] = spec["output"]["resultWrapper"]
                collect(model, spec["output"]["shape"], shapes, 2 if service in SHALLOW else None)
            ops[op] = entry
        doc = {
            "source": f"botocore {botocore.__version__} API model for {service} (Apache-2.0); "
                      "generated by Scripts/generate-shapes.py",
            "metadata": {k: meta[k] for k in ("apiVersion", "endpointPrefix", "signingName",
                                              "targetPrefix", "jsonVersion", "globalEndpoint")
                         if k in meta} | {"protocol": protocol},
            "operations": ops,
            "shapes": dict(sorted(shapes.items())),
        }
        with open(os.path.join(dest, f"{service}.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"), sort_keys=True)
            f.write("\n")
        print(f"{service:14} {protocol:10} {len(ops):3} operations {len(shapes):4} shapes")


if __name__ == "__main__":
    main()
