#!/usr/bin/env python3
"""Validate OCSF events against the OCSF schema, as the OCSF server's validator does.

    ocsf-validate.py SCHEMA.json[.gz] EVENTS.json|EVENTS.ndjson ...

Prints one line per problem ("event 3: finding_info.uid: required attribute is missing") and
exits 1 if there was any. Checks each event's class by class_uid; required attributes; that no
attribute is unknown to its class or object; types (strings, integers, longs, floats, booleans,
objects, arrays); enumerations; and that type_uid = class_uid * 100 + activity_id.

The schema is the OCSF 1.3.0 release compiled by ocsf-lib (PyPI) with the profiles Canopy's
events declare (cloud, datetime), trimmed to the classes Canopy writes and without the
documentation text. It was made from the ocsf/ocsf-schema repository (Apache-2.0) at the
v1.3.0 release commit c8bde8c4:

    git archive c8bde8c4 | tar -x -C /tmp/ocsf13
    python3 -m ocsf.compile /tmp/ocsf13 --profile cloud datetime > /tmp/ocsf.json
    (then kept: version, objects, types, and the classes detection_finding, compliance_finding,
    vulnerability_finding, api_activity, authentication, account_change; gzip -9)
"""
import gzip
import json
import sys
from pathlib import Path

SCALARS = {
    "string_t": str,
    "integer_t": int,
    "long_t": int,
    "timestamp_t": int,
    "float_t": (int, float),
    "boolean_t": bool,
    "datetime_t": str,
}


def base_type(schema, name):
    seen = set()
    while name in schema["types"] and name not in SCALARS and name not in seen:
        seen.add(name)
        parent = schema["types"][name].get("type")
        if not parent or parent == name:
            break
        name = parent
    return name


def check_value(schema, value, attribute, path, problems):
    kind = attribute.get("type", "string_t")
    if attribute.get("is_array"):
        if not isinstance(value, list):
            problems.append(f"{path}: must be an array")
            return
        for index, item in enumerate(value):
            check_single(schema, item, attribute, kind, f"{path}[{index}]", problems)
    else:
        check_single(schema, value, attribute, kind, path, problems)


def check_single(schema, value, attribute, kind, path, problems):
    if kind in ("object", "json_t"):
        return
    if kind in schema["objects"]:
        if not isinstance(value, dict):
            problems.append(f"{path}: must be an object ({kind})")
            return
        check_object(schema, value, schema["objects"][kind]["attributes"], path, problems)
        return
    base = base_type(schema, kind)
    expected = SCALARS.get(base)
    if expected is None:
        return
    if isinstance(value, bool) and base != "boolean_t":
        problems.append(f"{path}: must be {base}, not a boolean")
        return
    if not isinstance(value, expected):
        problems.append(f"{path}: must be {base}, not {type(value).__name__}")
        return
    enum = attribute.get("enum")
    if enum and str(value) not in enum:
        problems.append(f"{path}: {value!r} is not one of {sorted(enum)}")


def check_object(schema, value, attributes, path, problems):
    for name, attribute in attributes.items():
        if attribute.get("requirement") == "required" and value.get(name) is None:
            problems.append(f"{path + '.' if path else ''}{name}: required attribute is missing")
    for name, item in value.items():
        where = f"{path + '.' if path else ''}{name}"
        if name not in attributes:
            problems.append(f"{where}: not an attribute of this {'object' if path else 'class'}")
            continue
        if item is None:
            continue
        check_value(schema, item, attributes[name], where, problems)


def validate(schema, event):
    problems = []
    classes = {c["uid"]: c for c in schema["classes"].values()}
    uid = event.get("class_uid")
    if uid not in classes:
        return [f"class_uid: {uid!r} is not a class this schema holds"]
    cls = classes[uid]
    check_object(schema, event, cls["attributes"], "", problems)
    activity = event.get("activity_id")
    if isinstance(activity, int) and event.get("type_uid") != uid * 100 + activity:
        problems.append(f"type_uid: must be class_uid * 100 + activity_id = {uid * 100 + activity}")
    return problems


def main():
    schema_path, *files = sys.argv[1:]
    raw = Path(schema_path).read_bytes()
    schema = json.loads(gzip.decompress(raw) if schema_path.endswith(".gz") else raw)
    count = 0
    failed = False
    for file in files:
        text = Path(file).read_text()
        try:
            data = json.loads(text)
            events = data if isinstance(data, list) else [data]
        except json.JSONDecodeError:
            events = [json.loads(line) for line in text.splitlines() if line.strip()]
        for index, event in enumerate(events):
            count += 1
            for problem in validate(schema, event):
                failed = True
                print(f"{file}: event {index}: {problem}")
    print(f"{count} events checked against OCSF {schema['version']}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
