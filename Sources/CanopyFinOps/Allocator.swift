import CanopyModel
import CanopyStore
import Foundation

/// Cost after allocation: one piece of a day's cost with the unit, application, categories and
/// canonical tags it was given. A shared cost appears once per receiving unit, with its share.
public struct AllocatedCost: Sendable, Hashable {
    public var day: String
    public var period: String
    public var attributes: CostAttributes
    public var currency: String
    public var billed: Decimal
    public var effective: Decimal
    /// nil: unallocated.
    public var unit: String?
    public var application: String?
    /// The shared-cost split this came from, if any.
    public var shared: String?
    /// Category name → value.
    public var categories: [String: String]
    /// Tags by normalised canonical key.
    public var tags: [String: String]

    public func cost(_ metric: CostMetric) -> Decimal { metric == .billed ? billed : effective }
}

/// Applies ownership and allocation rules to the ledger's daily sums. Each distinct set of
/// attributes is resolved once; shared costs are then split among their units per month and
/// currency. Allocation is exhaustive by construction: the pieces of a cost add up to it exactly
/// (the last share takes the remainder of the division), and what no rule places is returned
/// with `unit == nil`, never dropped.
public struct CostAllocator: Sendable {
    public let rules: AllocationRules
    public let ownership: Ownership
    let accounts: [String: Account]
    let aliases: [String: String]
    /// Unit id and normalised cost centre → unit id, for unit-naming tags.
    let unitByName: [String: String]

    public init(rules: AllocationRules, ownership: Ownership, accounts: [Account]) {
        self.rules = rules
        self.ownership = ownership
        self.accounts = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.aliases = rules.aliasTable
        var names: [String: String] = [:]
        for unit in ownership.effectiveBusinessUnits(accounts: accounts) {
            if let center = unit.costCenter { names[center.lowercased()] = unit.id }
        }
        for unit in ownership.effectiveBusinessUnits(accounts: accounts) { names[unit.id.lowercased()] = unit.id }
        self.unitByName = names
    }

    /// The store's ownership, accounts and current rules (none: ownership alone).
    public static func current(store: any CanopyStore, rules given: AllocationRules? = nil) async throws -> CostAllocator {
        var rules = given
        if rules == nil { rules = try await store.currentAllocation()?.rules }
        return CostAllocator(rules: rules ?? AllocationRules(), ownership: try await store.ownership(), accounts: try await store.accounts())
    }

    /// Where one set of attributes goes before shared costs are split.
    public struct Placement: Sendable, Hashable {
        public var unit: String?
        public var application: String?
        public var shared: SharedCost?
        public var categories: [String: String]
        public var tags: [String: String]
    }

    public func place(_ attributes: CostAttributes) -> Placement {
        let tags = AllocationRules.canonicalTags(attributes.tags, aliases: aliases)
        var categories: [String: String] = [:]
        for category in rules.categories {
            categories[category.name] = category.rules.first { $0.match.matches(attributes, canonicalTags: tags, aliases: aliases) }?.value ?? category.defaultValue
        }
        if let split = rules.sharedCosts.first(where: { $0.match.matches(attributes, canonicalTags: tags, aliases: aliases) }) {
            return Placement(unit: nil, application: nil, shared: split, categories: categories, tags: tags)
        }
        // Selectors see the canonical keys, so an alias reaches an application's `App` selector.
        var resource = attributes.asResource
        resource.tags = Dictionary(tags.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let application = ownership.applicationID(of: resource)
        var unit = application.flatMap { ownership.application($0)?.businessUnit }
        if unit == nil {
            for key in rules.businessUnitTags {
                if let value = tags[AllocationRules.canonicalKey(key, aliases: aliases)], let named = unitByName[value.lowercased()] {
                    unit = named
                    break
                }
            }
        }
        // An account the ledger bills but no scan has seen is still owned when a unit lists it.
        if unit == nil { unit = ownership.businessUnitID(of: accounts[attributes.account] ?? Account(id: attributes.account, name: attributes.account)) }
        return Placement(unit: unit, application: application, shared: nil, categories: categories, tags: tags)
    }

    /// Placements remembered by attributes: a ledger repeats each resource's attributes daily.
    public struct Placements {
        let allocator: CostAllocator
        var known: [CostAttributes: Placement] = [:]

        public init(_ allocator: CostAllocator) { self.allocator = allocator }

        public mutating func callAsFunction(_ attributes: CostAttributes) -> Placement {
            if let placement = known[attributes] { return placement }
            let placement = allocator.place(attributes)
            known[attributes] = placement
            return placement
        }
    }

    public func allocate(_ days: [CostDay]) -> [AllocatedCost] {
        var placements = Placements(self)
        var direct: [AllocatedCost] = []
        var pooled: [(CostDay, Placement)] = []
        direct.reserveCapacity(days.count)
        for day in days {
            let placement = placements(day.attributes)
            if placement.shared != nil {
                pooled.append((day, placement))
            } else {
                direct.append(piece(day, placement, unit: placement.unit, billed: day.billedCost, effective: day.effectiveCost))
            }
        }
        guard !pooled.isEmpty else { return direct }
        // Each unit's direct cost per month and currency: the weights of proportional splits.
        struct WeightKey: Hashable { var period, currency, unit: String }
        var directBilled: [WeightKey: Decimal] = [:]
        var directEffective: [WeightKey: Decimal] = [:]
        for cost in direct {
            guard let unit = cost.unit else { continue }
            let key = WeightKey(period: cost.period, currency: cost.currency, unit: unit)
            directBilled[key, default: 0] += cost.billed
            directEffective[key, default: 0] += cost.effective
        }
        var result = direct
        for (day, placement) in pooled {
            let split = placement.shared!
            func weights(_ table: [WeightKey: Decimal]) -> [Decimal] {
                switch split.method {
                case .even: return split.to.map { _ in 1 }
                case .fixed: return split.to.map { split.percentages[$0] ?? 0 }
                case .proportional: return split.to.map { table[WeightKey(period: day.period, currency: day.currency, unit: $0)] ?? 0 }
                }
            }
            let billedShares = Self.divide(day.billedCost, by: weights(directBilled))
            let effectiveShares = Self.divide(day.effectiveCost, by: weights(directEffective))
            guard let billedShares, let effectiveShares else {
                // Nothing to split by (no unit had direct cost that month): stays visible as unallocated.
                result.append(piece(day, placement, unit: nil, billed: day.billedCost, effective: day.effectiveCost))
                continue
            }
            for (index, unit) in split.to.enumerated() {
                result.append(piece(day, placement, unit: unit, billed: billedShares[index], effective: effectiveShares[index]))
            }
        }
        return result
    }

    private func piece(_ day: CostDay, _ placement: Placement, unit: String?, billed: Decimal, effective: Decimal) -> AllocatedCost {
        AllocatedCost(
            day: day.day, period: day.period, attributes: day.attributes, currency: day.currency, billed: billed, effective: effective, unit: unit,
            application: placement.application, shared: placement.shared?.name, categories: placement.categories, tags: placement.tags)
    }

    /// `amount` in shares proportional to `weights`, each rounded to 10 decimal places and the
    /// last taking the remainder, so the shares add up to `amount` exactly. Nil when the weights
    /// sum to zero.
    static func divide(_ amount: Decimal, by weights: [Decimal]) -> [Decimal]? {
        let total = weights.reduce(Decimal(0), +)
        guard total > 0, !weights.isEmpty else { return nil }
        var shares: [Decimal] = []
        var given: Decimal = 0
        for weight in weights.dropLast() {
            var exact = amount * weight / total
            var rounded = Decimal()
            NSDecimalRound(&rounded, &exact, 10, .plain)
            shares.append(rounded)
            given += rounded
        }
        shares.append(amount - given)
        return shares
    }
}

extension CostRecord {
    /// What allocation looks at, as for the row's daily slice.
    public var attributes: CostAttributes {
        let account = subAccountID ?? ""
        return CostAttributes(
            provider: provider, account: account.isEmpty ? billingAccountID : account, service: serviceName ?? "", region: regionID ?? "",
            chargeCategory: chargeCategory, resourceType: resourceType ?? "", tags: tags)
    }
}

extension CostDay {
    public var attributes: CostAttributes {
        CostAttributes(
            provider: provider, account: subAccountID.isEmpty ? billingAccountID : subAccountID, service: serviceName, region: regionID, chargeCategory: chargeCategory,
            resourceType: resourceType, tags: tags)
    }
}

extension AllocationRules {
    /// Problems of these rules against the business units in force (see `problems(units:)`).
    public func problems(store: any CanopyStore) async throws -> [String] {
        let ownership = try await store.ownership()
        return problems(units: Set(ownership.effectiveBusinessUnits(accounts: try await store.accounts()).map(\.id)))
    }
}

/// What a rule set would change before it applies: each business unit's cost of a month under
/// the rules in force and under the candidate, and the candidate's categories.
public struct AllocationPreview: Sendable, Codable {
    public struct Line: Sendable, Codable, Hashable {
        /// A unit id, or `(unallocated)`.
        public var unit: String
        public var current: Decimal
        public var candidate: Decimal
        public var change: Decimal { candidate - current }
    }

    public struct CategoryValue: Sendable, Codable, Hashable {
        public var category: String
        public var value: String
        public var cost: Decimal
    }

    public var month: String
    public var currency: String
    public var metric: CostMetric
    /// The version in force (nil: none).
    public var currentVersion: Int?
    public var units: [Line]
    public var categories: [CategoryValue]
    /// Problems of the candidate against the units in force (an unknown unit in a split).
    public var problems: [String]

    /// - Parameter month: `YYYY-MM`; nil: the ledger's latest billing period.
    public static func build(
        candidate: AllocationRules, month given: String?, currency: String = "USD", metric: CostMetric = .billed, store: any CanopyStore
    ) async throws -> AllocationPreview {
        var month = given
        if month == nil { month = try await store.costPeriods().last }
        guard let month else { throw CostViewError.emptyLedger }
        guard let span = CostCalendar.monthSpan(month) else { throw CostViewError.badMonth(month) }
        let slices = try await store.costSlices(CostQuery(from: span.from, to: span.to)).filter { $0.currency == currency }
        let current = try await store.currentAllocation()
        let before = try await CostAllocator.current(store: store)
        let after = try await CostAllocator.current(store: store, rules: candidate)
        var sums: [String: (Decimal, Decimal)] = [:]
        for piece in before.allocate(slices) { sums[piece.unit ?? CostBreakdown.unallocated, default: (0, 0)].0 += piece.cost(metric) }
        var categories: [CategoryValue: Decimal] = [:]
        for piece in after.allocate(slices) {
            sums[piece.unit ?? CostBreakdown.unallocated, default: (0, 0)].1 += piece.cost(metric)
            for (name, value) in piece.categories { categories[CategoryValue(category: name, value: value, cost: 0), default: 0] += piece.cost(metric) }
        }
        let units = sums.map { Line(unit: $0.key, current: $0.value.0, candidate: $0.value.1) }
            .sorted { ($0.unit == CostBreakdown.unallocated ? 1 : 0, $0.unit) < ($1.unit == CostBreakdown.unallocated ? 1 : 0, $1.unit) }
        let values = categories.map { CategoryValue(category: $0.key.category, value: $0.key.value, cost: $0.value) }
            .sorted { ($0.category, -NSDecimalNumber(decimal: $0.cost).doubleValue, $0.value) < ($1.category, -NSDecimalNumber(decimal: $1.cost).doubleValue, $1.value) }
        return AllocationPreview(
            month: month, currency: currency, metric: metric, currentVersion: current?.version, units: units, categories: values,
            problems: try await candidate.problems(store: store))
    }
}
