import CanopyModel
import Foundation

/// The cost ledger's rows, stored a block at a time and column by column.
///
/// A block holds up to `rowsPerBlock` rows of one import, billing period and provider. Each of its
/// columns is the list of the column's distinct values and, for each row, the position of its
/// value in that list. Billing exports repeat most of a line item from row to row (the account,
/// the service, the SKU, the charge period of a day, the tags of a resource), so a block is a
/// fraction of the rows' size; it is written as one value, not as one B-tree row and two index
/// entries per line item; and reading turns each distinct value into its type once, not once a
/// row. A column whose values are all different costs its values plus one index a row.
///
/// Layout: the bytes `CLB1`; the row count; the typed columns in `Typed` order; the count of
/// other columns, then each one's name and column. A column is its count of distinct values, each
/// value as (its UTF-8 length + 1, 0 for absent) and its bytes, then one byte (1, 2 or 4) for the
/// width of a position and one position a row, little-endian. Counts and lengths are LEB128.
/// Dates are their seconds since 1970 as Swift writes a `Double` (which reads back exactly), money
/// is exact decimal text, tags are a JSON object with sorted keys.
enum CostBlock {
    static let magic = Array("CLB1".utf8)
    /// Large enough that a block's dictionaries pay for themselves, small enough that a builder
    /// per open period stays a few megabytes and a drill-down decodes little it does not need.
    static let rowsPerBlock = 32_768

    /// The typed columns of a ledger row, in the order a block stores them. The provider is the
    /// block's own (one provider a block).
    enum Typed: Int, CaseIterable {
        case billingPeriodStart, billingPeriodEnd, chargePeriodStart, chargePeriodEnd, hostProvider, billingAccountID, billingAccountName
        case subAccountID, subAccountName, billingCurrency, billedCost, effectiveCost, listCost, contractedCost, chargeCategory, chargeClass
        case chargeFrequency, serviceName, serviceCategory, regionID, resourceID, resourceType, skuID, consumedQuantity, consumedUnit
        case commitmentDiscountID, commitmentDiscountStatus, tags
    }

    /// A block that does not read back as it was written (a damaged database).
    struct Damaged: Error, CustomStringConvertible {
        var reason: String
        var description: String { "a cost ledger block is damaged (\(reason)); restore the database from a backup" }
    }

    /// A date as a block stores it.
    static func text(_ date: Date) -> String { String(date.timeIntervalSince1970) }
}

/// One column of a block being built: its distinct values and each row's position among them.
struct CostColumnBuilder {
    private(set) var values: [String?] = []
    private(set) var rows: [UInt32] = []
    /// The last row's value: exports repeat a value over runs of rows, and comparing it costs
    /// less than hashing it.
    private var last: (value: String?, position: UInt32)?
    /// Where each distinct value is, by hash: open addressing, linear probing, never more than
    /// half full; a slot holds a position + 1 (0: empty). A dictionary of strings would hash
    /// each value with SipHash, and a block writes forty values a row; a value's bytes are
    /// hashed here eight at a time, and each distinct value's hash is kept for the probes.
    private var slots = [UInt32](repeating: 0, count: 64)
    private var hashes: [UInt64] = []

    init(rows: Int = 0) {
        // A column first seen after some rows: those rows do not have it.
        if rows > 0 {
            _ = insert(nil, hash: Self.hash(nil))
            self.rows = Array(repeating: 0, count: rows)
        }
    }

    var count: Int { rows.count }

    /// Adds a row's value; returns its position among the distinct values.
    @discardableResult
    mutating func append(_ value: String?) -> UInt32 {
        if let last, last.value == value {
            rows.append(last.position)
            return last.position
        }
        let hash = Self.hash(value)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        var position: UInt32?
        while slots[slot] != 0 {
            let candidate = slots[slot] - 1
            if hashes[Int(candidate)] == hash, values[Int(candidate)] == value {
                position = candidate
                break
            }
            slot = (slot + 1) & mask
        }
        let found = position ?? insert(value, hash: hash)
        rows.append(found)
        last = (value, found)
        return found
    }

    /// Adds a distinct value; returns its position.
    private mutating func insert(_ value: String?, hash: UInt64) -> UInt32 {
        let position = UInt32(values.count)
        values.append(value)
        hashes.append(hash)
        if values.count * 2 > slots.count {
            slots = [UInt32](repeating: 0, count: slots.count * 2)
            for (index, known) in hashes.enumerated() { place(UInt32(index), hash: known) }
        } else {
            place(position, hash: hash)
        }
        return position
    }

    private mutating func place(_ position: UInt32, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = position + 1
    }

    /// A value's bytes mixed eight at a time (not for untrusted keys: a block's values are the
    /// importer's own file, and a collision only costs a probe).
    static func hash(_ value: String?) -> UInt64 {
        guard var value else { return 0x6A09_E667_F3BC_C908 }
        return value.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            var hash = UInt64(raw.count) &* 0x9E37_79B9_7F4A_7C15
            var index = 0
            while index + 8 <= raw.count {
                hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                hash ^= hash >> 32
                index += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < raw.count {
                tail |= UInt64(raw[index]) << shift
                shift += 8
                index += 1
            }
            hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
            return hash ^ (hash >> 29)
        }
    }

    func encode(into out: inout [UInt8]) {
        CostBlockBytes.appendCount(values.count, to: &out)
        for value in values {
            guard var value else {
                out.append(0)
                continue
            }
            value.withUTF8 { bytes in
                CostBlockBytes.appendCount(bytes.count + 1, to: &out)
                out.append(contentsOf: bytes)
            }
        }
        let width = values.count <= 0x100 ? 1 : values.count <= 0x1_0000 ? 2 : 4
        out.append(UInt8(width))
        out.reserveCapacity(out.count + rows.count * width)
        for position in rows {
            var rest = position
            for _ in 0..<width {
                out.append(UInt8(truncatingIfNeeded: rest))
                rest >>= 8
            }
        }
    }
}

/// The rows of one import, billing period and provider on their way into a block.
struct CostBlockBuilder {
    let period: String
    let provider: String
    private(set) var rows = 0
    private var typed = Array(repeating: CostColumnBuilder(), count: CostBlock.Typed.allCases.count)
    private var extraNames: [String] = []
    private var extraPositions: [String: Int] = [:]
    private var extras: [CostColumnBuilder] = []
    /// The last rows' column names, and the extra column of each (nil: none yet). Held, so the
    /// names object cannot be freed and another one take its place.
    private var extrasOfNames: (names: CostColumns.Names, positions: [Int?]) = (CostColumns().names, [])
    /// The day of each charge start, by its position.
    private var days: [UInt32: String] = [:]
    /// The rows' sums per slice, the slice named by its values' positions: hashing nine small
    /// integers a row, not nine strings, and the strings once a slice at the end. The drill-down
    /// keys are these slices' (day, sub-account, service).
    private var sums: [SliceID: CostSums] = [:]

    private struct SliceID: Hashable {
        var chargeStart, billingAccount, subAccount, service, region, category, currency, resourceType, tags: UInt32
    }

    init(period: String, provider: String) {
        self.period = period
        self.provider = provider
    }

    mutating func append(_ r: CostRecord, _ e: EncodedCostRow) {
        func put(_ column: CostBlock.Typed, _ value: String?) -> UInt32 { typed[column.rawValue].append(value) }
        _ = put(.billingPeriodStart, e.billingPeriodStart)
        _ = put(.billingPeriodEnd, e.billingPeriodEnd)
        let start = put(.chargePeriodStart, e.chargePeriodStart)
        if days[start] == nil { days[start] = e.day }
        _ = put(.chargePeriodEnd, e.chargePeriodEnd)
        _ = put(.hostProvider, r.hostProvider)
        let billingAccount = put(.billingAccountID, r.billingAccountID)
        _ = put(.billingAccountName, r.billingAccountName)
        let subAccount = put(.subAccountID, r.subAccountID)
        _ = put(.subAccountName, r.subAccountName)
        let currency = put(.billingCurrency, r.billingCurrency)
        _ = put(.billedCost, e.billed)
        _ = put(.effectiveCost, e.effective)
        _ = put(.listCost, e.list)
        _ = put(.contractedCost, e.contracted)
        let category = put(.chargeCategory, r.chargeCategory)
        _ = put(.chargeClass, r.chargeClass)
        _ = put(.chargeFrequency, r.chargeFrequency)
        let service = put(.serviceName, r.serviceName)
        _ = put(.serviceCategory, r.serviceCategory)
        let region = put(.regionID, r.regionID)
        _ = put(.resourceID, r.resourceID)
        let resourceType = put(.resourceType, r.resourceType)
        _ = put(.skuID, r.skuID)
        _ = put(.consumedQuantity, e.quantity)
        _ = put(.consumedUnit, r.consumedUnit)
        _ = put(.commitmentDiscountID, r.commitmentDiscountID)
        _ = put(.commitmentDiscountStatus, r.commitmentDiscountStatus)
        let tags = put(.tags, e.tags)
        sums[
            SliceID(
                chargeStart: start, billingAccount: billingAccount, subAccount: subAccount, service: service, region: region, category: category,
                currency: currency, resourceType: resourceType, tags: tags), default: CostSums()
        ].add(r)
        appendExtras(r.columns)
        rows += 1
        // Columns this row does not have.
        for index in extras.indices where extras[index].count < rows { extras[index].append(nil) }
    }

    /// Adds a row's untyped columns. Rows share their names (a file's header): which of the
    /// block's columns each name goes to is looked up once for all the rows that share them.
    private mutating func appendExtras(_ columns: CostColumns) {
        if columns.names !== extrasOfNames.names {
            extrasOfNames = (columns.names, columns.names.names.map { extraPositions[$0] })
        }
        for (index, value) in columns.values.enumerated() {
            guard let value else { continue }
            if let position = extrasOfNames.positions[index] {
                extras[position].append(value)
            } else {
                let name = columns.names.names[index]
                extraPositions[name] = extras.count
                extrasOfNames.positions[index] = extras.count
                extraNames.append(name)
                var column = CostColumnBuilder(rows: rows)
                column.append(value)
                extras.append(column)
            }
        }
    }

    struct DrillDownKey: Hashable {
        var day: String
        var subAccount: String?
        var service: String?
    }

    /// The (day, sub-account, service) triples the block's rows are charged to.
    var drillDownKeys: Set<DrillDownKey> {
        let subAccounts = typed[CostBlock.Typed.subAccountID.rawValue].values
        let services = typed[CostBlock.Typed.serviceName.rawValue].values
        return Set(sums.keys.map { DrillDownKey(day: days[$0.chargeStart] ?? "", subAccount: subAccounts[Int($0.subAccount)], service: services[Int($0.service)]) })
    }

    /// The block's sums per slice.
    var slices: [CostSliceKey: CostSums] {
        func text(_ column: CostBlock.Typed, _ position: UInt32) -> String? { typed[column.rawValue].values[Int(position)] }
        var slices: [CostSliceKey: CostSums] = [:]
        for (id, sums) in sums {
            let day = CostDayKey(
                period: period, provider: provider, day: days[id.chargeStart] ?? "", billingAccount: text(.billingAccountID, id.billingAccount) ?? "",
                subAccount: text(.subAccountID, id.subAccount) ?? "", service: text(.serviceName, id.service) ?? "",
                region: text(.regionID, id.region) ?? "", category: text(.chargeCategory, id.category) ?? "",
                currency: text(.billingCurrency, id.currency) ?? "")
            // Different positions can name one slice (two charge starts of one day).
            slices[CostSliceKey(day: day, resourceType: text(.resourceType, id.resourceType) ?? "", tags: text(.tags, id.tags) ?? "{}"), default: CostSums()]
                .add(sums)
        }
        return slices
    }

    func encoded() -> [UInt8] {
        var out = CostBlock.magic
        CostBlockBytes.appendCount(rows, to: &out)
        for column in typed { column.encode(into: &out) }
        CostBlockBytes.appendCount(extras.count, to: &out)
        for (name, column) in zip(extraNames, extras) {
            var name = name
            name.withUTF8 { bytes in
                CostBlockBytes.appendCount(bytes.count, to: &out)
                out.append(contentsOf: bytes)
            }
            column.encode(into: &out)
        }
        return out
    }
}

/// LEB128 counts, and a bounds-checked reader over a block's bytes.
struct CostBlockBytes {
    static func appendCount(_ value: Int, to out: inout [UInt8]) {
        var rest = UInt64(value)
        while rest >= 0x80 {
            out.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func count() throws -> Int {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count, shift < 63 else { throw CostBlock.Damaged(reason: "a count runs past the end") }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        // No count (of rows, values or bytes) can exceed the block's size.
        guard value <= UInt64(bytes.count) + 1 else { throw CostBlock.Damaged(reason: "a count is out of range") }
        return Int(value)
    }

    mutating func text(_ length: Int) throws -> String {
        guard length <= bytes.count - offset else { throw CostBlock.Damaged(reason: "a value runs past the end") }
        defer { offset += length }
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]), as: UTF8.self) else {
            throw CostBlock.Damaged(reason: "a value is not UTF-8")
        }
        return text
    }

    /// A column: its distinct values, and each of `rows` rows' position among them.
    mutating func column(rows: Int) throws -> (values: [String?], positions: [Int]) {
        let distinct = try count()
        var values: [String?] = []
        values.reserveCapacity(min(distinct, rows + 1))
        for _ in 0..<distinct {
            let length = try count()
            values.append(length == 0 ? nil : try text(length - 1))
        }
        guard offset < bytes.count else { throw CostBlock.Damaged(reason: "a column ends early") }
        let width = Int(bytes[offset])
        offset += 1
        guard [1, 2, 4].contains(width), rows <= (bytes.count - offset) / width else { throw CostBlock.Damaged(reason: "a column's positions run past the end") }
        var positions: [Int] = []
        positions.reserveCapacity(rows)
        for _ in 0..<rows {
            var position = 0
            for byte in 0..<width { position |= Int(bytes[offset + byte]) << (8 * byte) }
            offset += width
            guard position < values.count else { throw CostBlock.Damaged(reason: "a position is out of range") }
            positions.append(position)
        }
        return (values, positions)
    }
}

extension CostBlock {
    /// The rows of a block, in the order they were imported.
    static func records(_ data: Data, provider: String) throws -> [CostRecord] {
        try data.withUnsafeBytes { raw in
            var reader = CostBlockBytes(raw)
            guard raw.count >= magic.count, Array(raw[0..<magic.count]) == magic else { throw Damaged(reason: "it does not start with CLB1") }
            reader.offset = magic.count
            let rows = try reader.count()
            var typed: [(values: [String?], positions: [Int])] = []
            for _ in Typed.allCases { typed.append(try reader.column(rows: rows)) }
            var extras: [(name: String, values: [String?], positions: [Int])] = []
            for _ in 0..<(try reader.count()) {
                let name = try reader.text(try reader.count())
                let column = try reader.column(rows: rows)
                extras.append((name, column.values, column.positions))
            }
            guard reader.offset == raw.count else { throw Damaged(reason: "bytes follow its last column") }
            guard Set(extras.map(\.name)).count == extras.count else { throw Damaged(reason: "a column name is repeated") }

            // Each distinct value is given its type once.
            func texts(_ column: Typed) -> (values: [String?], positions: [Int]) { typed[column.rawValue] }
            func dates(_ column: Typed) throws -> [Date?] {
                try texts(column).values.map { text in
                    guard let text else { return nil }
                    guard let seconds = Double(text) else { throw Damaged(reason: "'\(text)' is not a date") }
                    return Date(timeIntervalSince1970: seconds)
                }
            }
            func decimals(_ column: Typed) throws -> [Decimal?] {
                try texts(column).values.map { text in
                    guard let text else { return nil }
                    guard let value = Decimal(exactText: text) else { throw Damaged(reason: "'\(text)' is not a decimal") }
                    return value
                }
            }
            let billingStarts = try dates(.billingPeriodStart), billingEnds = try dates(.billingPeriodEnd)
            let chargeStarts = try dates(.chargePeriodStart), chargeEnds = try dates(.chargePeriodEnd)
            let billed = try decimals(.billedCost), effective = try decimals(.effectiveCost), list = try decimals(.listCost)
            let contracted = try decimals(.contractedCost), quantities = try decimals(.consumedQuantity)
            let tagSets = try texts(.tags).values.map { text -> [String: String] in
                guard let text else { return [:] }
                guard let tags = try? StoreCoding.decode([String: String].self, text) else { throw Damaged(reason: "'\(text.prefix(40))' is not a tag set") }
                return tags
            }

            func required<T>(_ values: [T?], _ column: Typed, _ row: Int) throws -> T {
                guard let value = values[typed[column.rawValue].positions[row]] else { throw Damaged(reason: "row \(row) has no \(column)") }
                return value
            }
            func text(_ column: Typed, _ row: Int) -> String? { typed[column.rawValue].values[typed[column.rawValue].positions[row]] }

            var records: [CostRecord] = []
            records.reserveCapacity(rows)
            let names = CostColumns.Names(extras.map(\.name))
            for row in 0..<rows {
                let columns = CostColumns(names: names, values: extras.map { $0.values[$0.positions[row]] })
                records.append(
                    CostRecord(
                        billingPeriodStart: try required(billingStarts, .billingPeriodStart, row),
                        billingPeriodEnd: try required(billingEnds, .billingPeriodEnd, row),
                        chargePeriodStart: try required(chargeStarts, .chargePeriodStart, row),
                        chargePeriodEnd: try required(chargeEnds, .chargePeriodEnd, row), provider: provider, hostProvider: text(.hostProvider, row),
                        billingAccountID: try required(texts(.billingAccountID).values, .billingAccountID, row),
                        billingAccountName: text(.billingAccountName, row), subAccountID: text(.subAccountID, row),
                        subAccountName: text(.subAccountName, row),
                        billingCurrency: try required(texts(.billingCurrency).values, .billingCurrency, row),
                        billedCost: try required(billed, .billedCost, row), effectiveCost: try required(effective, .effectiveCost, row),
                        listCost: try required(list, .listCost, row), contractedCost: try required(contracted, .contractedCost, row),
                        chargeCategory: try required(texts(.chargeCategory).values, .chargeCategory, row), chargeClass: text(.chargeClass, row),
                        chargeFrequency: text(.chargeFrequency, row), serviceName: text(.serviceName, row),
                        serviceCategory: text(.serviceCategory, row), regionID: text(.regionID, row), resourceID: text(.resourceID, row),
                        resourceType: text(.resourceType, row), skuID: text(.skuID, row),
                        consumedQuantity: quantities[typed[Typed.consumedQuantity.rawValue].positions[row]], consumedUnit: text(.consumedUnit, row),
                        commitmentDiscountID: text(.commitmentDiscountID, row), commitmentDiscountStatus: text(.commitmentDiscountStatus, row),
                        tags: tagSets[typed[Typed.tags.rawValue].positions[row]], columns: columns))
            }
            return records
        }
    }
}
