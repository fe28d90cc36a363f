import CanopyModel
import CanopyStore
import Foundation

/// Why an uploaded or collected inventory was refused, naming the field.
public struct HostInventoryProblem: Error, CustomStringConvertible, Sendable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// The checks an inventory passes before anything of it is stored: a known schema, a well-formed
/// machine id and hostname, a plausible time, and counts and lengths within bounds (a host has
/// thousands of packages, not millions).
public enum HostInventoryValidation {
    public static let maximumPackages = 100_000
    public static let maximumPorts = 10_000
    public static let maximumAccounts = 50_000
    public static let maximumText = 4_096

    public static func validate(_ inventory: HostInventory, now: Date) throws {
        func fail(_ field: String, _ message: String) -> HostInventoryProblem { HostInventoryProblem(field: field, message: message) }
        guard inventory.schema == HostInventory.currentSchema else {
            throw fail("schema", "version \(inventory.schema) is not supported (this server reads \(HostInventory.currentSchema)); update the agent")
        }
        guard HostIdentity.isValid(inventory.hostID) else { throw fail("hostID", "must be 32 lower-case hex digits (/etc/machine-id)") }
        guard isHostname(inventory.hostname) else { throw fail("hostname", "must be 1-253 letters, digits, '-', '_' or '.'") }
        guard inventory.collectedAt <= now.addingTimeInterval(86_400) else { throw fail("collectedAt", "is more than a day in the future; check the host's clock") }
        guard inventory.collectedAt >= now.addingTimeInterval(-30 * 86_400) else { throw fail("collectedAt", "is more than 30 days old") }
        try limit(inventory.packages.count, maximumPackages, "packages")
        try limit(inventory.pendingUpdates?.count ?? 0, maximumPackages, "pendingUpdates")
        try limit(inventory.listeningPorts.count, maximumPorts, "listeningPorts")
        try limit(inventory.users.count, maximumAccounts, "users")
        try limit(inventory.groups.count, maximumAccounts, "groups")
        try limit(inventory.sudoRules.count, maximumPorts, "sudoRules")
        try limit(inventory.interfaces.count, maximumPorts, "interfaces")
        try limit(inventory.disks.count, maximumPorts, "disks")
        try limit(inventory.problems.count, maximumPorts, "problems")
        for (index, package) in inventory.packages.enumerated() {
            try text(package.name, "packages[\(index)].name", maximum: 256)
            try text(package.version, "packages[\(index)].version", maximum: 256)
        }
        for (index, update) in (inventory.pendingUpdates ?? []).enumerated() {
            try text(update.name, "pendingUpdates[\(index)].name", maximum: 256)
            try text(update.candidateVersion, "pendingUpdates[\(index)].candidateVersion", maximum: 256)
        }
        for (index, port) in inventory.listeningPorts.enumerated() {
            guard port.transport == "tcp" || port.transport == "udp" else { throw fail("listeningPorts[\(index)].transport", "must be tcp or udp") }
            guard (0...65_535).contains(port.port) else { throw fail("listeningPorts[\(index)].port", "must be 0-65535") }
        }
        for (index, user) in inventory.users.enumerated() { try text(user.name, "users[\(index)].name", maximum: 256) }
        try text(inventory.kernel.release, "kernel.release", maximum: 256)
        try text(inventory.os.id, "os.id", maximum: 64)
    }

    private static func limit(_ count: Int, _ maximum: Int, _ field: String) throws {
        if count > maximum { throw HostInventoryProblem(field: field, message: "\(count) entries; at most \(maximum) are accepted") }
    }

    private static func text(_ value: String, _ field: String, maximum: Int) throws {
        if value.isEmpty { throw HostInventoryProblem(field: field, message: "is empty") }
        if value.utf8.count > maximum { throw HostInventoryProblem(field: field, message: "is longer than \(maximum) bytes") }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw HostInventoryProblem(field: field, message: "contains control characters")
        }
    }

    static func isHostname(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 253
            && name.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "-_.".unicodeScalars.contains($0) }
    }
}

/// Puts a host's inventory into the store as one small scan of its own unit
/// (`site/site/host/<machine id>`), so it gets the snapshots, timeline and diff every cloud resource
/// gets, and other hosts and accounts are untouched. The host's package and port child records are
/// replaced beside it. Used alike by `canopy scan --host local` and by the agent upload endpoint.
public struct HostIntake: Sendable {
    public let store: any CanopyStore
    public let lifecycle: OSLifecycle

    public init(store: any CanopyStore, lifecycle: OSLifecycle = .bundled) {
        self.store = store
        self.lifecycle = lifecycle
    }

    public struct Result: Sendable {
        public var scan: Scan
        public var resource: Resource
        /// `added`, `modified`, or nil when nothing changed since the host's previous inventory.
        public var change: ResourceChange.Kind?
    }

    public func record(_ inventory: HostInventory, placement: HostPlacement, source: String, now: Date = Date()) async throws -> Result {
        try await record(inventory, source: source, now: now) { _ in placement }
    }

    /// Validates the inventory, then asks `placement` where it belongs (the upload endpoint binds
    /// the host's enrollment there, so nothing is bound for an inventory that is refused), then
    /// stores it.
    public func record(
        _ inventory: HostInventory, source: String, now: Date = Date(), placement resolve: (HostInventory) async throws -> HostPlacement
    ) async throws -> Result {
        try HostInventoryValidation.validate(inventory, now: now)
        let placement = try await resolve(inventory)
        guard HostPlacement.isValidSite(placement.site) else {
            throw HostInventoryProblem(field: "site", message: "'\(placement.site)' must be 1-64 letters, digits, '-', '_' or '.'")
        }
        var inventory = inventory
        let uid = Resource.canopyUID(provider: .onprem, account: placement.site, region: placement.site, type: onpremHostType, id: inventory.hostID)
        let previous = try await store.resource(uid: uid)
        inventory.pendingUpdates = carryFirstSeen(inventory.pendingUpdates, previous: previous, at: inventory.collectedAt)
        let resource = inventory.resource(placement: placement, lifecycle: lifecycle)

        if try await !store.accounts().contains(where: { $0.id == placement.site }) {
            try await store.upsert([Account(id: placement.site, name: placement.site, provider: .onprem)])
        }
        let unit = ScanUnit(account: placement.site, region: placement.site, service: "host/\(inventory.hostID)")
        let scan = try await store.startScan(
            scope: ScanScope(accounts: [placement.site], regions: [placement.site], services: ["host"], source: "host \(inventory.hostname) (\(source))"),
            at: now)
        do {
            try await store.stage(CollectedResources(unit: unit, resources: [resource]), scanID: scan.id)
            let completed = try await store.completeScan(
                scan.id, ScanCompletion(succeededUnits: [unit], errors: [], throttledRetries: 0, finishedAt: now))
            try await store.replaceHostDetails(hostUID: uid, packages: inventory.packageRecords, ports: inventory.portRecords)
            let change = try await store.changes(scanID: scan.id).first { $0.uid == uid }?.kind
            return Result(scan: completed, resource: resource, change: change)
        } catch {
            try? await store.abandonScan(scan.id, reason: "\(error)", at: Date())
            throw error
        }
    }

    /// Each pending update keeps the time Canopy first saw its package pending on this host, so its
    /// age is measured from then, not from the latest upload.
    func carryFirstSeen(_ updates: [HostInventory.PendingUpdate]?, previous: Resource?, at date: Date) -> [HostInventory.PendingUpdate]? {
        guard var updates else { return nil }
        var known: [String: Date] = [:]
        for entry in previous?.properties["PendingUpdates"]?.arrayValue ?? [] {
            if let name = entry["Name"]?.stringValue, let seen = entry["FirstSeen"]?.stringValue.flatMap(Timestamps.parse) {
                known[name] = seen
            }
        }
        for index in updates.indices {
            let reported = updates[index].firstSeen.flatMap { $0 <= date ? $0 : nil }
            updates[index].firstSeen = [known[updates[index].name], reported, date].compactMap { $0 }.min()
        }
        return updates
    }
}
