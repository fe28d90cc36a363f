import ArgumentParser
import CanopyModel
import CanopyStore
import Foundation

struct ScansCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scans", abstract: "List past scans, newest first.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "How many scans to list.") var limit = 20
    @Option(help: "table, json or csv.") var format: OutputFormat = .table

    func run() async throws {
        let scans = try await database.open().scans(limit: limit)
        let table = Table(
            columns: ["id", "started", "status", "accounts", "regions", "resources", "units", "failed", "throttled"],
            rows: scans.map {
                [
                    String($0.id), $0.startedAt.shortTimestamp, $0.status.rawValue, String($0.scope.accounts.count),
                    String($0.scope.regions.count), String($0.resourceCount), String($0.unitsTotal),
                    String($0.unitsFailed), String($0.throttledRetries),
                ]
            })
        printOut(try table.render(format) { try JSONOutput.encode(scans) })
    }
}

struct ResourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resources", abstract: "List the current inventory, filtered.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Resource type, e.g. aws.ec2 or ec2 (repeatable).") var type: [String] = []
    @Option(help: "Account id (repeatable).") var account: [String] = []
    @Option(help: "Region (repeatable).") var region: [String] = []
    @Option(help: "Tag filter k=v, or k to require the key (repeatable).") var tag: [String] = []
    @Option(help: "table, json or csv.") var format: OutputFormat = .table
    @Option(help: "At most this many resources.") var limit: Int?

    func run() async throws {
        var tags: [String: String?] = [:]
        for filter in tag {
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard let key = parts.first, !key.isEmpty else { throw ValidationError("--tag needs KEY=VALUE or KEY, got '\(filter)'") }
            tags[key] = parts.count > 1 ? parts[1] : nil
        }
        let query = ResourceQuery(
            types: type.isEmpty ? nil : type.map { $0.contains(".") ? $0 : "aws.\($0)" },
            accounts: account.isEmpty ? nil : account, regions: region.isEmpty ? nil : region, tags: tags, limit: limit)
        let resources = try await database.open().resources(query)
        let table = Table(
            columns: ["type", "account", "region", "name", "uid"],
            rows: resources.map { [$0.type, $0.account, $0.region, $0.name, $0.uid] })
        printOut(try table.render(format) { try JSONOutput.encode(resources) })
    }
}

struct ResourceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resource", abstract: "Show one resource: properties, tags and its timeline of changes.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The resource's uid (its ARN for AWS).") var uid: String
    @Option(help: "table or json.") var format: OutputFormat = .table

    func run() async throws {
        let store = try database.open()
        let timeline = try await store.timeline(uid: uid)
        let resource = try await store.resource(uid: uid)
        guard resource != nil || !timeline.isEmpty else {
            throw ValidationError("no resource with uid '\(uid)' (see `canopy resources`)")
        }
        if format == .json {
            struct Detail: Encodable {
                var resource: Resource?
                var timeline: [ResourceChange]
            }
            printOut(String(decoding: try JSONOutput.encode(Detail(resource: resource, timeline: timeline)), as: UTF8.self))
            return
        }
        if let resource {
            printOut("\(resource.name)  (\(resource.type))")
            printOut("uid:       \(resource.uid)")
            printOut("account:   \(resource.account)   region: \(resource.region)")
            printOut("observed:  \(resource.observedAt.shortTimestamp)")
            printOut("tags:      " + (resource.tags.isEmpty ? "(none)" : resource.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))
            printOut("properties:")
            let pretty = try JSONOutput.encode(resource.properties)
            printOut(String(decoding: pretty, as: UTF8.self))
        } else {
            printOut("\(uid) no longer exists; its history:")
        }
        printOut("timeline:")
        for change in timeline {
            printOut("  scan \(change.scanID)  \(change.observedAt.shortTimestamp)  \(change.kind.rawValue)")
            for difference in change.differences {
                printOut("      \(difference.path): \(difference.before?.compactText ?? "(absent)") → \(difference.after?.compactText ?? "(absent)")")
            }
        }
    }
}

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Show what changed between two scans: added, removed and changed resources.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The older scan id.") var from: Int64
    @Argument(help: "The newer scan id.") var to: Int64
    @Option(help: "table, json or csv.") var format: OutputFormat = .table

    func run() async throws {
        let changes = try await database.open().diff(from: from, to: to)
        switch format {
        case .json:
            printOut(String(decoding: try JSONOutput.encode(changes), as: UTF8.self))
        case .csv:
            let rows = changes.flatMap { change in
                change.differences.isEmpty
                    ? [[change.kind.rawValue, change.type, change.account, change.region, change.uid, "", "", ""]]
                    : change.differences.map {
                        [change.kind.rawValue, change.type, change.account, change.region, change.uid, $0.path,
                         $0.before?.compactText ?? "", $0.after?.compactText ?? ""]
                    }
            }
            printOut(try Table(columns: ["change", "type", "account", "region", "uid", "path", "before", "after"], rows: rows).render(.csv) { Data() })
        case .table:
            let counts = Dictionary(grouping: changes, by: \.kind).mapValues(\.count)
            printOut("scan \(from) → scan \(to): \(counts[.added] ?? 0) added, \(counts[.removed] ?? 0) removed, \(counts[.modified] ?? 0) changed")
            for change in changes {
                let sign = change.kind == .added ? "+" : change.kind == .removed ? "-" : "~"
                printOut("\(sign) \(change.type)  \(change.account)/\(change.region)  \(change.name)  \(change.uid)")
                for difference in change.differences {
                    printOut("    \(difference.path): \(difference.before?.compactText ?? "(absent)") → \(difference.after?.compactText ?? "(absent)")")
                }
            }
        }
    }
}
