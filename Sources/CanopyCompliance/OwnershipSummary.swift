import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// Everything cut by business unit and application: what each owns in the current inventory,
/// its open findings and its pass rate in the last evaluation. One pass over the inventory, the
/// open findings and the check results.
public struct OwnershipSummary: Sendable, Codable {
    public struct Unit: Sendable, Codable {
        public var unit: BusinessUnit
        public var accounts: [String]
        public var applications: [String]
        public var resources: Int
        public var openFindings: Int
        /// Open findings by severity name (`critical`, `high`…).
        public var openBySeverity: [String: Int]
        public var passRate: Double?
    }

    public struct App: Sendable, Codable {
        public var application: Application
        public var accounts: [String]
        public var resources: Int
        public var openFindings: Int
        public var openBySeverity: [String: Int]
        public var passRate: Double?
    }

    /// Defined units (or one per organizational unit until units are defined).
    public var units: [Unit]
    public var applications: [App]
    /// Resources no application claims (their unit comes from their account).
    public var unassignedResources: Int
    /// Resources whose account no unit owns.
    public var resourcesWithoutUnit: Int

    /// - Parameters:
    ///   - accounts: limit to these accounts (a business-unit owner's view); nil for all.
    ///   - units: list only these units (a business-unit owner's own); nil for all. Applications
    ///     are listed when they reach the accounts in scope, whichever unit runs them.
    ///   - inventory: the current inventory when the caller has it already.
    public static func build(
        store: any CanopyStore, accounts scope: Set<String>? = nil, units visibleUnits: Set<String>? = nil, inventory: [Resource]? = nil
    ) async throws -> OwnershipSummary {
        let ownership = try await store.ownership()
        let allAccounts = try await store.accounts()
        let accountsByID = Dictionary(allAccounts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var resources = inventory ?? []
        if inventory == nil { resources = try await store.resources(ResourceQuery()) }
        let definedUnits = ownership.effectiveBusinessUnits(accounts: allAccounts)

        var unitResources: [String: Int] = [:]
        var appResources: [String: Int] = [:]
        var appAccounts: [String: Set<String>] = [:]
        var unassigned = 0
        var withoutUnit = 0
        for resource in resources where scope?.contains(resource.account) ?? true {
            let app = ownership.applicationID(of: resource)
            // With no applications defined, `App` tag values are the applications.
            if let app {
                appResources[app, default: 0] += 1
                appAccounts[app, default: []].insert(resource.account)
            } else {
                unassigned += 1
            }
            if let unit = ownership.businessUnitID(of: resource, account: accountsByID[resource.account]) {
                unitResources[unit, default: 0] += 1
            } else {
                withoutUnit += 1
            }
        }
        let open = try await store.findings(FindingQuery(accounts: scope.map { Array($0) }, statuses: [.new, .inProgress]))
        var unitFindings: [String: [String: Int]] = [:]
        var appFindings: [String: [String: Int]] = [:]
        for finding in open {
            let severity = Severity(ocsfID: finding.severityID)?.rawValue ?? "unknown"
            if let app = finding.application { appFindings[app, default: [:]][severity, default: 0] += 1 }
            if let unit = ownership.businessUnitID(application: finding.application, account: accountsByID[finding.account]) {
                unitFindings[unit, default: [:]][severity, default: 0] += 1
            }
        }
        var unitCounts: [String: (pass: Int, total: Int)] = [:]
        var appCounts: [String: (pass: Int, total: Int)] = [:]
        if let latest = try await store.evaluations(limit: 1).first {
            for result in try await store.checkResults(evaluationID: latest.id) where scope?.contains(result.account) ?? true {
                let app = result.application.isEmpty ? nil : result.application
                let passing = result.passed + result.waived
                let total = result.passed + result.failed + result.waived
                if let app { appCounts[app, default: (0, 0)].pass += passing; appCounts[app]!.total += total }
                if let unit = ownership.businessUnitID(application: app, account: accountsByID[result.account]) {
                    unitCounts[unit, default: (0, 0)].pass += passing
                    unitCounts[unit]!.total += total
                }
            }
        }
        func rate(_ counts: (pass: Int, total: Int)?) -> Double? {
            guard let counts, counts.total > 0 else { return nil }
            return Double(counts.pass) / Double(counts.total)
        }
        let applications: [Application] =
            ownership.applications.isEmpty
            ? appResources.keys.sorted().map { tag in
                Application(
                    id: tag, name: tag, businessUnit: "", selector: ResourceSelector(tags: [Ownership.implicitApplicationTag: [tag]]))
            } : ownership.applications
        let appSummaries = applications.compactMap { app -> App? in
            let accounts = appAccounts[app.id, default: []]
            // A business-unit owner sees the applications that reach their accounts.
            if scope != nil, accounts.isEmpty { return nil }
            let severities = appFindings[app.id] ?? [:]
            return App(
                application: app, accounts: accounts.sorted(), resources: appResources[app.id] ?? 0,
                openFindings: severities.values.reduce(0, +), openBySeverity: severities, passRate: rate(appCounts[app.id]))
        }
        let unitSummaries = definedUnits.compactMap { unit -> Unit? in
            let accounts = ownership.accounts(ofBusinessUnit: unit.id, among: allAccounts).filter { scope?.contains($0) ?? true }
            let apps = applications.filter { $0.businessUnit == unit.id }.map(\.id)
            if let visibleUnits, !visibleUnits.contains(unit.id) { return nil }
            let severities = unitFindings[unit.id] ?? [:]
            return Unit(
                unit: unit, accounts: accounts, applications: apps, resources: unitResources[unit.id] ?? 0,
                openFindings: severities.values.reduce(0, +), openBySeverity: severities, passRate: rate(unitCounts[unit.id]))
        }
        return OwnershipSummary(units: unitSummaries, applications: appSummaries, unassignedResources: unassigned, resourcesWithoutUnit: withoutUnit)
    }
}
