import CanopyModel
@testable import CanopyStore
import CanopyTestSupport
import Foundation
import GRDB
import Testing

/// The cost ledger's blocks: rows read back exactly as they were written, whatever their values;
/// a damaged block is named, not misread; a ledger of the first layout moves into blocks intact.
@Suite struct CostBlockTests {
    /// Random rows: optional columns absent or present, other columns that come and go, money
    /// and quantities of every scale, tags, and a resource id of its own on every row (so that
    /// column needs four-byte positions once there are more than 65,536 of them).
    static func records(_ count: Int, seed: UInt64) -> [CostRecord] {
        var random = SeededRandom(seed: seed)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        func maybe(_ text: String) -> String? { random.next() % 3 == 0 ? nil : text }
        func money() -> Decimal {
            let mantissa = Decimal(Int64(bitPattern: random.next() % 2_000_000_000_000) - 1_000_000_000_000)
            return Decimal(sign: .plus, exponent: -Int(random.next() % 14), significand: mantissa)
        }
        let start = Date(timeIntervalSince1970: 1_725_148_800)
        let shared = CostColumns.Names(["ChargeDescription", "PricingUnit", "x_Late"])
        return (0..<count).map { index in
            let hour = Double(random.next() % 720) * 3_600 + (random.next() % 5 == 0 ? 0.125 : 0)
            // Rows of a file share their column names (absent values nil); rows built one by one
            // have names of their own.
            var columns: CostColumns = index % 3 == 0 ? CostColumns(names: shared, values: [nil, nil, nil]) : [:]
            if random.next() % 2 == 0 { columns["PricingUnit"] = pick(["Hours", "GB-Mo", "Requests"]) }
            if index > count / 2 { columns["x_Late"] = "late \(random.next() % 7)" }
            if random.next() % 4 == 0 { columns["ChargeDescription"] = "line \"quoted\", ünïcode 用量 \(random.next() % 50)" }
            return CostRecord(
                billingPeriodStart: start, billingPeriodEnd: start.addingTimeInterval(30 * 86_400),
                chargePeriodStart: start.addingTimeInterval(hour), chargePeriodEnd: start.addingTimeInterval(hour + 3_600), provider: "AWS",
                hostProvider: maybe("AWS"), billingAccountID: pick(["111111111111", "222222222222"]), billingAccountName: maybe("Payer"),
                subAccountID: maybe(pick(["599006413549", "123456789012", "000000000001"])), subAccountName: maybe("Grid"), billingCurrency: "USD",
                billedCost: money(), effectiveCost: money(), listCost: money(), contractedCost: random.next() % 2 == 0 ? 0 : money(),
                chargeCategory: pick(["Usage", "Tax", "Credit"]), chargeClass: maybe("Correction"), chargeFrequency: maybe("Usage-Based"),
                serviceName: maybe(pick(["Amazon EC2", "Amazon S3", "AWS Lambda"])), serviceCategory: maybe("Compute"), regionID: maybe("us-east-1"),
                resourceID: "i-\(index)", resourceType: maybe("Instance"), skuID: maybe("SKU\(random.next() % 300)"),
                consumedQuantity: random.next() % 3 == 0 ? nil : money(), consumedUnit: maybe("Hours"), commitmentDiscountID: maybe("ri-1"),
                commitmentDiscountStatus: maybe("Used"), tags: random.next() % 2 == 0 ? [:] : ["App": pick(["scada", "billing"]), "Env": "prod"],
                columns: columns)
        }
    }

    static func block(_ records: [CostRecord]) -> CostBlockBuilder {
        var memo = EncodedCostRow.Memo()
        var builder = CostBlockBuilder(period: "2024-09", provider: "AWS")
        for record in records { builder.append(record, EncodedCostRow(record, memo: &memo)) }
        return builder
    }

    @Test func rowsReadBackExactlyAsWritten() throws {
        let records = Self.records(66_000, seed: 7)
        let builder = Self.block(records)
        let data = Data(builder.encoded())
        let read = try CostBlock.records(data, provider: "AWS")
        #expect(read.count == records.count)
        for (index, (a, b)) in zip(records, read).enumerated() where a != b {
            Issue.record("row \(index): wrote \(a), read \(b)")
            break
        }
        // Every (day, sub-account, service) a row is charged to is in the drill-down keys, and no other.
        let expected = Set(records.map { CostBlockBuilder.DrillDownKey(day: CostCalendar.day($0.chargePeriodStart), subAccount: $0.subAccountID, service: $0.serviceName) })
        #expect(builder.drillDownKeys == expected)
        // Smaller than the rows' values as text, even though these rows repeat less than an export's:
        // money, quantities and resource ids are different on every row.
        let text = records.reduce(0) { total, r in
            total + [r.billingAccountID, r.billingCurrency, r.chargeCategory, r.resourceID ?? "", r.serviceName ?? "", r.subAccountID ?? ""].joined().utf8.count
                + [r.billedCost, r.effectiveCost, r.listCost, r.contractedCost].map(\.exactText).joined().utf8.count + 4 * 20
                + r.columns.dictionary.values.joined().utf8.count + CanopyJSON.object(r.tags).utf8.count
        }
        #expect(data.count < text, "\(data.count) bytes for \(text) bytes of text")
    }

    @Test func aDamagedBlockIsNamedNotMisread() throws {
        let data = Data(Self.block(Self.records(500, seed: 3)).encoded())
        var damaged: [Data] = [data.prefix(data.count - 1), Data("XLB1".utf8) + data.dropFirst(4), data + Data([0])]
        // The last byte is the last row's position in the last column: point it past that column's values.
        var outOfRange = data
        outOfRange[outOfRange.count - 1] = 0xFF
        damaged.append(outOfRange)
        // A tag set that is not JSON.
        var memo = EncodedCostRow.Memo()
        let record = Self.records(1, seed: 3)[0]
        var row = EncodedCostRow(record, memo: &memo)
        row.tags = "{oops"
        var builder = CostBlockBuilder(period: "2024-09", provider: "AWS")
        builder.append(record, row)
        damaged.append(Data(builder.encoded()))
        // Two columns of one name.
        var twoNames = record
        twoNames.columns = ["x_A": "1", "x_B": "2"]
        var named = CostBlockBuilder(period: "2024-09", provider: "AWS")
        named.append(twoNames, EncodedCostRow(twoNames, memo: &memo))
        var repeated = named.encoded()
        let second = try #require((0...(repeated.count - 3)).first { Array(repeated[$0..<($0 + 3)]) == Array("x_B".utf8) })
        repeated[second + 2] = UInt8(ascii: "A")
        damaged.append(Data(repeated))
        for bytes in damaged {
            #expect(throws: CostBlock.Damaged.self) { _ = try CostBlock.records(bytes, provider: "AWS") }
        }
    }

    /// A ledger written by the first layout (`cost_row`, migrations up to 0012) is moved into
    /// blocks when the store opens: the same rows, in the same order, found by the same queries.
    @Test func theFirstLayoutMovesIntoBlocks() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-cost-blocks-\(UUID().uuidString).db").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let records = Self.records(2_000, seed: 11)
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "0012-hosts")
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO cost_import (id, file, sha256, format, rows, periods, billed_total, imported_at, actor) VALUES (1, 'f.csv', 'x', 'focus-1.0', ?, '[\"2024-09 AWS\"]', '0', ?, 't')",
                arguments: [records.count, Date()])
            for r in records {
                try db.execute(
                    sql: """
                        INSERT INTO cost_row (import_id, period, provider, day, billing_period_start, billing_period_end, charge_period_start, charge_period_end,
                            host_provider, billing_account_id, billing_account_name, sub_account_id, sub_account_name, billing_currency, billed_cost,
                            effective_cost, list_cost, contracted_cost, charge_category, charge_class, charge_frequency, service_name, service_category,
                            region_id, resource_id, resource_type, sku_id, consumed_quantity, consumed_unit, commitment_discount_id,
                            commitment_discount_status, tags, columns)
                        VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        CostCalendar.month(r.billingPeriodStart), r.provider, CostCalendar.day(r.chargePeriodStart), r.billingPeriodStart,
                        r.billingPeriodEnd, r.chargePeriodStart, r.chargePeriodEnd, r.hostProvider, r.billingAccountID, r.billingAccountName,
                        r.subAccountID, r.subAccountName, r.billingCurrency, SQLiteStore.decimalText(r.billedCost),
                        SQLiteStore.decimalText(r.effectiveCost), SQLiteStore.decimalText(r.listCost), SQLiteStore.decimalText(r.contractedCost),
                        r.chargeCategory, r.chargeClass, r.chargeFrequency, r.serviceName, r.serviceCategory, r.regionID, r.resourceID, r.resourceType,
                        r.skuID, r.consumedQuantity.map(SQLiteStore.decimalText), r.consumedUnit, r.commitmentDiscountID, r.commitmentDiscountStatus,
                        CanopyJSON.object(r.tags), CanopyJSON.object(r.columns.dictionary),
                    ])
            }
        }
        try queue.close()

        let store = try SQLiteStore(path: path)
        // The first layout kept dates to the millisecond (GRDB's text): the rows read back as it stored them.
        func asStored(_ r: CostRecord) -> CostRecord {
            var r = r
            func milliseconds(_ date: Date) -> Date { Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1_000).rounded() / 1_000) }
            r.chargePeriodStart = milliseconds(r.chargePeriodStart)
            r.chargePeriodEnd = milliseconds(r.chargePeriodEnd)
            return r
        }
        #expect(try await store.costRows(period: "2024-09", provider: "AWS") == records.map(asStored))
        let probe = try #require(records.first { $0.subAccountID != nil && $0.serviceName != nil })
        let day = CostCalendar.day(probe.chargePeriodStart)
        let drilled = try await store.costRows(day: day, subAccount: probe.subAccountID!, service: probe.serviceName!)
        #expect(
            drilled
                == records.filter { CostCalendar.day($0.chargePeriodStart) == day && $0.subAccountID == probe.subAccountID && $0.serviceName == probe.serviceName }
                .map(asStored))
        let tables = try await DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(!tables.contains("cost_row") && tables.contains("cost_block"))
    }
}
