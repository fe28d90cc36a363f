#!/usr/bin/env python3
"""Derive Canopy's carbon coefficient files from Cloud Carbon Footprint's (Apache-2.0).

    python3 Scripts/derive-carbon-coefficients.py [SHARED_DIR]

Reads shared/corpus/carbon/ccf (cloud-carbon-footprint/cloud-carbon-coefficients) and writes
Sources/CanopyCarbon/Resources/:
  - aws-instances.csv: per instance type its vCPUs, the platform's vCPUs (for embodied shares),
    the platform CPU and its microarchitecture, memory, GPUs and CCF's embodied total (kgCO2e);
  - microarchitectures.csv: min/max watts per vCPU and GB per chip (SPECpower, via CCF);
  - grid-factors-aws.csv: location-based grid factors per AWS region (tCO2e/kWh).
The CPU → microarchitecture table below is Canopy's (public Intel/AMD/AWS product facts); a CPU
CCF has no coefficients for (Ice Lake) is written as such and estimated with AWS's average.
"""
import csv
import os
import sys

shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared")
ccf = os.path.join(shared, "corpus", "carbon", "ccf")
out = os.path.join(os.path.dirname(__file__), "..", "Sources", "CanopyCarbon", "Resources")

MICROARCHITECTURE = {
    "Graviton": "Graviton", "Graviton2": "Graviton2",
    "Xeon Platinum 8259CL": "Cascade Lake", "Xeon Platinum 8275CL": "Cascade Lake", "Xeon Platinum 8252C": "Cascade Lake",
    "Xeon Platinum 8175M": "Sky Lake", "Xeon Platinum 8124M": "Sky Lake", "Xeon Platinum 8151": "Sky Lake",
    "Xeon Platinum 8176M": "Sky Lake", "Xeon Platinum 8375C": "Ice Lake",
    "Xeon E5-2686 v4": "Broadwell", "Xeon E5-2676 v3": "Haswell", "Xeon E5-2666 v3": "Haswell",
    "Xeon E7-8880 v3": "Haswell", "Xeon E5-2670 v2": "Ivy Bridge", "Xeon E5-2680 v2": "Ivy Bridge",
    "Xeon E5-2651 v2": "Ivy Bridge", "Xeon E5-2670": "Sandy Bridge", "Xeon E5-2650": "Sandy Bridge",
    "Xeon E5-2665": "Sandy Bridge", "EPYC 7571": "EPYC 1st Gen", "EPYC 7R32": "EPYC 2nd Gen",
    "Core i7-8700B": "Coffee Lake",
}


def number(text):
    text = (text or "").strip().replace(",", ".")
    return text if text and text != "N/A" else ""


embodied = {r["type"]: r["total"] for r in csv.DictReader(open(os.path.join(ccf, "coefficients-aws-embodied.csv")))}
with open(os.path.join(out, "aws-instances.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["type", "vcpu", "platform_vcpu", "cpu", "microarchitecture", "memory_gb", "gpus", "gpu", "embodied_kg"])
    for r in csv.DictReader(open(os.path.join(ccf, "aws-instances.csv"), encoding="utf-8-sig")):
        cpu = r["Platform CPU Name"].strip()
        gpus = number(r["Instance Number of GPU"])
        w.writerow([r["Instance type"].strip(), number(r["Instance vCPU"]), number(r["Platform Total Number of vCPU"]), cpu,
                    MICROARCHITECTURE[cpu], number(r["Instance Memory (in GB)"]), gpus or "0",
                    r["Platform GPU Name"].strip() if gpus else "", embodied.get(r["Instance type"].strip(), "")])
with open(os.path.join(out, "microarchitectures.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["microarchitecture", "min_watts", "max_watts", "gb_per_chip"])
    for r in csv.DictReader(open(os.path.join(ccf, "coefficients-aws-use.csv"))):
        w.writerow([r["Architecture"], r["Min Watts"], r["Max Watts"], r["GB/Chip"]])
with open(os.path.join(out, "grid-factors-aws.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["region", "tco2e_per_kwh", "source"])
    for r in csv.DictReader(open(os.path.join(ccf, "grid-emissions-factors-aws.csv"))):
        w.writerow([r["Region"], r["CO2e (metric ton/kWh)"], r["Source"]])
