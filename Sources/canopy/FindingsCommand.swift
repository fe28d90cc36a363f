import ArgumentParser
import CanopyAWS
import CanopyCompliance
import CanopyLake
import CanopyModel
import CanopyPolicy
import CanopySecurity
import CanopyStore
import Foundation

/// `canopy findings`: the findings hub — guardrail findings, detections and every imported
/// source in one list, enriched, correlated, triaged.
struct FindingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "findings",
        abstract: "The findings hub: guardrails, detections, and findings imported from Security Hub (ASFF), OCSF tools (Prowler) and Trivy, in one list.",
        subcommands: [List.self, Show.self, Import.self, Pull.self, Push.self, Triage.self, Suppress.self, Suppressions.self, Unsuppress.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Findings, most urgent first (open and suppressed by default), with owner, application and why they were raised.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this source, e.g. GuardDuty, Inspector, Prowler, Trivy, 'Canopy Sigma', 'Canopy guardrails' (repeatable).") var source: [String] = []
        @Option(name: .customLong("class"), help: "detection, vulnerability or compliance.") var findingClass: String?
        @Option(help: "Minimum severity: informational, low, medium, high, critical.") var severity: String?
        @Option(help: "Status: new, in_progress, suppressed, resolved, or all (repeatable; default: new, in_progress, suppressed).") var status: [String] = []
        @Option(help: "Only this account (repeatable).") var account: [String] = []
        @Option(name: .customLong("bu"), help: "Only this business unit.") var businessUnit: String?
        @Option(name: [.customLong("app"), .customLong("application")], help: "Only this application.") var application: String?
        @Option(name: [.customLong("rule"), .customLong("check")], help: "Only this rule, check, finding type or CVE.") var rule: String?
        @Option(help: "Only findings on this resource (ARN).") var resource: String?
        @Flag(help: "Only findings past their response target.") var overdue = false
        @Flag(help: "Leave out the guardrails' compliance findings.") var noGuardrails = false
        @Option(help: "table, json, csv, or ocsf (OCSF 1.3 findings JSON).") var format: String = "table"
        @Option(help: "At most this many.") var limit: Int?

        func run() async throws {
            let store = try database.open()
            var filter: SecurityFindingFilter
            do {
                filter = try FindingsHub.filter(
                    accounts: account.isEmpty ? nil : account, source: nil, findingClass: findingClass, severity: severity, status: nil)
            } catch let problem as FindingsHub.ParameterProblem {
                throw ValidationError(problem.message)
            }
            filter.sources = source
            filter.ruleID = rule
            filter.resourceUID = resource
            filter.statuses = try FindingsCommand.statuses(status)
            guard ["table", "json", "csv", "ocsf"].contains(format) else { throw ValidationError("--format is table, json, csv or ocsf") }
            var views = try await FindingsHub.list(
                store: store,
                FindingsHub.Selection(
                    filter: filter, includeGuardrails: !noGuardrails, overdueOnly: overdue, businessUnit: businessUnit, application: application))
            if let limit { views = Array(views.prefix(limit)) }
            if format == "ocsf" {
                printOut(try await OCSFExport.findings(views, store: store, withEvents: true).canonicalJSON())
                return
            }
            let table = Table(
                columns: ["uid", "priority", "severity", "status", "source", "rule", "title", "account", "unit", "app", "resource", "due", "why"],
                rows: views.map { view in
                    let f = view.finding
                    return [
                        f.uid, SecurityFinding.severityName(view.priority).lowercased(), SecurityFinding.severityName(f.severityID).lowercased(),
                        view.status.rawValue, f.source, f.ruleID, f.title, view.context.accountName.map { "\($0) (\(f.account))" } ?? f.account,
                        view.context.businessUnit ?? "", view.context.application ?? "", f.resourceUID ?? f.principal ?? "",
                        view.dueAt.map { (view.overdue ? "OVERDUE " : "") + Timestamps.iso8601($0) } ?? "", view.reasons.joined(separator: "; "),
                    ]
                })
            printOut(try table.render(OutputFormat(rawValue: format)!) { try JSONOutput.encode(views) })
        }
    }

    static func statuses(_ given: [String]) throws -> [FindingStatus] {
        if given.contains("all") { return [] }
        if given.isEmpty { return [.new, .inProgress, .suppressed] }
        return try given.map {
            guard let status = FindingStatus(rawValue: $0) else { throw ValidationError("unknown status '\($0)' (new, in_progress, suppressed, resolved, all)") }
            return status
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One finding in full: context, correlation, and a detection's events.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The finding uid.") var uid: String
        @Option(help: "table or json.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            guard let view = try await FindingsHub.view(uid: uid, store: store) else { throw ValidationError("no finding with uid \(uid) (see `canopy findings`)") }
            let events = try await store.securityFindingEvents(uid: uid)
            if format == .json {
                printOut(OCSFExport.finding(view, events: events).canonicalJSON())
                return
            }
            let f = view.finding
            var lines = [
                "\(f.title)", "uid:        \(f.uid)", "source:     \(f.source) (\(f.findingClass.name)), rule \(f.ruleID)",
                "severity:   \(SecurityFinding.severityName(f.severityID)); priority \(SecurityFinding.severityName(view.priority))",
                "status:     \(view.status.rawValue)" + (view.suppression.map { " by rule #\($0.id) until \(Timestamps.iso8601($0.expiresAt)): \($0.reason)" } ?? ""),
                "account:    \(view.context.accountName.map { "\($0) (\(f.account))" } ?? f.account), region \(f.region)",
                "owner:      unit \(view.context.businessUnit ?? "-"), application \(view.context.application ?? "-") \(view.context.criticality ?? ""), environment \(view.context.environment ?? "-"), contacts \(view.context.owners.joined(separator: ", "))",
                "resource:   \(f.resourceUID ?? "-")" + (f.resourceUID != nil && !view.context.inInventory ? " (not in the inventory)" : ""),
                "seen:       \(Timestamps.iso8601(f.firstSeen)) … \(Timestamps.iso8601(f.lastSeen))" + (view.dueAt.map { "; due \(Timestamps.iso8601($0))" + (view.overdue ? " OVERDUE" : "") } ?? ""),
            ]
            if let principal = f.principal { lines.append("principal:  \(principal)") }
            if !f.techniques.isEmpty { lines.append("techniques: \(f.techniques.joined(separator: ", "))") }
            if let assignee = f.assignee { lines.append("assignee:   \(assignee)") }
            if let note = f.note { lines.append("note:       \(note)") }
            for reason in view.reasons { lines.append("raised:     \(reason)") }
            if !f.description.isEmpty { lines += ["", f.description] }
            if !events.isEmpty {
                lines += ["", "\(events.count) events:"]
                for id in events.prefix(50) {
                    guard let event = try await store.lakeEvents(LakeFilter(clauses: [.init(field: .eventID, op: .equal, value: id)]), limit: 1).first else {
                        lines.append("  \(id) (not in the lake)")
                        continue
                    }
                    lines.append("  \(Timestamps.iso8601(event.eventTime))  \(event.eventSource) \(event.eventName)  \(event.userARN ?? event.userType ?? "")  \(event.sourceIP ?? "")  \(event.eventID)")
                }
            }
            printOut(lines.joined(separator: "\n"))
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import findings: ASFF (Security Hub export), OCSF 1.x JSON or NDJSON (Prowler json-ocsf), Trivy JSON; each file in one transaction, re-imports updating in place.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "Files, or s3://bucket/prefix (every .json, .ndjson and .json.gz object under it).") var paths: [String]
        @Flag(help: "Count and report findings missing required fields, and import the rest (default: reject the file).") var skipBadRecords = false
        @OptionGroup(title: "For s3:// sources") var aws: AWSOptions

        func run() async throws {
            let store = try database.open()
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-findings-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: work) }
            let files = try await S3Sources.localFiles(
                paths, suffixes: [".json", ".ndjson", ".json.gz", ".ndjson.gz"], work: work, aws: aws)
            for (path, name) in files {
                let done = try await FindingImport.importFile(path: path, name: name, store: store, skipBad: skipBadRecords, actor: actor.resolved)
                printOut(
                    "\(name) (\(done.format.rawValue)): \(done.saved.added) added, \(done.saved.updated) updated, \(done.saved.unchanged) unchanged"
                        + (done.resolved > 0 ? ", \(done.resolved) no longer reported and resolved" : "")
                        + (done.skipped.isEmpty ? "" : ", \(done.skipped.count) bad findings skipped"))
                for problem in done.skipped.prefix(20) { printErr("  skipped: \(problem)") }
            }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pull", abstract: "Import every Security Hub finding (GetFindings, all pages; Canopy's own pushed ones left out), in one transaction.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @OptionGroup(title: "Security Hub") var hub: AWSOptions
        @Flag(help: "Count and report findings missing required fields, and import the rest.") var skipBadRecords = false

        func run() async throws {
            let store = try database.open()
            let who = actor.resolved
            let skip = skipBadRecords
            let pulled = try await hub.with { client, region in
                try await SecurityHub.pull(client: client, region: region, store: store, skipBad: skip, actor: who)
            }
            printOut(
                "\(pulled.read) findings read (\(pulled.ownSkipped) of them Canopy's own): \(pulled.saved.added) added, \(pulled.saved.updated) updated, \(pulled.saved.unchanged) unchanged"
                    + (pulled.skipped.isEmpty ? "" : ", \(pulled.skipped.count) bad findings skipped"))
            for problem in pulled.skipped.prefix(20) { printErr("  skipped: \(problem)") }
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Send Canopy's own findings (detections and guardrail findings, with their business context) to Security Hub with BatchImportFindings, as the calling account's custom product.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup(title: "Security Hub") var hub: AWSOptions
        @Option(help: "Status: new, in_progress, suppressed, resolved, or all (repeatable; default: new, in_progress, suppressed).") var status: [String] = []
        @Flag(help: "Print the ASFF that would be sent instead of sending it.") var dryRun = false
        @OptionGroup var actor: ActorOption

        func run() async throws {
            let store = try database.open()
            let who = actor.resolved
            let views = try await FindingsHub.list(store: store, FindingsHub.Selection(filter: SecurityFindingFilter(statuses: try FindingsCommand.statuses(status))))
            let dry = dryRun
            let result = try await hub.with { client, region -> String in
                let account = try await client.query("sts", "GetCallerIdentity", region: region)["Account"]?.stringValue ?? ""
                if dry {
                    let own = views.filter { $0.finding.source == Detector.source || $0.finding.source == FindingsHub.guardrailSource }
                    return JSONValue.object(["Findings": .array(own.map { SecurityHub.asff($0, importingAccount: account, region: region) })]).canonicalJSON()
                }
                let pushed = try await SecurityHub.push(views: views, client: client, region: region, importingAccount: account)
                _ = try await store.appendAudit(
                    actor: who, action: "findings.push", target: "securityhub://\(region)",
                    details: ["account": .string(account), "sent": .int(Int64(pushed.sent)), "failed": .int(Int64(pushed.failed.count))], at: Date())
                return "\(pushed.sent) findings sent to Security Hub in \(region) as account \(account)" + pushed.failed.prefix(20).map { "\n  failed: \($0)" }.joined()
            }
            printOut(result)
        }
    }

    struct Triage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "triage", abstract: "Set a finding's status, assignee or note (audited).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "The finding uid.") var uid: String
        @Option(help: "new, in_progress or resolved.") var status: String?
        @Option(help: "Who works on it.") var assignee: String?
        @Option(help: "A comment.") var note: String?

        func run() async throws {
            var newStatus: FindingStatus?
            if let status {
                guard let s = FindingStatus(rawValue: status), s != .suppressed else {
                    throw ValidationError("--status is new, in_progress or resolved (suppression goes through `canopy findings suppress` or `canopy exceptions`)")
                }
                newStatus = s
            }
            let store = try database.open()
            let finding = try await FindingsHub.triage(uid: uid, status: newStatus, assignee: assignee, note: note, actor: actor.resolved, store: store)
            printOut("\(finding.uid): \(finding.status.rawValue)" + (finding.assignee.map { ", assigned to \($0)" } ?? ""))
        }
    }

    struct Suppress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "suppress", abstract: "Suppress matching findings for a reason until a date (audited); they stay listed as suppressed.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Option(help: "Only findings of this source.") var source: String?
        @Option(help: "Only findings of this rule, check, type or CVE.") var rule: String?
        @Option(help: "Only findings on this resource (a trailing * matches by prefix).") var resource: String?
        @Option(help: "Only findings in this account.") var account: String?
        @Option(help: "Why (required): the risk accepted, the compensating control.") var reason: String
        @Option(help: "Until when (YYYY-MM-DD or ISO 8601), at most a year ahead.") var until: String

        func run() async throws {
            let now = Date()
            guard let expires = Timestamps.parse(until) ?? CostCalendar.date(until) else { throw ValidationError("--until '\(until)' is not a date") }
            let suppression = FindingSuppression(
                source: source, ruleID: rule, resourceUID: resource, account: account, reason: reason.trimmingCharacters(in: .whitespaces), expiresAt: expires,
                createdBy: actor.resolved, createdAt: now)
            if let problem = FindingsHub.problem(with: suppression, now: now) { throw ValidationError(problem) }
            let saved = try await database.open().saveFindingSuppression(suppression, actor: actor.resolved)
            printOut("suppression #\(saved.id) until \(Timestamps.iso8601(saved.expiresAt))")
        }
    }

    struct Suppressions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "suppressions", abstract: "The suppression rules, with their reasons and expiry.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let rules = try await database.open().findingSuppressions()
            let now = Date()
            let table = Table(
                columns: ["id", "source", "rule", "resource", "account", "reason", "expires", "by", "active"],
                rows: rules.map {
                    [
                        String($0.id), $0.source ?? "*", $0.ruleID ?? "*", $0.resourceUID ?? "*", $0.account ?? "*", $0.reason, Timestamps.iso8601($0.expiresAt),
                        $0.createdBy, $0.isActive(at: now) ? "yes" : "expired",
                    ]
                })
            printOut(try table.render(format) { try JSONOutput.encode(rules) })
        }
    }

    struct Unsuppress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unsuppress", abstract: "Remove a suppression rule (audited).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "The rule's id.") var id: Int64

        func run() async throws {
            guard try await database.open().deleteFindingSuppression(id: id, actor: actor.resolved) else { throw ValidationError("no suppression rule #\(id)") }
            printOut("removed suppression #\(id)")
        }
    }
}
