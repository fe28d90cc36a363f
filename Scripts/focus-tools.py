#!/usr/bin/env python3
"""The FinOps Foundation's reference tools, run the way Canopy's tests need them.

  focus-tools.py validate FILE.csv          focus-validator (FOCUS 1.0 rule set); exit 1 on failure
  focus-tools.py convert-cur FILE.csv OUT/  focus-converter, AWS CUR (legacy) -> FOCUS CSV in OUT/

Three things about the released packages (focus-validator 1.0.0, focus-converter 1.0.0) are
worked around here, and nothing else is changed:

* focus-validator reads the CSV with pandas' type guessing, so an all-digit AWS account id
  (a FOCUS String column) becomes an integer and fails `IsString`. String-typed FOCUS columns are
  read as text, which is what the specification says they are.
* focus-validator finds its currency list by a path relative to site-packages; it is run from there.
* focus-converter writes through forked worker processes, which deadlock with polars on this
  machine; the writers run as threads instead.

The validator's "1.0" rule set still checks five 1.0-preview rules that contradict FOCUS 1.0 as
published: `Provider`, `Publisher` and `InvoiceIssuer` (1.0 names them `ProviderName`,
`PublisherName`, `InvoiceIssuerName`), `ResourceID` (1.0: `ResourceId`) and a `SkuPriceId` check
written against `ChargeType` (1.0: `ChargeCategory`). Those rules, and only those, are
overridden.
"""
import os
import sys
import tempfile

PREVIEW_ONLY_RULES = [
    "Provider_Required", "Provider_IsString", "Provider_NotNull",
    "Publisher_Required", "Publisher_IsString", "Publisher_NotNull",
    "InvoiceIssuer_Required", "InvoiceIssuer_IsString", "InvoiceIssuer_NotNull",
    "ResourceID_Required", "ResourceID_IsString", "ResourceID_Nullable",
    "SkuPriceId_Nullable",
]

STRING_COLUMNS = [
    "AvailabilityZone", "BillingAccountId", "BillingAccountName", "BillingCurrency", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedUnit", "InvoiceIssuerName", "PricingCategory", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory",
    "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
]


def validate(path):
    import pandas as pd
    import focus_validator
    from focus_validator.data_loaders import csv_data_loader
    from focus_validator.main import DEFAULT_VERSION_SETS_PATH
    from focus_validator.validator import Validator

    def load(self):
        header = pd.read_csv(self.data_filename, nrows=0).columns
        return pd.read_csv(self.data_filename, dtype={c: str for c in STRING_COLUMNS if c in header})

    csv_data_loader.CSVDataLoader.load = load
    path = os.path.abspath(path)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as overrides:
        overrides.write("overrides:\n" + "".join(f"  - {rule}\n" for rule in PREVIEW_ONLY_RULES))
    os.chdir(os.path.dirname(os.path.dirname(focus_validator.__file__)))
    validator = Validator(
        data_filename=path, override_filename=overrides.name, rule_set_path=DEFAULT_VERSION_SETS_PATH, rules_version="1.0",
        output_type="console", output_destination=None, column_namespace=None)
    validator.load()
    results = validator.spec_rules.validate(validator.focus_data)
    validator.outputter.write(results)
    os.unlink(overrides.name)
    return 1 if results.failure_cases is not None else 0


def convert_cur(path, output):
    import queue
    import threading
    import types
    from focus_converter.data_loaders import data_exporter
    from focus_converter.data_loaders.data_loader import DataFormats

    class Writer(threading.Thread):
        def close(self):
            pass

    class Queue(queue.Queue):
        def close(self):
            pass

    data_exporter.multiprocessing = types.SimpleNamespace(Queue=Queue, Process=Writer, cpu_count=lambda: 1)
    from focus_converter.converter import FocusConverter

    os.makedirs(output, exist_ok=True)
    converter = FocusConverter()
    converter.load_provider_conversion_configs()
    converter.load_data(data_path=path, data_format=DataFormats.CSV, parquet_data_format=None)
    converter.configure_data_export(
        export_path=os.path.join(output, ""), export_include_source_columns=False, basename_template=None,
        export_format=data_exporter.ExportDataFormats.CSV)
    converter.prepare_horizontal_conversion_plan(provider="aws-cur")
    converter.convert()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "validate":
        sys.exit(validate(sys.argv[2]))
    if len(sys.argv) == 4 and sys.argv[1] == "convert-cur":
        sys.exit(convert_cur(sys.argv[2], sys.argv[3]))
    sys.exit(__doc__)
