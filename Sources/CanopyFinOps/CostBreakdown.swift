import CanopyModel
import CanopyStore
import Foundation

/// What a cost view groups by: a ledger column, or what allocation gives cost (business unit,
/// application, a cost category's value, a tag's value under its aliases). Written as text:
/// `service`, `bu`, `category:Environment`, `tag:cost-center`.
public enum CostDimension: Sendable, Hashable, Codable, CustomStringConvertible {
    case service, account, region, provider, month, day
    /// FOCUS `ChargeCategory` (Usage, Purchase, Tax, Credit, Adjustment).
    case charge
    case businessUnit, application
    /// A cost category by name (nil: the first one defined).
    case category(String?)
    case tag(String)

    /// The forms `init(text:)` accepts, for help and error messages.
    public static let forms = ["service", "account", "region", "provider", "month", "day", "charge", "bu", "app", "category[:NAME]", "tag:KEY"]

    public init?(text: String) {
        switch text {
        case "service": self = .service
        case "account": self = .account
        case "region": self = .region
        case "provider": self = .provider
        case "month": self = .month
        case "day": self = .day
        case "charge": self = .charge
        case "bu": self = .businessUnit
        case "app": self = .application
        case "category": self = .category(nil)
        default:
            if text.hasPrefix("category:"), text.count > 9 {
                self = .category(String(text.dropFirst(9)))
            } else if text.hasPrefix("tag:"), text.count > 4 {
                self = .tag(String(text.dropFirst(4)))
            } else {
                return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .service: "service"
        case .account: "account"
        case .region: "region"
        case .provider: "provider"
        case .month: "month"
        case .day: "day"
        case .charge: "charge"
        case .businessUnit: "bu"
        case .application: "app"
        case .category(let name): name.map { "category:\($0)" } ?? "category"
        case .tag(let key): "tag:\(key)"
        }
    }

    /// Whether grouping needs allocation (slices and rules) rather than the daily sums alone.
    public var isAllocated: Bool {
        switch self {
        case .businessUnit, .application, .category, .tag: true
        default: false
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = CostDimension(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown cost dimension \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Billed (what the invoice says) or effective (amortised: commitments spread over what used them).
public enum CostMetric: String, Sendable, CaseIterable, Codable {
    case billed, effective
}

/// Cost summed by one dimension over a span of days, exact to the last decimal place.
public struct CostBreakdown: Sendable, Codable {
    public struct Line: Sendable, Codable, Hashable {
        public var key: String
        public var cost: Decimal
        public var currency: String
    }

    public var dimension: CostDimension
    public var metric: CostMetric
    public var from: String?
    public var to: String?
    public var lines: [Line]
    /// Per currency: a ledger may hold several, and they never add up.
    public var totals: [String: Decimal]

    /// The label of cost that allocation left without a unit (or application, category, tag).
    public static let unallocated = "(unallocated)"
    /// The label of cost without the tag a view groups by.
    public static let untagged = "(untagged)"

    public static func build(
        by dimension: CostDimension, metric: CostMetric, query: CostQuery, store: any CanopyStore
    ) async throws -> CostBreakdown {
        var sums: [String: [String: Decimal]] = [:]
        var totals: [String: Decimal] = [:]
        func add(_ key: String, _ currency: String, _ cost: Decimal) {
            sums[key, default: [:]][currency, default: 0] += cost
            totals[currency, default: 0] += cost
        }
        if dimension.isAllocated {
            let allocator = try await CostAllocator.current(store: store)
            var category: String?
            if case .category(let name) = dimension {
                guard let chosen = name ?? allocator.rules.categories.first?.name else { throw CostViewError.noCategories }
                guard allocator.rules.categories.contains(where: { $0.name == chosen }) else { throw CostViewError.unknownCategory(chosen, allocator.rules.categories.map(\.name)) }
                category = chosen
            }
            let aliasTable = allocator.rules.aliasTable
            // Allocation sees the whole estate, so a proportional split weighs every unit's direct
            // cost; a scoped view then keeps the pieces in its accounts.
            var estate = query
            estate.subAccounts = nil
            let visible = query.subAccounts.map(Set.init)
            for piece in allocator.allocate(try await store.costSlices(estate)) where visible?.contains(piece.attributes.account) ?? true {
                let key: String?
                switch dimension {
                case .businessUnit: key = piece.unit
                case .application: key = piece.application ?? piece.shared.map { "(shared: \($0))" }
                case .category: key = piece.categories[category!]
                case .tag(let name): key = piece.tags[AllocationRules.canonicalKey(name, aliases: aliasTable)]
                default: key = nil
                }
                if case .tag = dimension { add(key ?? untagged, piece.currency, piece.cost(metric)) } else { add(key ?? unallocated, piece.currency, piece.cost(metric)) }
            }
        } else {
            for d in try await store.costDays(query) {
                let key: String
                switch dimension {
                case .service: key = d.serviceName.isEmpty ? "(none)" : d.serviceName
                case .account: key = d.subAccountID.isEmpty ? d.billingAccountID : d.subAccountID
                case .region: key = d.regionID.isEmpty ? "(global)" : d.regionID
                case .provider: key = d.provider
                case .month: key = String(d.day.prefix(7))
                case .day: key = d.day
                default: key = d.chargeCategory
                }
                add(key, d.currency, metric == .billed ? d.billedCost : d.effectiveCost)
            }
        }
        var lines: [Line] = []
        for (key, byCurrency) in sums {
            for (currency, cost) in byCurrency { lines.append(Line(key: key, cost: cost, currency: currency)) }
        }
        // Time reads in order; everything else biggest first.
        let chronological = dimension == .month || dimension == .day
        lines.sort { a, b in
            if chronological || a.cost == b.cost { return a.key < b.key }
            return a.cost > b.cost
        }
        return CostBreakdown(dimension: dimension, metric: metric, from: query.from, to: query.to, lines: lines, totals: totals)
    }
}

/// A view asked for something the rules do not define.
public enum CostViewError: Error, CustomStringConvertible, Sendable {
    case noCategories
    case unknownCategory(String, [String])
    case badMonth(String)
    case emptyLedger

    public var description: String {
        switch self {
        case .badMonth(let text): "'\(text)' is not a month: write YYYY-MM"
        case .emptyLedger: "the ledger is empty: import cost first"
        case .noCategories: "no cost categories are defined: apply allocation rules with a categories section first (canopy cost allocation apply FILE)"
        case .unknownCategory(let name, let known):
            "no cost category is named '\(name)'" + (known.isEmpty ? "" : "; defined: \(known.joined(separator: ", "))")
        }
    }
}

extension Decimal {
    /// Rounded to cents for display (`1234.57`), half away from zero.
    public var cents: String {
        var value = self
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .plain)
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.minimumFractionDigits = 2
        formatter.maximumFractionDigits = 2
        formatter.numberStyle = .decimal
        formatter.usesGroupingSeparator = false
        return formatter.string(from: NSDecimalNumber(decimal: rounded)) ?? "\(rounded)"
    }
}
