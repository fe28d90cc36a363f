#!/usr/bin/env python3
"""Derives three of Canopy's framework catalogues from public mappings in ../shared/corpus:

- cis-aws-6.0.yml: requirement ids, sections, profiles and automated/manual status of the CIS
  AWS Foundations Benchmark v6.0.0 (from Prowler's mapping, Apache-2.0); titles are Canopy's own
  short wording; checks are Canopy's, matched to Prowler's check names by PROWLER below.
- nist-800-53-r5-moderate.yml: the controls the MODERATE baseline selects (NIST OSCAL profile,
  public domain), with Canopy's checks mapped through the AWS Guard Rules Registry rule set
  (CC0) by AWS_RULE below.
- the AWS-mapped part of nerc-cip.yml (CIP-004-7 R6 Part 6.1 and CIP-011-3 R1 Part 1.2, as the
  registry's NERC rule set maps AWS rules to them); the other CIP parts are Canopy's mapping,
  kept in NERC_CANOPY below.

Run: python3 Scripts/derive-frameworks.py ../shared/corpus/frameworks Sources/CanopyPolicy/Resources/frameworks
The output is committed; re-run when a mapping or a check changes.
"""
import json
import sys
from collections import defaultdict
from pathlib import Path

# Prowler check name -> Canopy check ids that decide the same thing.
PROWLER = {
    "iam_no_root_access_key": ["iam.root.access_keys"],
    "iam_root_mfa_enabled": ["iam.root.mfa_disabled"],
    "iam_password_policy_minimum_length_14": ["iam.password_policy.missing", "iam.password_policy.weak"],
    "iam_password_policy_reuse_24": ["iam.password_policy.missing", "iam.password_policy.reuse"],
    "iam_user_mfa_enabled_console_access": ["iam.user.console_without_mfa"],
    "iam_user_accesskey_unused": ["iam.user.unused_credentials_45d"],
    "iam_user_console_access_unused": ["iam.user.unused_credentials_45d"],
    "iam_user_two_active_access_key": ["iam.user.two_active_keys"],
    "iam_rotate_access_key_90_days": ["iam.access_key.not_rotated_90d"],
    "iam_policy_attached_only_to_group_or_roles": ["iam.user.policies_attached"],
    "s3_bucket_secure_transport_policy": ["s3.bucket.ssl_not_enforced"],
    "s3_bucket_level_public_access_block": ["s3.bucket.no_public_access_block"],
    "rds_instance_storage_encrypted": ["rds.instance.unencrypted"],
    "rds_instance_minor_version_upgrade_enabled": ["rds.instance.auto_minor_upgrade_disabled"],
    "rds_instance_no_public_access": ["rds.instance.publicly_accessible"],
    "rds_instance_multi_az": ["rds.instance.single_az"],
    "cloudtrail_multi_region_enabled": ["cloudtrail.account.no_multi_region_trail"],
    "cloudtrail_log_file_validation_enabled": ["cloudtrail.trail.log_validation_disabled"],
    "config_recorder_all_regions_enabled": ["config.account.not_recording"],
    "cloudtrail_kms_encryption_enabled": ["cloudtrail.trail.not_encrypted"],
    "kms_cmk_rotation_enabled": ["kms.key.rotation_disabled"],
    "ec2_ebs_volume_encryption": ["ec2.volume.unencrypted"],
    "ec2_instance_port_cifs_exposed_to_internet": ["ec2.sg.cifs_open_to_world"],
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22": ["ec2.sg.ssh_open_to_world"],
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389": ["ec2.sg.rdp_open_to_world"],
    "ec2_securitygroup_default_restrict_traffic": ["ec2.sg.default_not_restricted"],
    "ec2_instance_imdsv2_enabled": ["ec2.instance.imdsv2_not_required"],
}

# CIS v6.0.0 requirement id -> Canopy's short title (our wording, not the benchmark's text).
CIS_TITLES = {
    "2.1": "Account contact details are current", "2.2": "Security contact is registered",
    "2.3": "Root user has no access keys", "2.4": "Root user has MFA", "2.5": "Root user has hardware MFA",
    "2.6": "Root user is not used for daily work", "2.7": "Passwords are at least 14 characters",
    "2.8": "Password reuse is prevented", "2.9": "Console users have MFA",
    "2.10": "No access keys created at user setup", "2.11": "Credentials unused for 45 days are disabled",
    "2.12": "At most one active access key per user", "2.13": "Access keys rotated within 90 days",
    "2.14": "Users get permissions only through groups", "2.15": "No full-admin (*:*) policies attached",
    "2.16": "A support role exists for AWS Support", "2.17": "Instances use IAM instance roles",
    "2.18": "Expired server certificates are removed", "2.19": "IAM Access Analyzer is on in every region",
    "2.20": "Users are managed centrally (federation)", "2.21": "CloudShell full access is restricted",
    "3.1.1": "Bucket policies deny plain HTTP", "3.1.2": "MFA Delete on S3 buckets",
    "3.1.3": "S3 data is discovered and classified", "3.1.4": "S3 Block Public Access is on",
    "3.2.1": "RDS storage is encrypted", "3.2.2": "RDS auto minor upgrades are on",
    "3.2.3": "RDS instances are not public", "3.2.4": "RDS uses Multi-AZ",
    "3.3.1": "EFS file systems are encrypted", "4.1": "CloudTrail logs every region",
    "4.2": "CloudTrail log file validation is on", "4.3": "AWS Config records in every region",
    "4.4": "The CloudTrail bucket has access logging", "4.5": "CloudTrail logs are encrypted with KMS",
    "4.6": "Customer KMS keys rotate", "4.7": "VPC flow logs are on", "4.8": "S3 object-level write events are logged",
    "4.9": "S3 object-level read events are logged", "5.1": "Unauthorized API calls are alarmed",
    "5.2": "Console sign-in without MFA is alarmed", "5.3": "Root user activity is alarmed",
    "5.4": "IAM policy changes are alarmed", "5.5": "CloudTrail configuration changes are alarmed",
    "5.6": "Console authentication failures are alarmed", "5.7": "KMS key disabling/deletion is alarmed",
    "5.8": "S3 bucket policy changes are alarmed", "5.9": "AWS Config changes are alarmed",
    "5.10": "Security group changes are alarmed", "5.11": "Network ACL changes are alarmed",
    "5.12": "Network gateway changes are alarmed", "5.13": "Route table changes are alarmed",
    "5.14": "VPC changes are alarmed", "5.15": "AWS Organizations changes are alarmed",
    "5.16": "Security Hub is on", "6.1.1": "EBS volumes are encrypted", "6.1.2": "CIFS is not open to the internet",
    "6.2": "Network ACLs do not open admin ports to the internet", "6.3": "Security groups do not open admin ports to 0.0.0.0/0",
    "6.4": "Security groups do not open admin ports to ::/0", "6.5": "Default security groups allow no traffic",
    "6.6": "VPC peering routes are least access", "6.7": "Instances require IMDSv2",
}

# AWS Guard Rules Registry rule -> Canopy check ids deciding the same thing.
AWS_RULE = {
    "encrypted_volumes": ["ec2.volume.unencrypted", "pu.ot.volume_unencrypted"],
    "rds_storage_encrypted": ["rds.instance.unencrypted"],
    "rds_instance_public_access_check": ["rds.instance.publicly_accessible"],
    "rds_multi_az_support": ["rds.instance.single_az"],
    "rds_instance_deletion_protection_enabled": ["rds.instance.deletion_protection_disabled"],
    "db_instance_backup_enabled": ["rds.instance.backups_disabled", "pu.resilience.rds_backup_retention_short"],
    "s3_bucket_public_read_prohibited": ["s3.bucket.public"],
    "s3_bucket_public_write_prohibited": ["s3.bucket.public"],
    "s3_bucket_level_public_access_prohibited": ["s3.bucket.no_public_access_block"],
    "s3_bucket_policy_grantee_check": ["s3.bucket.public"],
    "s3_bucket_server_side_encryption_enabled": ["s3.bucket.no_default_encryption"],
    "s3_default_encryption_kms": ["pu.bcsi.bucket_not_kms"],
    "s3_bucket_ssl_requests_only": ["s3.bucket.ssl_not_enforced"],
    "s3_bucket_versioning_enabled": ["s3.bucket.versioning_disabled"],
    "cloud_trail_encryption_enabled": ["cloudtrail.trail.not_encrypted"],
    "cloud_trail_enabled": ["cloudtrail.account.no_trail", "cloudtrail.trail.not_logging"],
    "multi_region_cloud_trail_enabled": ["cloudtrail.account.no_multi_region_trail", "cloudtrail.trail.not_multi_region"],
    "cloud_trail_log_file_validation_enabled": ["cloudtrail.trail.log_validation_disabled"],
    "cmk_backing_key_rotation_enabled": ["kms.key.rotation_disabled"],
    "iam_user_no_policies_check": ["iam.user.policies_attached"],
    "iam_no_inline_policy_check": ["iam.user.policies_attached"],
    "elb_tls_https_listeners_only": ["elbv2.listener.http_only"],
    "alb_http_to_https_redirection_check": ["elbv2.listener.http_only"],
    "restricted_ssh": ["ec2.sg.ssh_open_to_world"],
    "restricted_common_ports": ["ec2.sg.rdp_open_to_world", "ec2.sg.cifs_open_to_world", "ec2.sg.ftp_open_to_world", "pu.network.world_ingress_beyond_web", "pu.network.all_traffic_from_world"],
    "ec2_instance_no_public_ip": ["ec2.instance.public_ip", "pu.ot.instance_public_ip"],
    "dynamodb_pitr_enabled": ["dynamodb.table.pitr_disabled"],
}

# CIP parts Canopy maps itself (beyond AWS's BCSI mapping): id -> (title, checks).
NERC_CANOPY = {
    "CIP-004-7 R6 Part 6.2": ("Verify at least every 15 months that BCSI access is still needed", []),
    "CIP-004-7 R6 Part 6.3": ("Remove BCSI access when it is no longer needed", ["iam.user.unused_credentials_45d", "iam.access_key.inactive_not_deleted"]),
    "CIP-011-3 R1 Part 1.1": ("Identify the information that is BCSI", []),
    "CIP-005-7 R1 Part 1.3": ("Inbound and outbound access through the perimeter is permitted only with a reason", ["ec2.sg.ssh_open_to_world", "ec2.sg.rdp_open_to_world", "ec2.sg.ftp_open_to_world", "pu.network.world_ingress_beyond_web", "pu.network.all_traffic_from_world", "pu.ot.instance_public_ip"]),
    "CIP-007-6 R1 Part 1.1": ("Only needed logical network ports are enabled", ["ec2.sg.default_not_restricted", "pu.network.world_ingress_beyond_web", "ec2.sg.unused"]),
    "CIP-007-6 R4 Part 4.1": ("Log security events (logins, failed access, malicious code)", ["cloudtrail.account.no_trail", "cloudtrail.trail.not_logging", "cloudtrail.account.no_multi_region_trail", "guardduty.account.not_enabled"]),
    "CIP-007-6 R4 Part 4.3": ("Keep security event logs for at least 90 days", []),
    "CIP-007-6 R5 Part 5.2": ("Control default and generic accounts", ["iam.root.access_keys", "iam.root.mfa_disabled"]),
    "CIP-007-6 R5 Part 5.5": ("Password length and complexity", ["iam.password_policy.missing", "iam.password_policy.weak"]),
    "CIP-007-6 R5 Part 5.6": ("Change passwords at least every 15 months", ["iam.access_key.not_rotated_90d"]),
    "CIP-009-6 R1 Part 1.3": ("Back up the information needed to recover BES Cyber Systems", ["rds.instance.backups_disabled", "dynamodb.table.pitr_disabled", "pu.resilience.rds_backup_retention_short"]),
    "CIP-010-4 R1 Part 1.1": ("Keep a baseline configuration of each system", ["config.account.not_recording"]),
}
NERC_AWS_TITLES = {
    "CIP-004-7-R6-Part 6.1": ("CIP-004-7 R6 Part 6.1", "Authorize electronic access to BCSI by need"),
    "CIP-011-3-R1-Part 1.2": ("CIP-011-3 R1 Part 1.2", "Protect and securely handle BCSI in storage, transit and use"),
}

NIST_FAMILIES = {
    "ac": "Access Control", "at": "Awareness and Training", "au": "Audit and Accountability",
    "ca": "Assessment, Authorization, and Monitoring", "cm": "Configuration Management", "cp": "Contingency Planning",
    "ia": "Identification and Authentication", "ir": "Incident Response", "ma": "Maintenance", "mp": "Media Protection",
    "pe": "Physical and Environmental Protection", "pl": "Planning", "pm": "Program Management", "ps": "Personnel Security",
    "pt": "PII Processing and Transparency", "ra": "Risk Assessment", "sa": "System and Services Acquisition",
    "sc": "System and Communications Protection", "si": "System and Information Integrity", "sr": "Supply Chain Risk Management",
}


def q(text):
    return json.dumps(text, ensure_ascii=False)


def write_requirement(out, rid, title, section, mode, checks, extra=""):
    out.append(f"  - id: {q(rid)}")
    out.append(f"    title: {q(title)}")
    if section:
        out.append(f"    section: {q(section)}")
    out.append(f"    mode: {mode}")
    if checks:
        out.append(f"    checks: [{', '.join(checks)}]")
    if extra:
        out.append(extra)


def unique(items):
    return list(dict.fromkeys(items))


def header(fid, name, name_zh, version, source):
    return ["# Generated by Scripts/derive-frameworks.py — do not edit by hand.", "framework:", f"  id: {fid}",
            f"  name: {q(name)}", f"  name_zh: {q(name_zh)}", f"  version: {q(version)}", f"  source: {q(source)}",
            "requirements:"]


def checks_by_control(path, normalise=lambda control: control):
    """A Guard Rules Registry rule set as control -> Canopy checks (through AWS_RULE)."""
    mapping = defaultdict(list)
    for m in json.loads(path.read_text())["mappings"]:
        rule = m["guardFilePath"].split("/")[-1].replace(".guard", "")
        for control in m["controls"]:
            mapping[normalise(control)] += AWS_RULE.get(rule, [])
    return mapping


def main(corpus, target):
    corpus, target = Path(corpus), Path(target)
    # CIS
    cis = json.loads((corpus / "prowler/cis_6.0_aws.json").read_text())
    out = header("cis-aws-6.0", "CIS Amazon Web Services Foundations Benchmark v6.0.0", "CIS AWS 基礎安全基準 v6.0.0", "6.0.0",
                 "Center for Internet Security; requirement ids and profiles via prowler-cloud/prowler (Apache-2.0); titles are Canopy's wording")
    for r in cis["Requirements"]:
        a = r["Attributes"][0]
        checks = unique(c for p in r["Checks"] for c in PROWLER.get(p, []))
        mode = "automated" if checks else "manual"
        write_requirement(out, r["Id"], CIS_TITLES[r["Id"]], a["Section"], mode, checks,
                          f"    level: {q(a['Profile'])}")
    (target / "cis-aws-6.0.yml").write_text("\n".join(out) + "\n")

    # NIST 800-53 moderate
    by_control = checks_by_control(corpus / "guard-rules-registry/rule_set_nist800_53rev5.json", str.lower)
    profile = json.loads((corpus / "oscal/NIST_SP-800-53_rev5_MODERATE-baseline_profile.json").read_text())
    ids = profile["profile"]["imports"][0]["include-controls"][0]["with-ids"]
    out = header("nist-800-53-r5-moderate", "NIST SP 800-53 Rev. 5 — Moderate baseline", "NIST SP 800-53 第 5 版 — 中度基準", "5.1.1",
                 "Controls selected by the NIST OSCAL MODERATE baseline profile (public domain); checks mapped through the AWS Guard Rules Registry NIST 800-53 rev 5 rule set (CC0)")
    for cid in ids:
        family = cid.split("-")[0]
        display = cid.upper().replace(".", "(", 1) + (")" if "." in cid else "")
        checks = unique(by_control.get(cid.replace(".", "(") + (")" if "." in cid else ""), []) + by_control.get(cid, []) + by_control.get(display.lower(), []))
        mode = "automated" if checks else "manual"
        write_requirement(out, display, f"{display} ({NIST_FAMILIES[family]})", NIST_FAMILIES[family], mode, checks)
    (target / "nist-800-53-r5-moderate.yml").write_text("\n".join(out) + "\n")

    # NERC CIP
    aws_map = checks_by_control(corpus / "guard-rules-registry/rule_set_nerc.json")
    out = header("nerc-cip", "NERC CIP — BES Cyber System Information and related requirements (AWS workloads)",
                 "NERC CIP — 大電力系統網路系統資訊（BCSI）及相關要求（AWS 工作負載）",
                 "CIP-004-7, CIP-011-3 (BCSI); CIP-005-7, CIP-007-6, CIP-009-6, CIP-010-4",
                 "CIP-004-7 R6 Part 6.1 and CIP-011-3 R1 Part 1.2 checks as AWS maps them (Guard Rules Registry NERC rule set, CC0; Config conformance pack Operational Best Practices for NERC CIP BCSI); the other parts are Canopy's mapping")
    rows = [(rid, title, unique(aws_map[key]), "AWS") for key, (rid, title) in NERC_AWS_TITLES.items()]
    rows += [(rid, title, checks, "Canopy") for rid, (title, checks) in NERC_CANOPY.items()]
    for rid, title, checks, mapped_by in sorted(rows):
        write_requirement(out, rid, title, rid.split(" ")[0], "automated" if checks else "manual", checks,
                          f"    mapped_by: {mapped_by}")
    (target / "nerc-cip.yml").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
