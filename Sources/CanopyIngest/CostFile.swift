import CanopyModel
import Foundation

/// A cost export read row by row as FOCUS records, whatever it is: FOCUS 1.0–1.3, AWS CUR
/// (legacy and 2.0), Azure EA or OCI cost reports. The format is detected from the header;
/// every problem names the file, line and column.
public struct CostFile: CostRowSource {
    public let path: String
    public let format: CostFormat
    public private(set) var rowsRead = 0
    /// Parsed tag cells by their text: an export repeats each resource's tags on every row.
    private let tagCache = TagCache()
    private var reader: CSVReader
    private let index: [String: Int]
    /// Lower-cased names, for the converters of exports whose capitalisation varies.
    private let lowerIndex: [String: Int]
    /// Where a FOCUS file has each column (nil for the other formats).
    private let focusColumns: FOCUSMapping.Columns?
    /// The first currency seen per billing period and provider: one period is one currency.
    private var currencies: [PeriodKey: String] = [:]
    private var months: [Date: String] = [:]
    /// The last row's billing period start, provider and currency.
    private var lastPeriod: (start: Date, provider: String, currency: String)?

    private struct PeriodKey: Hashable {
        var month: String
        var provider: String
    }

    /// `hashing: false` when the caller has the file's digest already (`sha256` is then nil).
    public static func open(_ path: String, hashing: Bool = true) throws -> CostFile { try CostFile(path: path, hashing: hashing) }

    /// The SHA-256 of the file as stored (hex; a gzip file's compressed bytes), hashed while its
    /// rows are read; asked for once they all have been, it waits for the hashing to finish.
    public var sha256: String? { try? digest?.value() }
    private let digest: FileDigest?

    init(path: String, hashing: Bool) throws {
        self.path = path
        var reader = try CSVReader(path: path)
        try reader.readHeader()
        let header = reader.header
        digest = hashing ? FileDigest(path: path) : nil
        var index: [String: Int] = [:]
        for (position, name) in header.enumerated() where index[name] == nil { index[name] = position }
        var lower: [String: Int] = [:]
        for (position, name) in header.enumerated() where lower[name.lowercased()] == nil { lower[name.lowercased()] = position }
        self.reader = reader
        self.index = index
        lowerIndex = lower
        format = try Self.detect(Set(header), path: path)
        switch format {
        case .focus10, .focus11, .focus12, .focus13: focusColumns = FOCUSMapping.Columns(header: header) { index[$0] ?? lower[$0.lowercased()] }
        default: focusColumns = nil
        }
        let missing = Self.required(format).filter { column in
            column.split(separator: "|").allSatisfy { index[String($0)] == nil && lower[String($0).lowercased()] == nil }
        }
        if !missing.isEmpty {
            throw IngestError.at(
                file: path, line: 1, column: nil,
                "a \(format.rawValue) file needs the column\(missing.count == 1 ? "" : "s") \(missing.map { $0.replacingOccurrences(of: "|", with: " or ") }.joined(separator: ", "))")
        }
    }

    static func detect(_ columns: Set<String>, path: String) throws -> CostFormat {
        if columns.contains("BilledCost") || columns.contains("ChargePeriodStart") {
            if columns.contains("ServiceProviderName") || columns.contains("HostProviderName") { return .focus13 }
            if !columns.isDisjoint(with: ["InvoiceId", "BillingAccountType", "SubAccountType", "PricingCurrency"]) { return .focus12 }
            if !columns.isDisjoint(with: ["CapacityReservationId", "CommitmentDiscountQuantity", "ServiceSubcategory", "SkuMeter", "SkuPriceDetails"]) {
                return .focus11
            }
            return .focus10
        }
        if columns.contains("lineItem/UnblendedCost") { return .awsCUR }
        if columns.contains("line_item_unblended_cost") { return .awsCUR2 }
        if columns.contains("CostInBillingCurrency") || columns.contains("MeterCategory") { return .azureEA }
        if columns.contains("cost/myCost") { return .oci }
        throw IngestError.at(
            file: path, line: 1, column: nil,
            "not a cost export Canopy knows: expected FOCUS (BilledCost, ChargePeriodStart…), AWS CUR (lineItem/UnblendedCost or line_item_unblended_cost), Azure EA (CostInBillingCurrency) or OCI (cost/myCost) columns")
    }

    /// The columns each format cannot do without (`a|b`: either).
    static func required(_ format: CostFormat) -> [String] {
        switch format {
        case .focus10, .focus11, .focus12, .focus13:
            [
                "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
                "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd", "ProviderName|ServiceProviderName",
            ]
        case .awsCUR:
            [
                "lineItem/UnblendedCost", "lineItem/CurrencyCode", "bill/PayerAccountId", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate",
                "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/LineItemType",
            ]
        case .awsCUR2:
            [
                "line_item_unblended_cost", "line_item_currency_code", "bill_payer_account_id", "bill_billing_period_start_date",
                "bill_billing_period_end_date", "line_item_usage_start_date", "line_item_usage_end_date", "line_item_line_item_type",
            ]
        case .azureEA: ["CostInBillingCurrency", "BillingCurrencyCode|BillingCurrency", "BillingAccountId", "Date", "BillingPeriodStartDate"]
        case .oci: ["cost/myCost", "cost/currencyCode", "lineItem/tenantId", "lineItem/intervalUsageStart", "lineItem/intervalUsageEnd"]
        }
    }

    public mutating func next() throws -> CostRecord? {
        guard let fields = try reader.nextFields() else { return nil }
        rowsRead += 1
        let row = Row(fields: fields, index: index, lowerIndex: lowerIndex, line: reader.recordLine, path: path, tagCache: tagCache)
        let record: CostRecord
        switch format {
        case .focus10, .focus11, .focus12, .focus13: record = try FOCUSMapping.record(row, columns: focusColumns!)
        case .awsCUR: record = try CURMapping.record(row, names: .legacy, header: reader.header)
        case .awsCUR2: record = try CURMapping.record(row, names: .v2, header: reader.header)
        case .azureEA: record = try AzureMapping.record(row, header: reader.header)
        case .oci: record = try OCIMapping.record(row, header: reader.header)
        }
        // Rows come in runs of one period and provider: the run's currency was checked already.
        if let last = lastPeriod, last.start == record.billingPeriodStart, last.provider == record.provider, last.currency == record.billingCurrency {
            return record
        }
        let month: String
        if let known = months[record.billingPeriodStart] {
            month = known
        } else {
            month = CostCalendar.month(record.billingPeriodStart)
            months[record.billingPeriodStart] = month
        }
        let key = PeriodKey(month: month, provider: record.provider)
        if let known = currencies[key] {
            guard known == record.billingCurrency else {
                throw IngestError.at(
                    file: path, line: row.line, column: nil,
                    "mixed currencies in billing period \(month) \(record.provider): \(known) and \(record.billingCurrency); split the file by currency")
            }
        } else {
            currencies[key] = record.billingCurrency
        }
        lastPeriod = (record.billingPeriodStart, record.provider, record.billingCurrency)
        return record
    }
}

/// One record's values by column, with typed reads whose errors name the line and column.
/// Numbers and dates are read from the field's bytes; only text becomes a string.
struct Row {
    let fields: CSVFields
    let index: [String: Int]
    let lowerIndex: [String: Int]
    let line: Int
    let path: String
    var tagCache: TagCache? = nil

    /// A column as a file has it: its position (nil when the file lacks it) and its name.
    struct Column {
        var position: Int?
        var name: String
    }

    func column(_ name: String) -> Column { Column(position: index[name] ?? lowerIndex[name.lowercased()], name: name) }

    /// The value, or nil when the column is absent, empty or `NULL`.
    func text(_ name: String) -> String? { text(column(name)) }

    func text(_ column: Column) -> String? {
        guard let position = column.position else { return nil }
        return fields.withField(position) { Self.isAbsent($0) ? nil : String(decoding: $0, as: UTF8.self) }
    }

    /// An empty field or `NULL`: no value.
    private static func isAbsent(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        field.isEmpty
            || (field.count == 4 && field[0] == UInt8(ascii: "N") && field[1] == UInt8(ascii: "U") && field[2] == UInt8(ascii: "L")
                && field[3] == UInt8(ascii: "L"))
    }

    func required(_ name: String) throws -> String { try required(column(name)) }

    func required(_ column: Column) throws -> String {
        guard let value = text(column) else { throw IngestError.at(file: path, line: line, column: column.name, "is empty; it is required") }
        return value
    }

    func decimal(_ name: String) throws -> Decimal? { try decimal(column(name)) }

    func decimal(_ column: Column) throws -> Decimal? {
        guard let position = column.position else { return nil }
        return try fields.withField(position) { field in
            guard !Self.isAbsent(field) else { return nil }
            guard let number = Decimal(exactUTF8: field) else {
                throw IngestError.at(file: path, line: line, column: column.name, "'\(String(decoding: field, as: UTF8.self).prefix(40))' is not a number")
            }
            return number
        }
    }

    func date(_ name: String) throws -> Date? { try date(column(name)) }

    func date(_ column: Column) throws -> Date? {
        guard let position = column.position else { return nil }
        return try fields.withField(position) { field in
            guard !Self.isAbsent(field) else { return nil }
            guard let date = Self.parseDate(bytes: field) else {
                throw IngestError.at(
                    file: path, line: line, column: column.name,
                    "'\(String(decoding: field, as: UTF8.self).prefix(40))' is not a date and time (expected e.g. 2024-09-01T00:00:00Z)")
            }
            return date
        }
    }

    func requiredDate(_ name: String) throws -> Date { try requiredDate(column(name)) }

    func requiredDate(_ column: Column) throws -> Date {
        guard let date = try date(column) else { throw IngestError.at(file: path, line: line, column: column.name, "is empty; it is required") }
        return date
    }

    func fail(_ column: String?, _ message: String) -> IngestError { IngestError.at(file: path, line: line, column: column, message) }

    /// `2024-09-01`, `2024-09-01 00:00:00`, `2024-09-01T00:00:00Z`, with fractions or an offset;
    /// `09/01/2024` (Azure's month-first dates).
    static func parseDate(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
        func number(_ from: Int, _ length: Int) -> Int? {
            guard from + length <= b.count else { return nil }
            var value = 0
            for i in from..<(from + length) {
                let d = Int(b[i]) - 48
                guard d >= 0 && d <= 9 else { return nil }
                value = value * 10 + d
            }
            return value
        }
        var year: Int, month: Int, day: Int
        var cursor: Int
        if let slash = b.firstIndex(of: UInt8(ascii: "/")), slash <= 2 {
            // Month first, with or without leading zeros: 9/2/2023, 09/02/2023.
            let second = b[(slash + 1)...].firstIndex(of: UInt8(ascii: "/")) ?? -1
            guard second > slash + 1, second - slash <= 3, let m = number(0, slash), let d = number(slash + 1, second - slash - 1),
                let y = number(second + 1, 4)
            else { return nil }
            (year, month, day, cursor) = (y, m, d, second + 5)
        } else if b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), let y = number(0, 4), let m = number(5, 2), let d = number(8, 2) {
            (year, month, day, cursor) = (y, m, d, 10)
        } else {
            return nil
        }
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = 0
        if cursor < b.count, b[cursor] == UInt8(ascii: "T") || b[cursor] == UInt8(ascii: " ") {
            guard let h = number(cursor + 1, 2), b.count > cursor + 3, b[cursor + 3] == UInt8(ascii: ":"), let mi = number(cursor + 4, 2) else { return nil }
            seconds = h * 3_600 + mi * 60
            cursor += 6
            if cursor < b.count, b[cursor] == UInt8(ascii: ":") {
                guard let s = number(cursor + 1, 2) else { return nil }
                seconds += s
                cursor += 3
            }
            if cursor < b.count, b[cursor] == UInt8(ascii: ".") {
                cursor += 1
                while cursor < b.count, b[cursor] >= 48, b[cursor] <= 57 { cursor += 1 }
            }
            if cursor < b.count {
                switch b[cursor] {
                case UInt8(ascii: "Z"): cursor += 1
                case UInt8(ascii: "+"), UInt8(ascii: "-"):
                    let sign = b[cursor] == UInt8(ascii: "-") ? 1 : -1
                    guard let oh = number(cursor + 1, 2) else { return nil }
                    var om = 0
                    if let m = number(cursor + 4, 2), b.count > cursor + 3, b[cursor + 3] == UInt8(ascii: ":") { om = m; cursor += 6 }
                    else if let m = number(cursor + 3, 2) { om = m; cursor += 5 }
                    else { cursor += 3 }
                    seconds += sign * (oh * 3_600 + om * 60)
                default: return nil
                }
            }
        } else if cursor < b.count {
            return nil
        }
        guard cursor == b.count else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(daysFromCivil(year, month, day) * 86_400 + seconds))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// A tags cell: a JSON object (FOCUS), or Azure's `"k": "v", …` without braces.
    func tags(_ name: String) throws -> [String: String] { try tags(column(name)) }

    func tags(_ column: Column) throws -> [String: String] {
        guard let text = text(column) else { return [:] }
        if let known = tagCache?.tags[text] { return known }
        let tags = try parseTags(text, column.name)
        if let tagCache, tagCache.tags.count < 100_000 { tagCache.tags[text] = tags }
        return tags
    }

    private func parseTags(_ text: String, _ name: String) throws -> [String: String] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let json = trimmed.hasPrefix("{") ? trimmed : "{\(trimmed)}"
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw fail(name, "is not a JSON object of tags")
        }
        var tags: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case let text as String: tags[key] = text
            case is NSNull: tags[key] = ""
            default:
                if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                    tags[key] = String(decoding: data, as: UTF8.self)
                }
            }
        }
        return tags
    }
}

/// Tag cells already parsed, shared by the rows of one file (read on one thread).
final class TagCache {
    var tags: [String: [String: String]] = [:]
}
