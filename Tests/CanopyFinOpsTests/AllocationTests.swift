import CanopyFinOps
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation
import CanopyTestSupport
import Testing

/// Cost allocation: rules read with errors that point at the line, aliases, categories, shared
/// splits to the last digit, exhaustiveness for any rule set, versions and previews.
@Suite struct AllocationTests {
    static let ownership = Ownership(
        businessUnits: [
            BusinessUnit(id: "gen", name: "Generation", costCenter: "CC-1100", accounts: ["111111111111"]),
            BusinessUnit(id: "grid", name: "Grid", costCenter: "CC-2100", accounts: ["222222222222"]),
            BusinessUnit(id: "corp", name: "Corporate", costCenter: "CC-9000", accounts: ["333333333333"]),
        ],
        applications: [Application(id: "historian", name: "Historian", businessUnit: "gen", selector: ResourceSelector(tags: ["App": ["historian"]]))])

    static func day(
        _ account: String, _ service: String, _ billed: Decimal, effective: Decimal? = nil, tags: [String: String] = [:], day: String = "2026-10-05",
        currency: String = "USD", category: String = "Usage"
    ) -> CostDay {
        CostDay(
            period: String(day.prefix(7)), provider: "AWS", day: day, billingAccountID: "999999999999", subAccountID: account, serviceName: service,
            regionID: "us-east-1", chargeCategory: category, resourceType: "", tags: tags, currency: currency, billedCost: billed,
            effectiveCost: effective ?? billed, listCost: billed, rows: 1)
    }

    static func allocator(_ rules: AllocationRules) -> CostAllocator { CostAllocator(rules: rules, ownership: ownership, accounts: []) }

    @Test func aliasesCategoriesUnitTagsAndSplitsPlaceCostAsWritten() throws {
        let rules = try AllocationFile.parse(
            """
            tag_aliases:
              app: [application]
              cost-center: [cc, costcentre]
            business_unit_tags: [cost-center]
            categories:
              - name: Environment
                default: Unknown
                rules:
                  - value: Production
                    match: {tags: {env: [prod]}}
                  - value: Other environments
                    match: {tags: {env: ["*"]}}
              - name: Centre
                rules:
                  # A rule may name a tag by an alias of it.
                  - value: grid centre
                    match: {tags: {cc: [cc-2100]}}
            shared_costs:
              - name: Support
                match: {services: [AWSSupport]}
                method: proportional
                to: [gen, grid]
              - name: Network
                match: {services: [AmazonVPC], accounts: ["333333333333"]}
                method: fixed
                to: [gen, grid, corp]
                percentages: {gen: 50, grid: 30, corp: 20}
            """, file: "rules.yaml")
        let days = [
            // An alias reaches the application's `App` selector from another unit's account.
            Self.day("222222222222", "AmazonEC2", 10, tags: ["Application": "historian", "Env": "prod"]),
            // A cost-center tag (under an alias) names a unit by its cost centre.
            Self.day("999000000000", "AmazonS3", 6, tags: ["CC": "cc-2100", "env": "dev"]),
            // Neither: the account's unit.
            Self.day("111111111111", "AmazonEC2", 30),
            // Nobody's: unallocated, never dropped.
            Self.day("888888888888", "AmazonEC2", 4),
            Self.day("555555555555", "AWSSupport", 100),
            Self.day("333333333333", "AmazonVPC", Decimal(string: "0.07")!),
        ]
        let pieces = Self.allocator(rules).allocate(days)
        func unitTotal(_ unit: String?) -> Decimal { pieces.filter { $0.unit == unit }.reduce(0) { $0 + $1.billed } }
        #expect(pieces.first { $0.attributes.service == "AmazonEC2" && $0.attributes.account == "222222222222" }?.application == "historian")
        #expect(pieces.first { $0.attributes.service == "AmazonS3" }?.unit == "grid")
        #expect(pieces.first { $0.attributes.service == "AmazonS3" }?.categories["Environment"] == "Other environments")
        #expect(pieces.first { $0.attributes.service == "AmazonS3" }?.categories["Centre"] == "grid centre")
        #expect(pieces.first { $0.attributes.account == "111111111111" }?.categories["Environment"] == "Unknown")
        // Support by direct cost: gen 40 (10 + 30), grid 6 → 40/46 and 6/46 of 100.
        let support = pieces.filter { $0.shared == "Support" }
        #expect(support.map(\.unit) == ["gen", "grid"])
        #expect(support.reduce(0) { $0 + $1.billed } == 100)
        #expect(abs(NSDecimalNumber(decimal: support[0].billed).doubleValue - 4_000.0 / 46) < 1e-9)
        // Seven cents 50/30/20: shares add up to exactly seven cents.
        let network = pieces.filter { $0.shared == "Network" }
        #expect(network.map(\.billed) == [Decimal(string: "0.035")!, Decimal(string: "0.021")!, Decimal(string: "0.014")!])
        #expect(unitTotal(nil) == 4)
        #expect(unitTotal("gen") + unitTotal("grid") + unitTotal("corp") + unitTotal(nil) == days.reduce(0) { $0 + $1.billedCost })
    }

    @Test func aProportionalSplitWithNothingToSplitByStaysVisibleAsUnallocated() {
        let rules = AllocationRules(sharedCosts: [SharedCost(name: "Support", match: CostMatch(services: ["AWSSupport"]), method: .proportional, to: ["corp"])])
        let pieces = Self.allocator(rules).allocate([Self.day("555555555555", "AWSSupport", 100), Self.day("111111111111", "AmazonEC2", 5)])
        #expect(pieces.first { $0.shared == "Support" }?.unit == nil)
        #expect(pieces.first { $0.shared == "Support" }?.billed == 100)
    }

    /// Allocated plus unallocated is the total, per currency and metric, for any rule set.
    @Test(arguments: 0..<40) func allocationIsExhaustiveForRandomRules(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        let accounts = ["111111111111", "222222222222", "333333333333", "444444444444"]
        let services = ["AmazonEC2", "AmazonS3", "AWSSupport", "AmazonVPC"]
        let units = ["gen", "grid", "corp"]
        func some<T>(_ values: [T]) -> [T] { values.filter { _ in random.next() % 2 == 0 } }
        func match() -> CostMatch {
            CostMatch(accounts: random.next() % 3 == 0 ? some(accounts) : [], services: random.next() % 2 == 0 ? some(services) : [],
                tags: random.next() % 3 == 0 ? ["env": ["prod", "*"].filter { _ in random.next() % 2 == 0 }] : [:])
        }
        var shared: [SharedCost] = []
        for index in 0..<Int(random.next() % 4) {
            let picked = some(units)
            let to = picked.isEmpty ? ["gen"] : picked
            let method = SharedCost.Method.allCases[Int(random.next() % 3)]
            var percentages: [String: Decimal] = [:]
            if method == .fixed {
                var left: Decimal = 100
                for unit in to.dropLast() {
                    let share = Decimal(Int(random.next() % 50)) + Decimal(Int(random.next() % 100)) / 100
                    let given = min(share, left)
                    percentages[unit] = given
                    left -= given
                }
                percentages[to.last!] = left
            }
            shared.append(SharedCost(name: "split-\(index)", match: match(), method: method, to: to, percentages: percentages))
        }
        let rules = AllocationRules(
            tagAliases: ["env": ["stage"]], businessUnitTags: ["cost-center"],
            categories: [CostCategory(name: "C", rules: [CostCategory.Rule(value: "x", match: match())])], sharedCosts: shared)
        #expect(rules.problems(units: Set(units)).isEmpty)
        var days: [CostDay] = []
        for _ in 0..<Int(20 + random.next() % 60) {
            let cents = Decimal(Int(random.next() % 1_000_000)) / Decimal(Int([1, 100, 10_000][Int(random.next() % 3)]))
            let sign: Decimal = random.next() % 10 == 0 ? -1 : 1
            var tags: [String: String] = [:]
            if random.next() % 2 == 0 { tags["Stage"] = ["prod", "dev"][Int(random.next() % 2)] }
            if random.next() % 4 == 0 { tags["cost-center"] = ["CC-1100", "cc-9000", "nobody"][Int(random.next() % 3)] }
            if random.next() % 4 == 0 { tags["App"] = "historian" }
            days.append(
                Self.day(
                    accounts[Int(random.next() % 4)], services[Int(random.next() % 4)], sign * cents, effective: cents * 7 / 10, tags: tags,
                    day: "2026-\(["09", "10"][Int(random.next() % 2)])-1\(random.next() % 10)", currency: ["USD", "TWD"][Int(random.next() % 2)]))
        }
        let pieces = Self.allocator(rules).allocate(days)
        for currency in ["USD", "TWD"] {
            for metric in CostMetric.allCases {
                let total = days.filter { $0.currency == currency }.reduce(Decimal(0)) { $0 + (metric == .billed ? $1.billedCost : $1.effectiveCost) }
                let allocated = pieces.filter { $0.currency == currency && $0.unit != nil }.reduce(Decimal(0)) { $0 + $1.cost(metric) }
                let unallocated = pieces.filter { $0.currency == currency && $0.unit == nil }.reduce(Decimal(0)) { $0 + $1.cost(metric) }
                #expect(allocated + unallocated == total, "seed \(seed), \(currency) \(metric)")
            }
        }
    }

    @Test func errorsNameTheLineAndTheRule() {
        func error(_ yaml: String) -> String {
            do {
                _ = try AllocationFile.parse(yaml, file: "alloc.yaml")
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(error("categories:\n  - name: Env\n    rules:\n      - value: Prod\n") .contains("alloc.yaml:4"))
        #expect(error("categories:\n  - name: Env\n    rules:\n      - value: Prod\n") .contains("'match' is required"))
        #expect(error("shared_costs:\n  - name: S\n    match: {}\n    method: fair\n    to: [a]\n").contains("alloc.yaml:4"))
        #expect(error("shared_costs:\n  - name: S\n    match: {}\n    method: fair\n    to: [a]\n").contains("not one of even, proportional, fixed"))
        #expect(error("shared_costs:\n  - name: S\n    match: {}\n    method: fixed\n    to: [a, b]\n    percentages: {a: 60, b: 30}\n").contains("add up to 90, not 100"))
        #expect(error("shared_costs:\n  - name: S\n    match: {servces: [x]}\n    method: even\n    to: [a]\n").contains("unknown field 'servces'"))
        #expect(error("tag_aliases:\n  a: [x]\n  b: [x]\n").contains("alias of both"))
        #expect(error("budgets: []\n").contains("unknown field 'budgets'"))
        #expect(error("") == "no error")
        #expect(AllocationRules(sharedCosts: [SharedCost(name: "S", match: CostMatch(), method: .even, to: ["nobody"])]).problems(units: ["gen"])
            == ["shared cost 'S': business unit 'nobody' is not defined"])
    }

    @Test func rulesAreVersionedAuditedPreviewedAndDrivenThroughEveryView() async throws {
        let store = try SQLiteStore()
        try await store.replaceOwnership(Self.ownership, actor: "t")
        let day = Date(timeIntervalSince1970: 1_791_244_800)  // 2026-10-06
        func row(_ account: String, _ service: String, _ cost: String, tags: [String: String] = [:]) -> CostRecord {
            CostRecord(
                billingPeriodStart: CostCalendar.date("2026-10-01")!, billingPeriodEnd: CostCalendar.date("2026-11-01")!, chargePeriodStart: day,
                chargePeriodEnd: day.addingTimeInterval(3_600), provider: "AWS", billingAccountID: "999999999999", subAccountID: account,
                billingCurrency: "USD", billedCost: Decimal(string: cost)!, effectiveCost: Decimal(string: cost)!, listCost: Decimal(string: cost)!,
                contractedCost: Decimal(string: cost)!, chargeCategory: "Usage", serviceName: service, regionID: "us-east-1", tags: tags)
        }
        let rows = [
            row("111111111111", "AmazonEC2", "30.10"), row("222222222222", "AmazonEC2", "10.00", tags: ["Env": "prod"]),
            row("555555555555", "AWSSupport", "100.00"), row("777777777777", "AmazonS3", "2.50", tags: ["costcentre": "CC-9000"]),
            // Tags that need escaping survive the store's JSON.
            row("111111111111", "AmazonS3", "0", tags: ["note": "a \"quoted\" \\ path\nline\u{1}\ttab", "名稱": "發電/一廠"]),
        ]
        _ = try await store.importCosts(file: "t.csv", sha256: "t", format: .focus12, rows: ArraySource(rows), actor: "t")
        #expect(try await store.costRows(period: "2026-10", subAccounts: ["111111111111"]).first { $0.tags["note"] != nil }?.tags == rows.last?.tags)
        let before = try await CostBreakdown.build(by: .businessUnit, metric: .billed, query: CostQuery(), store: store)
        #expect(before.lines.first { $0.key == CostBreakdown.unallocated }?.cost == Decimal(string: "102.50"))

        let source = """
            tag_aliases: {cost-center: [costcentre]}
            business_unit_tags: [cost-center]
            categories:
              - name: Pool
                rules: [{value: Compute, match: {services: [AmazonEC2]}}]
            shared_costs:
              - {name: Support, match: {services: [AWSSupport]}, method: even, to: [gen, grid]}
            """
        let rules = try AllocationFile.parse(source, file: "r.yaml")
        let preview = try await AllocationPreview.build(candidate: rules, month: "2026-10", store: store)
        #expect(preview.currentVersion == nil && preview.problems.isEmpty)
        let gen = try #require(preview.units.first { $0.unit == "gen" })
        #expect(gen.current == Decimal(string: "30.10")! && gen.candidate == Decimal(string: "80.10")!)
        #expect(preview.units.first { $0.unit == CostBreakdown.unallocated }?.candidate == 0)
        #expect(preview.categories.contains { $0.category == "Pool" && $0.value == "Compute" && $0.cost == Decimal(string: "40.10")! })
        #expect(try await store.currentAllocation() == nil, "a preview changes nothing")

        let v1 = try #require(try await store.applyAllocation(rules, source: source, actor: "ccoe"))
        #expect(v1.version == 1)
        #expect(try await store.applyAllocation(rules, source: source, actor: "ccoe") == nil, "the same rules again change nothing")
        #expect(try await store.auditLog(limit: 5).first { $0.action == "cost.allocation.apply" }?.target == "cost-allocation/1")
        let after = try await CostBreakdown.build(by: .businessUnit, metric: .billed, query: CostQuery(), store: store)
        #expect(Dictionary(uniqueKeysWithValues: after.lines.map { ($0.key, $0.cost) }) == ["gen": Decimal(string: "80.10")!, "grid": 60, "corp": Decimal(string: "2.50")!])
        let pool = try await CostBreakdown.build(by: .category(nil), metric: .billed, query: CostQuery(), store: store)
        #expect(pool.lines.first { $0.key == "Compute" }?.cost == Decimal(string: "40.10"))
        let byTag = try await CostBreakdown.build(by: .tag("cost_center"), metric: .billed, query: CostQuery(), store: store)
        #expect(byTag.lines.first { $0.key == "CC-9000" }?.cost == Decimal(string: "2.50"))
        await #expect(throws: CostViewError.self) { try await CostBreakdown.build(by: .category("Nope"), metric: .billed, query: CostQuery(), store: store) }
        let statement = try await ChargebackStatement.build(unit: Self.ownership.businessUnits[1], month: "2026-10", store: store)
        #expect(statement.lines.map(\.application) == ["(shared: Support)", "(unassigned)"] && statement.billedTotal == 60)

        // A proportional split inside one unit's account, seen from that account alone: the
        // weights are every unit's direct cost in the estate, not only what the view shows.
        let proportional = try AllocationFile.parse(
            "shared_costs:\n  - {name: Support, match: {services: [AWSSupport]}, method: proportional, to: [gen, grid]}\n", file: "p.yaml")
        _ = try await store.applyAllocation(proportional, source: "p", actor: "ccoe")
        let scopedStore = try SQLiteStore()
        try await scopedStore.replaceOwnership(Self.ownership, actor: "t")
        let inOwnAccount = [row("111111111111", "AmazonEC2", "100"), row("222222222222", "AmazonEC2", "300"), row("111111111111", "AWSSupport", "40")]
        _ = try await scopedStore.importCosts(file: "s.csv", sha256: "s", format: .focus12, rows: ArraySource(inOwnAccount), actor: "t")
        _ = try await scopedStore.applyAllocation(proportional, source: "p", actor: "ccoe")
        let scoped = try await CostBreakdown.build(by: .businessUnit, metric: .billed, query: CostQuery(subAccounts: ["111111111111"]), store: scopedStore)
        #expect(Dictionary(uniqueKeysWithValues: scoped.lines.map { ($0.key, $0.cost) }) == ["gen": 110, "grid": 30])

        let v2 = try #require(try await store.applyAllocation(AllocationRules(), source: "", actor: "ccoe"))
        #expect(v2.version == 3)
        #expect(try await store.allocationVersions().map(\.version) == [3, 2, 1])
        #expect(try await store.currentAllocation()?.rules == AllocationRules())
    }
}

/// Rows handed to an import from memory.
struct ArraySource: CostRowSource {
    var rows: [CostRecord]
    init(_ rows: [CostRecord]) { self.rows = rows.reversed() }
    mutating func next() throws -> CostRecord? { rows.popLast() }
}
