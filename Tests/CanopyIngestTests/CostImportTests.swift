import CanopyIngest
import CanopyModel
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

/// The ledger's promises: exact totals for every corpus file, all-or-nothing and idempotent
/// imports, and errors that name the file, line and column.
@Suite struct CostImportTests {
    static let corpus: URL = {
        if let shared = ProcessInfo.processInfo.environment["CANOPY_SHARED"] { return URL(fileURLWithPath: shared).appendingPathComponent("corpus") }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/corpus")
    }()
    static let files = ["focus/focus-1.0-sample.csv", "cur/aws-cur-legacy-sample.csv", "cur/azure-ea-sample.csv", "cur/oci-cost-sample.csv"]
    static var corpusPresent: Bool { FileManager.default.fileExists(atPath: corpus.appendingPathComponent(files[0]).path) }

    /// Python's csv and decimal modules, independently of Canopy's reader: the sum of each
    /// file's billed-cost column per provider and billing month.
    static func expectedTotals(_ path: String, format: CostFormat) async throws -> [String: Decimal] {
        let (cost, period, provider) =
            switch format {
            case .awsCUR: ("'lineItem/UnblendedCost'", "r['bill/BillingPeriodStartDate'][:7]", "'AWS'")
            case .azureEA: ("'CostInBillingCurrency'", "(lambda m,d,y: f'{y}-{int(m):02d}')(*r['BillingPeriodStartDate'].split('/'))", "'Microsoft'")
            case .oci: ("'cost/myCost'", "r['lineItem/intervalUsageStart'][:7]", "'Oracle'")
            default: ("'BilledCost'", "r['BillingPeriodStart'][:7]", "r['ProviderName']")
            }
        let script = """
            import csv, sys, json
            from decimal import Decimal
            sums = {}
            for r in csv.DictReader(open(sys.argv[1], encoding='utf-8-sig', newline='')):
                v = r[\(cost)]
                key = \(period) + ' ' + \(provider)
                sums[key] = sums.get(key, Decimal(0)) + (Decimal(v) if v not in ('', 'NULL') else Decimal(0))
            print(json.dumps({k: str(v) for k, v in sums.items()}))
            """
        let result = try await Subprocess.run(["python3", "-c", script, path])
        #expect(result.status == 0, "\(result.text)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: String] ?? [:]
        return object.mapValues { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) ?? -1 }
    }

    static func ledgerTotals(_ store: SQLiteStore) async throws -> [String: Decimal] {
        var totals: [String: Decimal] = [:]
        for day in try await store.costDays(CostQuery()) { totals["\(day.period) \(day.provider)", default: 0] += day.billedCost }
        return totals
    }

    @Test(.enabled(if: corpusPresent, "needs ../shared/corpus"), arguments: files)
    func everyCorpusFileImportsWithExactTotals(file: String) async throws {
        let path = Self.corpus.appendingPathComponent(file).path
        let store = try SQLiteStore()
        let source = try CostFile.open(path)
        let format = source.format
        let imported = try #require(try await store.importCosts(file: path, sha256: "x", format: format, rows: source, actor: "test"))
        let expected = try await Self.expectedTotals(path, format: format)
        #expect(try await Self.ledgerTotals(store) == expected, "exact, not just to the cent")
        #expect(imported.billedTotal == expected.values.reduce(0, +))
        // The same file again changes nothing; the rows as stored round-trip their money exactly.
        #expect(try await store.importCosts(file: path, sha256: "x", format: format, rows: try CostFile.open(path), actor: "test") == nil)
        let first = try #require(imported.periods.first?.split(separator: " ", maxSplits: 1).map(String.init))
        let rows = try await store.costRows(period: first[0], provider: first[1])
        #expect(rows.reduce(Decimal(0)) { $0 + $1.billedCost } == expected[imported.periods[0]])
    }

    @Test func formatsAreDetectedFromTheHeader() throws {
        let cases: [(String, CostFormat)] = [
            ("BilledCost,ChargePeriodStart", .focus10), ("BilledCost,ChargePeriodStart,SkuMeter", .focus11),
            ("BilledCost,ChargePeriodStart,InvoiceId", .focus12), ("BilledCost,ChargePeriodStart,ServiceProviderName", .focus13),
            ("lineItem/UnblendedCost", .awsCUR), ("line_item_unblended_cost", .awsCUR2), ("CostInBillingCurrency", .azureEA), ("cost/myCost", .oci),
        ]
        for (header, format) in cases {
            let path = try Self.write(header + "\n")
            #expect(throws: IngestError.self) { _ = try CostFile.open(path) }  // each lacks its mandatory columns…
            do { _ = try CostFile.open(path) } catch let error as IngestError {
                #expect("\(error)".contains("a \(format.rawValue) file needs the column"), "\(header): \(error)")  // …and says which format it saw
            }
        }
    }

    static let focusHeader =
        "BilledCost,EffectiveCost,ListCost,ContractedCost,BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceName,SubAccountId,Tags"

    static func focusLine(_ cost: String, currency: String = "USD", period: String = "2025-01", service: String = "AmazonEC2") -> String {
        "\(cost),\(cost),\(cost),\(cost),111,\(currency),\(period)-01T00:00:00Z,2025-02-01T00:00:00Z,Usage,\(period)-03T00:00:00Z,\(period)-04T00:00:00Z,AWS,\(service),599006413549,\"{\"\"App\"\": \"\"scada\"\"}\""
    }

    static func write(_ text: String, name: String = UUID().uuidString + ".csv") throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Bad input: an error naming file, line and column, and the ledger exactly as it was.
    @Test(arguments: [
        ("wrong delimiter", "BilledCost;EffectiveCost;ListCost\n1;2;3\n", ":1: the header is separated by ';', not commas"),
        ("missing columns", "BilledCost,ProviderName\n1,AWS\n", "needs the columns EffectiveCost, ListCost, ContractedCost"),
        ("non-numeric cost", focusHeader + "\n" + focusLine("1.5") + "\n" + focusLine("ten") + "\n", ":3: column BilledCost: 'ten' is not a number"),
        ("mixed currencies", focusHeader + "\n" + focusLine("1", currency: "USD") + "\n" + focusLine("2", currency: "EUR") + "\n", ":3: mixed currencies in billing period 2025-01 AWS: USD and EUR"),
        ("unclosed quote", focusHeader + "\n" + focusLine("1") + "\n1,\"2,3\n", ":3: a quoted field is never closed"),
        ("field count", focusHeader + "\n1,2,3\n", ":2: 3 fields where the header has 15"),
    ])
    func badInputIsNamedAndChangesNothing(name: String, text: String, message: String) async throws {
        let store = try SQLiteStore()
        let good = try Self.write(Self.focusHeader + "\n" + Self.focusLine("7.25", period: "2025-01") + "\n")
        _ = try await store.importCosts(file: good, sha256: "good", format: .focus10, rows: try CostFile.open(good), actor: "t")
        let before = try await Self.ledgerTotals(store)
        let path = try Self.write(text)
        await #expect {
            let file = try CostFile.open(path)
            _ = try await store.importCosts(file: path, sha256: "bad", format: file.format, rows: file, actor: "t")
        } throws: { error in
            "\(error)".hasPrefix(path) && "\(error)".contains(message)
        }
        #expect(try await Self.ledgerTotals(store) == before, "\(name): nothing imported")
        #expect(try await store.costImports().count == 1)
    }

    @Test func aByteOrderMarkIsFineButNonUTF8IsNamed() async throws {
        let bom = try Self.write("\u{FEFF}" + Self.focusHeader + "\n" + Self.focusLine("1.10") + "\n")
        let store = try SQLiteStore()
        #expect(try await store.importCosts(file: bom, sha256: "b", format: .focus10, rows: try CostFile.open(bom), actor: "t")?.billedTotal == Decimal(string: "1.10"))
        var latin1 = Data((Self.focusHeader + "\n").utf8)
        let parts = Self.focusLine("1").components(separatedBy: "AmazonEC2")
        latin1.append(Data((parts[0] + "Caf").utf8) + Data([0xE9]) + Data((parts[1] + "\n").utf8))  // "Café" in Latin-1
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + ".csv").path
        try latin1.write(to: URL(fileURLWithPath: path))
        await #expect {
            let file = try CostFile.open(path)
            _ = try await store.importCosts(file: path, sha256: "l", format: file.format, rows: file, actor: "t")
        } throws: { error in "\(error)" == "\(path):2: column ServiceName: is not UTF-8 text: re-export the file as UTF-8" }
    }

    @Test func gzipImportsLikeTheCSVAndATruncatedOneIsRefused() async throws {
        let text = Self.focusHeader + "\n" + (1...500).map { Self.focusLine("0.\(String(format: "%03d", $0))", service: "S\($0 % 7)") }.joined(separator: "\n") + "\n"
        let csv = try Self.write(text)
        let gz = csv + ".gz"
        let zipped = try await Subprocess.run(["sh", "-c", "gzip -c '\(csv)' > '\(gz)'"])
        #expect(zipped.status == 0)
        let plain = try SQLiteStore()
        let compressed = try SQLiteStore()
        _ = try await plain.importCosts(file: csv, sha256: "c", format: .focus10, rows: try CostFile.open(csv), actor: "t")
        _ = try await compressed.importCosts(file: gz, sha256: "g", format: .focus10, rows: try CostFile.open(gz), actor: "t")
        #expect(try await Self.ledgerTotals(plain) == Self.ledgerTotals(compressed))
        #expect(try await Self.ledgerTotals(plain)["2025-01 AWS"] == (1...500).reduce(Decimal(0)) { $0 + Decimal($1) / 1000 })
        let data = try Data(contentsOf: URL(fileURLWithPath: gz))
        let truncated = gz + ".cut.gz"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        await #expect {
            let file = try CostFile.open(truncated)
            _ = try await compressed.importCosts(file: truncated, sha256: "t", format: file.format, rows: file, actor: "t")
        } throws: { error in "\(error)".contains("the gzip data is truncated") }
    }

    @Test func aNewFileForAPeriodReplacesItAndOthersStay() async throws {
        let store = try SQLiteStore()
        let january = try Self.write(Self.focusHeader + "\n" + Self.focusLine("10", period: "2025-01") + "\n" + Self.focusLine("5", period: "2025-02") + "\n")
        _ = try await store.importCosts(file: january, sha256: "1", format: .focus10, rows: try CostFile.open(january), actor: "t")
        let restated = try Self.write(Self.focusHeader + "\n" + Self.focusLine("12.5", period: "2025-01") + "\n")
        _ = try await store.importCosts(file: restated, sha256: "2", format: .focus10, rows: try CostFile.open(restated), actor: "t")
        #expect(try await Self.ledgerTotals(store) == ["2025-01 AWS": Decimal(string: "12.5")!, "2025-02 AWS": 5])
        // The first file again is not "unchanged": January is no longer what it holds.
        #expect(try await store.importCosts(file: january, sha256: "1", format: .focus10, rows: try CostFile.open(january), actor: "t") != nil)
        #expect(try await Self.ledgerTotals(store) == ["2025-01 AWS": 10, "2025-02 AWS": 5])
        let rows = try await store.costRows(period: "2025-01", provider: "AWS")
        #expect(rows.count == 1 && rows[0].tags == ["App": "scada"] && rows[0].subAccountID == "599006413549")
        #expect(try await store.auditLog(limit: 10).filter { $0.action == "cost.import" }.count == 3)
    }

    /// A file imported without its digest is hashed as it is read: the digest stored is the
    /// file's (as Python's hashlib has it, gzip bytes as stored), and the same file again is found
    /// unchanged after reading it, with nothing written.
    @Test func aFileHashedAsItIsReadIsFoundUnchanged() async throws {
        let store = try SQLiteStore()
        let plain = try Self.write(Self.focusHeader + "\n" + Self.focusLine("10") + "\n" + Self.focusLine("2.5", period: "2025-02") + "\n")
        let gzip = plain + ".gz"
        defer { try? FileManager.default.removeItem(atPath: gzip) }
        #expect(try await Subprocess.run(["python3", "-c", "import gzip,shutil,sys; shutil.copyfileobj(open(sys.argv[1],'rb'), gzip.open(sys.argv[2],'wb'))", plain, gzip]).status == 0)
        for path in [plain, gzip] {
            let expected = try await Subprocess.run(["python3", "-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", path])
            let imported = try #require(try await store.importCosts(file: path, sha256: nil, format: .focus10, rows: try CostFile.open(path), actor: "t"))
            #expect(imported.sha256 == expected.text.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(try await store.importCosts(file: path, sha256: nil, format: .focus10, rows: try CostFile.open(path), actor: "t") == nil)
        }
        // The gzip file replaced the plain one's periods; each unchanged import wrote nothing.
        #expect(try await store.costImports().count == 2)
        #expect(try await store.auditLog(limit: 10).filter { $0.action == "cost.import" }.count == 2)
        #expect(try await Self.ledgerTotals(store) == ["2025-01 AWS": 10, "2025-02 AWS": Decimal(string: "2.5")!])
    }

    /// Columns FOCUS does not type are kept by name; a name the header repeats keeps its first
    /// column's value, as every lookup by name does.
    @Test func untypedColumnsAreKeptByNameFirstOneWins() throws {
        let path = try Self.write(Self.focusHeader + ",x_Team,PricingUnit,x_Team\n" + Self.focusLine("1") + ",grid,Hours,other\n")
        var file = try CostFile.open(path, hashing: false)
        let record = try #require(try file.next())
        #expect(record.columns == ["x_Team": "grid", "PricingUnit": "Hours"])
        #expect(file.sha256 == nil)
    }

    @Test func curTwoPointZeroMapsLikeLegacyCUR() async throws {
        let header = "bill_payer_account_id,bill_billing_period_start_date,bill_billing_period_end_date,line_item_usage_account_id,line_item_line_item_type,line_item_usage_start_date,line_item_usage_end_date,line_item_product_code,line_item_unblended_cost,line_item_currency_code,line_item_usage_amount,product_region,resource_tags"
        let line = "111,2025-03-01T00:00:00.000Z,2025-04-01T00:00:00.000Z,599006413549,Usage,2025-03-02T00:00:00.000Z,2025-03-02T01:00:00.000Z,AmazonEC2,0.0464,USD,1,us-east-1,\"{\"\"user_App\"\": \"\"scada\"\"}\""
        let path = try Self.write(header + "\n" + line + "\n" + line.replacingOccurrences(of: "Usage,", with: "Tax,") + "\n")
        var file = try CostFile.open(path)
        #expect(file.format == .awsCUR2)
        let record = try #require(try file.next())
        #expect(record.provider == "AWS" && record.billedCost == Decimal(string: "0.0464") && record.serviceName == "AmazonEC2")
        #expect(record.serviceCategory == "Compute" && record.regionID == "us-east-1" && record.tags == ["App": "scada"] && record.chargeCategory == "Usage")
        #expect(try file.next()?.chargeCategory == "Tax")
    }
}
