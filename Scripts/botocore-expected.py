#!/usr/bin/env python3
"""Decode each recorded response in Tests/CanopyAWSTests/Fixtures with botocore's own parsers and
write what boto3 would return next to it (`NAME.expected.json`), so Canopy's decoders are tested
against the reference implementation rather than against our reading of the protocol specs.

    python3 Scripts/botocore-expected.py

Fixture names are `<service>-<operation-in-kebab-case>.<xml|json>`; timestamps are written as
ISO 8601 UTC with milliseconds, the form Canopy stores.
"""
import datetime
import glob
import json
import os
import re

import botocore.session
from botocore import parsers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "CanopyAWSTests", "Fixtures")


def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, bytes):
        return value.decode()
    return value


def main():
    session = botocore.session.get_session()
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.*"))):
        name = os.path.basename(path)
        if name.endswith(".expected.json") or "-error-" in name:
            continue
        stem = name.rsplit(".", 1)[0]
        service, operation = stem.split("-", 1)
        operation = "".join(part.capitalize() for part in operation.split("-"))
        operation = re.sub("^Describe(Db)", "DescribeDB", operation)
        model = session.get_service_model(service)
        op = model.operation_model(operation)
        protocol = model.metadata["protocol"]
        with open(path, "rb") as f:
            body = f.read()
        parsed = parsers.create_parser(protocol).parse(
            {"body": body, "headers": {}, "status_code": 200}, op.output_shape)
        with open(os.path.join(FIXTURES, stem + ".expected.json"), "w") as f:
            json.dump(plain(parsed), f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: {protocol} {operation}")


if __name__ == "__main__":
    main()
