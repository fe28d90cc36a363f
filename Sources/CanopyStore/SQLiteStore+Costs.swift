import CanopyModel
import Crypto
import Foundation
import GRDB

/// One day's sums for one account, service and region: the grain every cost view reads.
public struct CostDay: Sendable, Hashable, Codable {
    public var period: String
    public var provider: String
    public var day: String
    public var billingAccountID: String
    public var subAccountID: String
    public var serviceName: String
    public var regionID: String
    public var chargeCategory: String
    /// Only in slices (`costSlices`): what allocation rules look at besides the above.
    public var resourceType: String
    public var tags: [String: String]
    public var currency: String
    public var billedCost: Decimal
    public var effectiveCost: Decimal
    public var listCost: Decimal
    public var rows: Int

    public init(
        period: String, provider: String, day: String, billingAccountID: String, subAccountID: String, serviceName: String, regionID: String,
        chargeCategory: String, resourceType: String = "", tags: [String: String] = [:], currency: String, billedCost: Decimal, effectiveCost: Decimal,
        listCost: Decimal, rows: Int
    ) {
        self.period = period
        self.provider = provider
        self.day = day
        self.billingAccountID = billingAccountID
        self.subAccountID = subAccountID
        self.serviceName = serviceName
        self.regionID = regionID
        self.chargeCategory = chargeCategory
        self.resourceType = resourceType
        self.tags = tags
        self.currency = currency
        self.billedCost = billedCost
        self.effectiveCost = effectiveCost
        self.listCost = listCost
        self.rows = rows
    }
}

/// Which daily sums to read. `nil` means any.
public struct CostQuery: Sendable, Hashable {
    /// `YYYY-MM-DD`, inclusive.
    public var from: String?
    /// `YYYY-MM-DD`, exclusive.
    public var to: String?
    public var providers: [String]?
    public var subAccounts: [String]?

    public init(from: String? = nil, to: String? = nil, providers: [String]? = nil, subAccounts: [String]? = nil) {
        self.from = from
        self.to = to
        self.providers = providers
        self.subAccounts = subAccounts
    }
}

public protocol CostRepository: Sendable {
    /// Imports rows in one transaction: every billing period of every provider the rows cover is
    /// replaced by them, and nothing is kept if a row fails. Returns nil when this very file
    /// (by SHA-256) is already what the ledger holds for all its periods. A nil `sha256` is the
    /// source's own (`CostRowSource.sha256`), known once it is read: an unchanged file is then
    /// found after reading it, and the transaction rolled back.
    func importCosts(file: String, sha256: String?, format: CostFormat, rows: sending any CostRowSource, actor: String) async throws -> CostImport?
    func costImports() async throws -> [CostImport]
    func costDays(_ query: CostQuery) async throws -> [CostDay]
    /// The billing periods (`YYYY-MM`) the ledger holds, oldest first.
    func costPeriods() async throws -> [String]
    /// The daily sums split further by resource type and tags: what allocation reads.
    func costSlices(_ query: CostQuery) async throws -> [CostDay]
    /// Every ledger row of a billing period (`YYYY-MM`) and provider, as stored.
    func costRows(period: String, provider: String) async throws -> [CostRecord]
    /// Every provider's rows of a billing period, for these sub-accounts (all when nil).
    func costRows(period: String, subAccounts: [String]?) async throws -> [CostRecord]
    /// Every provider's rows of a billing period handed to `body` one at a time, in import order,
    /// so a period of any size is read in constant memory (the export).
    func eachCostRow(period: String, _ body: @escaping @Sendable (CostRecord) throws -> Void) async throws
    /// The rows charged on one day (`YYYY-MM-DD`) to one account for one service.
    func costRows(day: String, subAccount: String, service: String) async throws -> [CostRecord]

    /// The allocation rules in force (nil: none applied yet).
    func currentAllocation() async throws -> AllocationVersion?
    /// Every applied rule set, newest first.
    func allocationVersions() async throws -> [AllocationVersion]
    /// Applies a rule set as a new version (audited). Nil when it is what is in force already.
    func applyAllocation(_ rules: AllocationRules, source: String, actor: String) async throws -> AllocationVersion?

    func budgets() async throws -> [Budget]
    /// Inserts or replaces a budget (audited).
    func save(_ budget: Budget, actor: String) async throws
    func deleteBudget(id: String, actor: String) async throws
}

/// One day's sums are kept per these (`cost_daily`).
struct CostDayKey: Hashable {
    var period, provider, day, billingAccount, subAccount, service, region, category, currency: String
}

/// …and split further by what allocation rules look at (`cost_slice`).
struct CostSliceKey: Hashable {
    var day: CostDayKey
    var resourceType: String
    var tags: String
}

/// The money of a day or a slice, summed exactly.
struct CostSums {
    var billed = ExactSum(), effective = ExactSum(), list = ExactSum()
    var rows = 0

    mutating func add(_ r: CostRecord) {
        billed.add(r.billedCost)
        effective.add(r.effectiveCost)
        list.add(r.listCost)
        rows += 1
    }

    mutating func add(_ other: CostSums) {
        billed.add(other.billed)
        effective.add(other.effective)
        list.add(other.list)
        rows += other.rows
    }
}

/// A ledger row's text encodings, as a block stores them (the row itself travels beside it, not
/// in it: a copy of a row is forty retains).
struct EncodedCostRow {
    var period, day: String
    var billingPeriodStart, billingPeriodEnd, chargePeriodStart, chargePeriodEnd: String
    var billed, effective, list, contracted: String
    var quantity: String?
    var tags: String

    /// What text encodings computed, kept for the rows that follow: rows repeat their dates, and
    /// a resource's rows repeat its tags.
    struct Memo {
        fileprivate var calendar: [Date: (month: String, day: String)] = [:]
        fileprivate var dates: [Date: String] = [:]
        fileprivate var tags: [[String: String]: String] = [:]
    }

    init(_ r: borrowing CostRecord, memo: inout Memo) {
        func text(_ date: Date) -> String {
            if let known = memo.dates[date] { return known }
            let value = CostBlock.text(date)
            memo.dates[date] = value
            return value
        }
        func days(_ date: Date) -> (month: String, day: String) {
            if let known = memo.calendar[date] { return known }
            let value = (CostCalendar.month(date), CostCalendar.day(date))
            memo.calendar[date] = value
            return value
        }
        period = days(r.billingPeriodStart).month
        day = days(r.chargePeriodStart).day
        billingPeriodStart = text(r.billingPeriodStart)
        billingPeriodEnd = text(r.billingPeriodEnd)
        chargePeriodStart = text(r.chargePeriodStart)
        chargePeriodEnd = text(r.chargePeriodEnd)
        billed = r.billedCost.exactText
        effective = r.effectiveCost.exactText
        list = r.listCost.exactText
        contracted = r.contractedCost.exactText
        quantity = r.consumedQuantity.map(\.exactText)
        if r.tags.isEmpty {
            tags = "{}"
        } else if let known = memo.tags[r.tags] {
            tags = known
        } else {
            tags = CanopyJSON.object(r.tags)
            // Bounded: an export with ever new tag sets starts over rather than grows.
            if memo.tags.count >= 16_384 { memo.tags.removeAll(keepingCapacity: true) }
            memo.tags[r.tags] = tags
        }
    }
}

/// Writes ledger rows as blocks (`CostBlock`): one builder per import, billing period and
/// provider, each written when full and the rest at `finish`.
struct CostBlockWriter {
    private struct Key: Hashable {
        var importID: Int64
        var period, provider: String
    }

    /// The builder rows go to now, kept out of `builders`: rows come in long runs of one period
    /// and provider, and a builder in a dictionary is looked up (and copied into) once a row.
    private var currentKey: Key?
    private var current = CostBlockBuilder(period: "", provider: "")
    /// The other open builders.
    private var builders: [Key: CostBlockBuilder] = [:]
    /// The sums of every block written, per slice.
    private(set) var slices: [CostSliceKey: CostSums] = [:]
    private let insertBlock: Statement
    private let insertKey: Statement

    init(_ db: Database) throws {
        insertBlock = try db.makeStatement(sql: "INSERT INTO cost_block (import_id, period, provider, rows, data) VALUES (?, ?, ?, ?, ?)")
        insertKey = try db.makeStatement(sql: "INSERT INTO cost_block_key (day, sub_account_id, service_name, block_id) VALUES (?, ?, ?, ?)")
    }

    mutating func append(_ r: CostRecord, _ e: EncodedCostRow, importID: Int64, _ db: Database) throws {
        if currentKey?.importID != importID || currentKey?.period != e.period || currentKey?.provider != r.provider {
            let key = Key(importID: importID, period: e.period, provider: r.provider)
            if let open = currentKey { builders[open] = current }
            current = builders.removeValue(forKey: key) ?? CostBlockBuilder(period: e.period, provider: r.provider)
            currentKey = key
        }
        if current.rows == CostBlock.rowsPerBlock {
            try write(current, importID: importID, db)
            current = CostBlockBuilder(period: e.period, provider: r.provider)
        }
        current.append(r, e)
    }

    mutating func finish(_ db: Database) throws {
        if let open = currentKey { builders[open] = current }
        currentKey = nil
        current = CostBlockBuilder(period: "", provider: "")
        for (key, builder) in builders.sorted(by: { ($0.key.importID, $0.key.period, $0.key.provider) < ($1.key.importID, $1.key.period, $1.key.provider) }) {
            try write(builder, importID: key.importID, db)
        }
        builders = [:]
    }

    private mutating func write(_ builder: CostBlockBuilder, importID: Int64, _ db: Database) throws {
        for (key, sums) in builder.slices { slices[key, default: CostSums()].add(sums) }
        let data = Data(builder.encoded())
        try insertBlock.execute(arguments: [importID, builder.period, builder.provider, builder.rows, data])
        let block = db.lastInsertedRowID
        // Absent sub-accounts and services are '' here; readers compare the rows themselves.
        for key in builder.drillDownKeys {
            try insertKey.execute(arguments: [key.day, key.subAccount ?? "", key.service ?? "", block])
        }
    }
}

/// Batches of rows between the reading thread and the writing one. At most `depth`
/// batches wait, so memory stays bounded whatever the file's size; the reader's error reaches
/// the writer, and a writer that stops (an SQLite error) stops the reader.
///
/// The writer gives each batch back when done with it, and the reader empties it before filling
/// it again: the rows' strings are freed on the thread that allocated them. Freed on the writer's
/// thread, each free took the lock of the reader's malloc arena, and the two threads spent a
/// sixth of their time waiting on each other there.
final class CostRowPipe: @unchecked Sendable {
    static let batchSize = 1_024
    static let depth = 4
    private let condition = NSCondition()
    private var batches: [[CostRecord]] = []
    private var spent: [[CostRecord]] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false

    /// Hands a batch over, waiting while the writer is `depth` behind; false once cancelled.
    /// The batch is given up, not shared: the writer, holding the only reference, works on it in
    /// place.
    func put(_ batch: consuming [CostRecord]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= Self.depth, !cancelled { condition.wait() }
        guard !cancelled else { return false }
        batches.append(consume batch)
        condition.broadcast()
        return true
    }

    /// The writer is done with a batch.
    func giveBack(_ batch: [CostRecord]) {
        condition.lock()
        if spent.count <= Self.depth { spent.append(batch) }
        condition.unlock()
    }

    /// An empty batch to fill: one the writer gave back, emptied here (on the reader's thread).
    func emptyBatch() -> [CostRecord] {
        condition.lock()
        var batch = spent.popLast() ?? []
        condition.unlock()
        batch.removeAll(keepingCapacity: true)
        batch.reserveCapacity(Self.batchSize)
        return batch
    }

    /// The reader is done: at the end of the file (nil) or failed.
    func finish(_ error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch; nil at the end; the reader's error, if it failed.
    func take() throws -> [CostRecord]? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty, !finished { condition.wait() }
        if !batches.isEmpty {
            let batch = batches.removeFirst()
            condition.broadcast()
            return batch
        }
        if let failure { throw failure }
        return nil
    }

    /// The writer stops taking (it finished or failed): a waiting reader returns.
    func cancel() {
        condition.lock()
        cancelled = true
        batches.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

private final class SourceBox: @unchecked Sendable {
    var source: any CostRowSource
    init(_ source: any CostRowSource) { self.source = source }
}

extension SQLiteStore: CostRepository {
    static func decimalText(_ value: Decimal) -> String { NSDecimalNumber(decimal: value).stringValue }
    static func decimal(_ text: String) -> Decimal { Decimal(exactText: text) ?? 0 }

    public func importCosts(file: String, sha256: String?, format: CostFormat, rows: sending any CostRowSource, actor: String) async throws -> CostImport? {
        let box = SourceBox(rows)
        let writer = self.writer
        // A long import reads and writes synchronously: on a thread of its own, so it never
        // holds one of the few threads Swift concurrency (and the server) runs on.
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    let result = try writer.write { db in try Self.importCosts(db, file: file, sha256: sha256, format: format, box: box, actor: actor) }
                    continuation.resume(returning: result)
                } catch is UnchangedFile {
                    continuation.resume(returning: nil)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Thrown inside an import's transaction to roll it back: the file was read and is what the
    /// ledger holds already.
    private struct UnchangedFile: Error {}

    /// Whether an import of this very file (by SHA-256) is still what the ledger holds for every
    /// period it covered.
    private static func holdsCurrently(_ db: Database, sha256: String) throws -> Bool {
        for previous in try Row.fetchAll(db, sql: "SELECT id, periods FROM cost_import WHERE sha256 = ? ORDER BY id DESC", arguments: [sha256]) {
            let periods = try StoreCoding.decode([String].self, previous["periods"])
            let current = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT period, provider FROM cost_block WHERE import_id = ?)", arguments: [previous["id"] as Int64]) ?? 0
            if current == periods.count, !periods.isEmpty { return true }
        }
        return false
    }

    /// Writes daily sums and slices of `importID`, whatever is there for their periods replaced.
    private static func insertSums(_ db: Database, importID: Int64, days: [CostDayKey: CostSums], slices: [CostSliceKey: CostSums]) throws {
        let daily = try db.makeStatement(
            sql: """
                INSERT INTO cost_daily (import_id, period, provider, day, billing_account_id, sub_account_id, service_name, region_id,
                    charge_category, billing_currency, billed_cost, effective_cost, list_cost, rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (key, sums) in days {
            try daily.execute(arguments: [
                importID, key.period, key.provider, key.day, key.billingAccount, key.subAccount, key.service, key.region, key.category, key.currency,
                decimalText(sums.billed.value), decimalText(sums.effective.value), decimalText(sums.list.value), sums.rows,
            ])
        }
        let slice = try db.makeStatement(
            sql: """
                INSERT INTO cost_slice (import_id, period, provider, day, billing_account_id, sub_account_id, service_name, region_id,
                    charge_category, resource_type, tags, billing_currency, billed_cost, effective_cost, list_cost, rows)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (key, sums) in slices {
            let d = key.day
            try slice.execute(arguments: [
                importID, d.period, d.provider, d.day, d.billingAccount, d.subAccount, d.service, d.region, d.category, key.resourceType, key.tags,
                d.currency, decimalText(sums.billed.value), decimalText(sums.effective.value), decimalText(sums.list.value), sums.rows,
            ])
        }
    }

    /// Recomputes every slice from the ledger rows (a database from before slices existed).
    static func rebuildSlices(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM cost_slice")
        var slices: [Int64: [CostSliceKey: CostSums]] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT import_id, period, provider, day, billing_account_id, sub_account_id, service_name, region_id, charge_category,
                    resource_type, tags, billing_currency, billed_cost, effective_cost, list_cost FROM cost_row
                """)
        while let row = try rows.next() {
            let day = CostDayKey(
                period: row["period"], provider: row["provider"], day: row["day"], billingAccount: row["billing_account_id"],
                subAccount: row["sub_account_id"] ?? "", service: row["service_name"] ?? "", region: row["region_id"] ?? "",
                category: row["charge_category"], currency: row["billing_currency"])
            let key = CostSliceKey(day: day, resourceType: row["resource_type"] ?? "", tags: row["tags"])
            var s = slices[row["import_id"], default: [:]][key] ?? CostSums()
            s.billed.add(decimal(row["billed_cost"]))
            s.effective.add(decimal(row["effective_cost"]))
            s.list.add(decimal(row["list_cost"]))
            s.rows += 1
            slices[row["import_id"], default: [:]][key] = s
        }
        for (importID, byKey) in slices { try insertSums(db, importID: importID, days: [:], slices: byKey) }
    }

    private static func importCosts(
        _ db: Database, file: String, sha256 known: String?, format: CostFormat, box: SourceBox, actor: String
    ) throws -> CostImport? {
        // The same file again, still current for all it covered: nothing to do.
        if let known, try holdsCurrently(db, sha256: known) { return nil }
        let now = Date()
        try db.execute(
            sql: "INSERT INTO cost_import (file, sha256, format, rows, periods, billed_total, imported_at, actor) VALUES (?, ?, ?, 0, '[]', '0', ?, ?)",
            arguments: [file, known ?? "", format.rawValue, now, actor])
        let importID = db.lastInsertedRowID
        var blocks = try CostBlockWriter(db)
        // Reading rows (CSV parsing, FOCUS mapping) runs on a thread of its own, a batch ahead of
        // the writing (text encodings, blocks, sums): the two halves cost about the same, and a
        // server has a second core.
        let pipe = CostRowPipe()
        Thread.detachNewThread { Self.readRows(from: box, into: pipe) }
        defer { pipe.cancel() }
        var memo = EncodedCostRow.Memo()
        while var batch = try pipe.take() {
            // Each row is moved out of the batch and back, not copied (a copy of a row is forty
            // retains, and its release as many): the batch goes back whole, for the reader to free.
            try batch.withUnsafeMutableBufferPointer { rows in
                for slot in rows.indices {
                    let row = (rows.baseAddress! + slot).move()
                    var failure: (any Error)?
                    do { try blocks.append(row, EncodedCostRow(row, memo: &memo), importID: importID, db) } catch { failure = error }
                    (rows.baseAddress! + slot).initialize(to: consume row)
                    if let failure { throw failure }
                }
            }
            pipe.giveBack(batch)
        }
        try blocks.finish(db)
        // Known now if it was not before (the reader hashed the file); the same file as one the
        // ledger holds already leaves everything as it was.
        let sha256 = known ?? box.source.sha256 ?? ""
        if known == nil, !sha256.isEmpty, try Self.holdsCurrently(db, sha256: sha256) { throw UnchangedFile() }
        // The daily sums are the slices folded (a slice is a day key and more).
        let slices = blocks.slices
        var sums: [CostDayKey: CostSums] = [:]
        var all = CostSums()
        for (key, slice) in slices {
            sums[key.day, default: CostSums()].add(slice)
            all.add(slice)
        }
        let count = all.rows
        let total = all.billed
        let periods = Set(slices.keys.map { "\($0.day.period) \($0.day.provider)" })
        // What this import covers replaces what was there, in this same transaction.
        for entry in periods {
            let parts = entry.split(separator: " ", maxSplits: 1).map(String.init)
            try deleteBlocks(db, where: "period = ? AND provider = ? AND import_id <> ?", [parts[0], parts[1], importID])
            try db.execute(sql: "DELETE FROM cost_daily WHERE period = ? AND provider = ?", arguments: [parts[0], parts[1]])
            try db.execute(sql: "DELETE FROM cost_slice WHERE period = ? AND provider = ?", arguments: [parts[0], parts[1]])
        }
        try insertSums(db, importID: importID, days: sums, slices: slices)
        let sortedPeriods = periods.sorted()
        try db.execute(
            sql: "UPDATE cost_import SET sha256 = ?, rows = ?, periods = ?, billed_total = ? WHERE id = ?",
            arguments: [sha256, count, try StoreCoding.text(sortedPeriods), decimalText(total.value), importID])
        _ = try appendAudit(
            db, actor: actor, action: "cost.import", target: "cost-import/\(importID)",
            details: [
                "file": .string(URL(fileURLWithPath: file).lastPathComponent), "sha256": .string(sha256), "format": .string(format.rawValue),
                "rows": .int(Int64(count)), "periods": .array(sortedPeriods.map(JSONValue.string)), "billed_total": .string(decimalText(total.value)),
            ], at: now)
        return CostImport(
            id: importID, file: file, sha256: sha256, format: format, rows: count, periods: sortedPeriods, billedTotal: total.value, importedAt: now,
            actor: actor)
    }

    /// The reading half of an import: rows read from the file and handed over in batches until
    /// the file ends, it fails, or the import stops taking them.
    private static func readRows(from box: SourceBox, into pipe: CostRowPipe) {
        var batch = pipe.emptyBatch()
        do {
            while let r = try box.source.next() {
                batch.append(consume r)
                if batch.count == CostRowPipe.batchSize {
                    guard pipe.put(consume batch) else { return }
                    batch = pipe.emptyBatch()
                }
            }
            if !batch.isEmpty, !pipe.put(batch) { return }
            pipe.finish(nil)
        } catch {
            pipe.finish(error)
        }
    }

    /// Deletes the blocks a condition on `cost_block` selects, with their drill-down keys.
    private static func deleteBlocks(_ db: Database, where condition: String, _ arguments: StatementArguments) throws {
        try db.execute(sql: "DELETE FROM cost_block_key WHERE block_id IN (SELECT id FROM cost_block WHERE \(condition))", arguments: arguments)
        try db.execute(sql: "DELETE FROM cost_block WHERE \(condition)", arguments: arguments)
    }

    public func costImports() async throws -> [CostImport] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cost_import ORDER BY id").map { row in
                CostImport(
                    id: row["id"], file: row["file"], sha256: row["sha256"], format: CostFormat(rawValue: row["format"]) ?? .focus12, rows: row["rows"],
                    periods: try StoreCoding.decode([String].self, row["periods"]), billedTotal: Self.decimal(row["billed_total"]),
                    importedAt: row["imported_at"], actor: row["actor"])
            }
        }
    }

    public func costDays(_ query: CostQuery) async throws -> [CostDay] { try await sums(from: "cost_daily", query) }

    public func costSlices(_ query: CostQuery) async throws -> [CostDay] { try await sums(from: "cost_slice", query) }

    public func costPeriods() async throws -> [String] {
        try await writer.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT period FROM cost_daily ORDER BY period") }
    }

    private func sums(from table: String, _ query: CostQuery) async throws -> [CostDay] {
        let sliced = table == "cost_slice"
        return try await writer.read { db in
            var clauses: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let from = query.from {
                clauses.append("day >= ?")
                arguments.append(from)
            }
            if let to = query.to {
                clauses.append("day < ?")
                arguments.append(to)
            }
            if let providers = query.providers {
                clauses.append("provider IN (\(Array(repeating: "?", count: providers.count).joined(separator: ",")))")
                arguments += providers as [any DatabaseValueConvertible]
            }
            if let accounts = query.subAccounts {
                clauses.append("sub_account_id IN (\(Array(repeating: "?", count: accounts.count).joined(separator: ",")))")
                arguments += accounts as [any DatabaseValueConvertible]
            }
            // Columns by position, not name, and each tag set decoded once: a month of a large
            // estate is tens of thousands of slices, and the dashboards read them on every view.
            let columns = "period, provider, day, billing_account_id, sub_account_id, service_name, region_id, charge_category, billing_currency, "
                + "billed_cost, effective_cost, list_cost, rows" + (sliced ? ", resource_type, tags" : "")
            let sql = "SELECT \(columns) FROM \(table)" + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY day"
            var tagSets: [String: [String: String]] = [:]
            var result: [CostDay] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                var tags: [String: String] = [:]
                if sliced {
                    let text: String = row[14]
                    if let known = tagSets[text] {
                        tags = known
                    } else {
                        tags = try StoreCoding.decode([String: String].self, text)
                        tagSets[text] = tags
                    }
                }
                result.append(
                    CostDay(
                        period: row[0], provider: row[1], day: row[2], billingAccountID: row[3], subAccountID: row[4], serviceName: row[5],
                        regionID: row[6], chargeCategory: row[7], resourceType: sliced ? row[13] : "", tags: tags, currency: row[8],
                        billedCost: Self.decimal(row[9]), effectiveCost: Self.decimal(row[10]), listCost: Self.decimal(row[11]), rows: row[12]))
            }
            return result
        }
    }

    public func costRows(period: String, provider: String) async throws -> [CostRecord] {
        try await costRows(blocks: "period = ? AND provider = ?", [period, provider]) { _ in true }
    }

    public func costRows(period: String, subAccounts: [String]?) async throws -> [CostRecord] {
        guard let subAccounts else { return try await costRows(blocks: "period = ?", [period]) { _ in true } }
        let wanted = Set(subAccounts)
        guard !wanted.isEmpty else { return [] }
        return try await costRows(blocks: "period = ?", [period]) { $0.subAccountID.map(wanted.contains) ?? false }
    }

    public func costRows(day: String, subAccount: String, service: String) async throws -> [CostRecord] {
        // The drill-down index names the blocks holding such rows; the rows themselves decide.
        try await costRows(
            blocks: "id IN (SELECT block_id FROM cost_block_key WHERE day = ? AND sub_account_id = ? AND service_name = ?)", [day, subAccount, service]
        ) { $0.subAccountID == subAccount && $0.serviceName == service && CostCalendar.day($0.chargePeriodStart) == day }
    }

    public func eachCostRow(period: String, _ body: @escaping @Sendable (CostRecord) throws -> Void) async throws {
        try await writer.read { db in
            let blocks = try Row.fetchCursor(db, sql: "SELECT provider, data FROM cost_block WHERE period = ? ORDER BY id", arguments: [period])
            while let block = try blocks.next() {
                for record in try CostBlock.records(block[1], provider: block[0]) { try body(record) }
            }
        }
    }

    /// The rows of the blocks `condition` selects that `keep` keeps, in import order.
    private func costRows(blocks condition: String, _ arguments: StatementArguments, keep: @escaping @Sendable (CostRecord) -> Bool) async throws
        -> [CostRecord]
    {
        try await writer.read { db in
            var records: [CostRecord] = []
            let blocks = try Row.fetchCursor(db, sql: "SELECT provider, data FROM cost_block WHERE \(condition) ORDER BY id", arguments: arguments)
            while let block = try blocks.next() { records += try CostBlock.records(block[1], provider: block[0]).filter(keep) }
            return records
        }
    }

    /// A row of the ledger's first layout (`cost_row`, before blocks), read by the migration
    /// that moves it into blocks.
    static func legacyCostRecord(_ row: Row) throws -> CostRecord {
        CostRecord(
            billingPeriodStart: row["billing_period_start"], billingPeriodEnd: row["billing_period_end"],
            chargePeriodStart: row["charge_period_start"], chargePeriodEnd: row["charge_period_end"], provider: row["provider"],
            hostProvider: row["host_provider"], billingAccountID: row["billing_account_id"], billingAccountName: row["billing_account_name"],
            subAccountID: row["sub_account_id"], subAccountName: row["sub_account_name"], billingCurrency: row["billing_currency"],
            billedCost: Self.decimal(row["billed_cost"]), effectiveCost: Self.decimal(row["effective_cost"]), listCost: Self.decimal(row["list_cost"]),
            contractedCost: Self.decimal(row["contracted_cost"]), chargeCategory: row["charge_category"], chargeClass: row["charge_class"],
            chargeFrequency: row["charge_frequency"], serviceName: row["service_name"], serviceCategory: row["service_category"],
            regionID: row["region_id"], resourceID: row["resource_id"], resourceType: row["resource_type"], skuID: row["sku_id"],
            consumedQuantity: (row["consumed_quantity"] as String?).map(Self.decimal), consumedUnit: row["consumed_unit"],
            commitmentDiscountID: row["commitment_discount_id"], commitmentDiscountStatus: row["commitment_discount_status"],
            tags: try StoreCoding.decode([String: String].self, row["tags"]), columns: CostColumns(try StoreCoding.decode([String: String].self, row["columns"])))
    }

    /// Moves the ledger's rows from `cost_row` into blocks, import by import, period by period,
    /// in the order they were imported, and drops `cost_row`.
    static func moveCostRowsIntoBlocks(_ db: Database) throws {
        var blocks = try CostBlockWriter(db)
        var memo = EncodedCostRow.Memo()
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM cost_row ORDER BY id")
        while let row = try rows.next() {
            let record = try legacyCostRecord(row)
            try blocks.append(record, EncodedCostRow(record, memo: &memo), importID: row["import_id"], db)
        }
        try blocks.finish(db)
        try db.execute(sql: "DROP TABLE cost_row")
    }
}

extension SQLiteStore {
    public func currentAllocation() async throws -> AllocationVersion? {
        try await writer.read { db in try Row.fetchOne(db, sql: "SELECT * FROM allocation_version ORDER BY version DESC LIMIT 1").map(Self.allocationVersion) }
    }

    public func allocationVersions() async throws -> [AllocationVersion] {
        try await writer.read { db in try Row.fetchAll(db, sql: "SELECT * FROM allocation_version ORDER BY version DESC").map(Self.allocationVersion) }
    }

    private static func allocationVersion(_ row: Row) throws -> AllocationVersion {
        AllocationVersion(
            version: row["version"], rules: try StoreCoding.decode(AllocationRules.self, row["definition"]), source: row["source"], sha256: row["sha256"],
            appliedAt: row["applied_at"], actor: row["actor"])
    }

    public func applyAllocation(_ rules: AllocationRules, source: String, actor: String) async throws -> AllocationVersion? {
        let definition = try StoreCoding.text(rules)
        let sha = SHA256.hash(data: Data(definition.utf8)).hexEncoded
        return try await writer.write { db in
            let current = try Row.fetchOne(db, sql: "SELECT version, sha256 FROM allocation_version ORDER BY version DESC LIMIT 1")
            if let current, current["sha256"] as String == sha { return nil }
            let version = (current?["version"] as Int? ?? 0) + 1
            let now = Date()
            try db.execute(
                sql: "INSERT INTO allocation_version (version, definition, source, sha256, applied_at, actor) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [version, definition, source, sha, now, actor])
            _ = try Self.appendAudit(
                db, actor: actor, action: "cost.allocation.apply", target: "cost-allocation/\(version)",
                details: [
                    "version": .int(Int64(version)), "sha256": .string(sha), "categories": .int(Int64(rules.categories.count)),
                    "shared_costs": .int(Int64(rules.sharedCosts.count)),
                ], at: now)
            return AllocationVersion(version: version, rules: rules, source: source, sha256: sha, appliedAt: now, actor: actor)
        }
    }

    public func budgets() async throws -> [Budget] {
        try await writer.read { db in try String.fetchAll(db, sql: "SELECT definition FROM budget ORDER BY id").map { try StoreCoding.decode(Budget.self, $0) } }
    }

    public func save(_ budget: Budget, actor: String) async throws {
        let text = try StoreCoding.text(budget)
        let details = try JSONValue.parse(Data(text.utf8))
        try await writer.write { db in
            try db.execute(sql: "INSERT INTO budget (id, definition) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET definition = excluded.definition", arguments: [budget.id, text])
            _ = try Self.appendAudit(db, actor: actor, action: "budget.save", target: "budget/\(budget.id)", details: details, at: Date())
        }
    }

    public func deleteBudget(id: String, actor: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM budget WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw StoreError.unknownOwnership("budget", id) }
            _ = try Self.appendAudit(db, actor: actor, action: "budget.delete", target: "budget/\(id)", details: [:], at: Date())
        }
    }
}
