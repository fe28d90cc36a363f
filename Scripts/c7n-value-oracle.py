#!/usr/bin/env python3
"""Cloud Custodian as the oracle for Canopy's value filters.

Reads a JSON list of {"filter": {...}, "resource": {...}} from stdin and prints, as a JSON list,
whether Custodian's own ValueFilter (c7n from PyPI) matches each resource. The Swift test
`ValueFilterConformanceTests` compares Canopy's answers with these.
"""
import json
import sys

from c7n.filters.core import ValueFilter


def main():
    cases = json.load(sys.stdin)
    answers = []
    for case in cases:
        try:
            answers.append(bool(ValueFilter(case["filter"]).match(case["resource"])))
        except Exception as error:  # Custodian raising is an answer too: the filter fails
            answers.append(f"error: {type(error).__name__}")
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
