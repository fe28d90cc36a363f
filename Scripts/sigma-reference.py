#!/usr/bin/env python3
"""The reference side of Canopy's Sigma engine test.

  sigma-reference.py probe RULES_DIR... > events.json
      Builds probe events from the rules themselves: for every field map of every search
      identifier, one CloudTrail-shaped event that satisfies it (contains/startswith/endswith
      wrapped in other text, a cidr's network address, a fieldref copied from the other field).
      Selections and filters alike, so `and`, `not` and `1 of` are all exercised.

  sigma-reference.py match RULES_DIR... -- EVENTS.json...
      Converts every rule with pySigma's SQLite backend, loads the events into an SQLite table
      (one column per dotted field path; objects also as their JSON text, as Canopy compares
      them) and prints {rule id: [matching eventIDs]}.
"""
import hashlib
import ipaddress
import json
import sqlite3
import re
import sys
from pathlib import Path

import yaml


def rule_files(dirs):
    for d in dirs:
        yield from sorted(Path(d).glob("*.yml"))


def set_path(event, path, value):
    parts = path.split(".")
    node = event
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[parts[-1]] = value


def get_path(event, path):
    node = event
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def probe_value(value, modifiers):
    if value is None:
        return None
    text = str(value).replace("*", "x").replace("?", "y")
    if "contains" in modifiers:
        return "pre-" + text + "-post"
    if "startswith" in modifiers:
        return text + "-post"
    if "endswith" in modifiers:
        return "pre-" + text
    if "cidr" in modifiers:
        return str(ipaddress.ip_network(str(value), strict=False).network_address)
    if "exists" in modifiers:
        return "present" if value else None
    if "re" in modifiers or any(m in modifiers for m in ("base64", "base64offset", "windash")):
        return None
    return value


def probe(dirs):
    events = []
    for path in rule_files(dirs):
        rule = yaml.safe_load(path.read_text())
        for name, search in rule["detection"].items():
            if name in ("condition", "timeframe"):
                continue
            maps = search if isinstance(search, list) else [search]
            for index, fields in enumerate(maps):
                if not isinstance(fields, dict):
                    continue
                seed = f"{path.name}/{name}/{index}"
                event = {
                    "eventID": "probe-" + hashlib.sha256(seed.encode()).hexdigest()[:24],
                    "eventTime": "2026-11-01T00:00:00Z",
                    "eventSource": "probe.amazonaws.com",
                    "eventName": "Probe",
                    "awsRegion": "us-east-1",
                    "recipientAccountId": "111122223333",
                    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/probe"},
                }
                refs = []
                for key, value in fields.items():
                    field, *modifiers = key.split("|")
                    if "fieldref" in modifiers:
                        refs.append((field, value))
                        continue
                    first = value[0] if isinstance(value, list) and value else value
                    probe = probe_value(first, modifiers)
                    if probe is not None:
                        set_path(event, field, probe)
                for field, other in refs:
                    set_path(event, field, get_path(event, other) or "probe-ref")
                    if get_path(event, other) is None:
                        set_path(event, other, "probe-ref")
                events.append(event)
    json.dump(events, sys.stdout, indent=1, sort_keys=True)
    print()


def flatten(value, prefix, row):
    if isinstance(value, dict):
        if prefix:
            row[prefix] = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for key, member in value.items():
            flatten(member, f"{prefix}.{key}" if prefix else key, row)
    elif isinstance(value, list):
        # SQL holds one value per column: a list's first element stands for it.
        if value:
            flatten(value[0], prefix, row)
    else:
        row[prefix] = value


def match(dirs, event_files):
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection

    rows = []
    for file in event_files:
        data = json.loads(Path(file).read_text())
        records = data["Records"] if isinstance(data, dict) else data
        for record in records:
            row = {}
            flatten(record, "", row)
            rows.append(row)
    # Every field a rule names gets a column, so a query over a field no event has reads NULL.
    named = set()
    for path in rule_files(dirs):
        for name, search in yaml.safe_load(path.read_text())["detection"].items():
            for fields in (search if isinstance(search, list) else [search]):
                if isinstance(fields, dict):
                    for key, value in fields.items():
                        named.add(key.split("|")[0])
                        if "|fieldref" in key:
                            named.add(str(value))
    columns = sorted({c for row in rows for c in row} | named)
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, lambda pattern, value: value is not None and re.search(pattern, str(value)) is not None)
    db.execute("CREATE TABLE logs (" + ", ".join(f'"{c}"' for c in columns) + ")")
    for row in rows:
        names = list(row)
        db.execute(
            "INSERT INTO logs (" + ", ".join(f'"{n}"' for n in names) + ") VALUES (" + ", ".join("?" * len(names)) + ")",
            [row[n] if not isinstance(row[n], bool) else int(row[n]) for n in names],
        )
    backend = sqliteBackend()
    result = {}
    for path in rule_files(dirs):
        collection = SigmaCollection.from_yaml(path.read_text())
        rule = collection.rules[0]
        ids = set()
        for query in backend.convert_rule(rule):
            ids.update(r[0] for r in db.execute(query.replace("SELECT *", "SELECT eventID", 1)))
        result[str(rule.id)] = sorted(ids)
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "probe":
        probe(rest)
    elif command == "match":
        split = rest.index("--")
        match(rest[:split], rest[split + 1 :])
    else:
        sys.exit(f"unknown command {command}")
