import ArgumentParser
import CanopyCarbon
import CanopyCompliance
import CanopyDemo
import CanopyFinOps
import CanopyHost
import CanopyModel
import CanopyPolicy
import CanopyServer
import CanopyStore
import Foundation
import HummingbirdBcrypt

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Load the bundled demo estate (a four-account power utility) into canopy-demo.db and show it.",
        discussion: "Needs no network, no credentials and no Python.")

    @Option(help: "Where to write the demo database (replaced if it exists).") var database = "canopy-demo.db"
    @Option(help: "Instead: record the complete scans of this database as demo data (for maintainers).")
    var recordFrom: String?
    @Option(help: "With --record-from: the file to write.") var output = "Sources/CanopyDemo/Resources/demo-estate.json"
    @Flag(help: "Prepare the database and exit instead of serving the console (for scripts).") var noServe = false
    @OptionGroup var server: ServeOptions

    func run() async throws {
        if let recordFrom {
            let recording = try await DemoRecording.record(
                from: try SQLiteStore(path: recordFrom),
                description: "GridCo, a four-account power utility, seeded into moto by shared/tools/moto/seed_estate.py and scanned by Canopy")
            try recording.encoded().write(to: URL(fileURLWithPath: output))
            printOut("recorded \(recording.scans.count) scans of \(recording.accounts.count) accounts into \(output)")
            return
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        let store = try SQLiteStore(path: database)
        let recording = try DemoRecording.bundled()
        try await recording.load(into: store)

        let accounts = try await store.accounts()
        let scans = try await store.scans(limit: 10)
        let counts = try await store.countsByType()
        printOut("Canopy demo — \(recording.description)")
        printOut("database: \(database)\n")
        printOut("accounts (\(accounts.count)):")
        for account in accounts {
            printOut("  \(account.id)  \(account.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(account.organizationalUnit ?? "")")
        }
        printOut("\ninventory: \(counts.values.reduce(0, +)) resources")
        for (type, count) in counts.sorted(by: { $0.key < $1.key }) {
            printOut("  \(type.padding(toLength: 24, withPad: " ", startingAt: 0)) \(count)")
        }
        var example: String?
        if scans.count >= 2 {
            let newer = scans[0].id
            let older = scans[1].id
            let changes = try await store.diff(from: older, to: newer)
            example = changes.first { $0.kind == .modified }?.uid
            printOut("\nbetween scan \(older) and scan \(newer): \(changes.count) changes")
            for change in changes.prefix(12) {
                let sign = change.kind == .added ? "+" : change.kind == .removed ? "-" : "~"
                let detail = change.differences.prefix(2).map { "\($0.path): \($0.before?.compactText ?? "∅") → \($0.after?.compactText ?? "∅")" }.joined(separator: "; ")
                printOut("  \(sign) \(change.type) \(change.name)" + (detail.isEmpty ? "" : "  (\(detail.prefix(120)))"))
            }
        }
        let engine = try ComplianceEngine.load()
        try await DemoGovernance.prepare(store: store, engine: engine)
        let security = try await DemoSecurity.load(
            into: store, box: try SecretBox.load(keyFile: database + ".key"), end: try await store.scans(limit: 1).first?.finishedAt ?? Date())
        let hosts = try await DemoHosts.load(into: store, engine: engine, end: try await store.scans(limit: 1).first?.finishedAt ?? Date())
        printOut("\ncompliance (\(engine.checks.count) checks in \(engine.packs.count) packs; an evaluation per AWS scan and per host inventory):")
        printOut(try await ComplianceText.summary(engine: engine, store: store))
        let open = try await store.findings(FindingQuery(statuses: [.new, .inProgress]))
        let bySeverity = Dictionary(grouping: open, by: \.severityID).mapValues(\.count)
        let severityLine = Severity.allCases.reversed().map { "\(bySeverity[$0.ocsfID] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        printOut("open findings: \(open.count) (\(severityLine))")
        printOut(
            "\nsecurity: \(security.events) CloudTrail events in the activity lake, \(security.detections) detections by the built-in Sigma rules, "
                + "\(security.findings) findings imported (Security Hub ASFF, Prowler OCSF, Trivy)")

        printOut("\non-prem: \(hosts.hosts) Linux hosts at \(hosts.sites) sites (recorded inventories, stored as an agent's upload would be); patch compliance:")
        for unit in hosts.report.businessUnits {
            printOut("  \(unit.businessUnit): \(unit.hosts) hosts, \(unit.compliant) compliant, \(unit.nonCompliant) non-compliant, \(unit.unknown) unknown; \(unit.missingSecurity) approved security updates missing"
                + (unit.oldestMissingDays.map { ", oldest \($0) days" } ?? ""))
        }
        let hostFindings = open.filter { $0.resourceType == onpremHostType }
        printOut("  host guardrail findings: \(hostFindings.count) (" + Dictionary(grouping: hostFindings, by: \.checkID).map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", ") + ")")

        let end = scans.first?.finishedAt ?? Date()
        if let costs = try await DemoCosts.load(into: store, end: end) {
            printOut("\ncost: \(costs.rows) FOCUS rows over \(costs.periods.count) months, billed \(costs.billedTotal.cents) USD (generated from the inventory; prices: \(PriceTable.source))")
            let allocation = try DemoGovernance.allocation()
            if let version = try await store.applyAllocation(allocation.rules, source: allocation.source, actor: "ccoe-lead@gridco.example") {
                printOut("  allocation rules v\(version.version): \(allocation.rules.categories.map(\.name).joined(separator: ", ")) categories; shared: \(allocation.rules.sharedCosts.map(\.name).joined(separator: ", "))")
            }
            let month = CostCalendar.month(end)
            if let bounds = CostCalendar.monthSpan(month) {
                let byUnit = try await CostBreakdown.build(by: .businessUnit, metric: .billed, query: CostQuery(from: bounds.0, to: bounds.1), store: store)
                printOut("  \(month) month to date by business unit: " + byUnit.lines.map { "\($0.key) \($0.cost.cents)" }.joined(separator: ", "))
            }
            // Generation's budget is tight: October's runaway turbine-analytics broke it, and this
            // month's forecast goes over too.
            try await store.save(
                Budget(id: "generation-monthly", name: "Generation monthly", scope: .businessUnit, target: "generation", amount: 2_300), actor: "ccoe-lead@gridco.example")
            try await store.save(
                Budget(id: "outage-management", name: "Outage Management", scope: .application, target: "outage-management", amount: 1_400),
                actor: "ccoe-lead@gridco.example")
            for check in [CostCalendar.month(end), "2026-10"] {
                for status in try await Budgets.check(store: store, month: check) {
                    printOut("  budget \(status.budget.id) \(status.month): spent \(status.actual.cents) of \(status.budget.amount.cents), forecast \(status.forecast.cents)"
                        + (status.crossed.isEmpty ? "" : "; crossed \(status.crossed.joined(separator: ", "))"))
                }
            }
            let anomalies = try await CostAnalysis.anomalies(store: store)
            printOut("  anomalies: \(anomalies.count)" + (anomalies.first.map { a in " (latest \(a.day): \(a.dimensions["service"] ?? "") in \(a.dimensions["account"] ?? ""), expected \(String(format: "%.2f", a.expected)), actual \(String(format: "%.2f", a.actual)), explained by \(a.explainedBy.map { "\($0.key) \($0.value)" }.joined()))" } ?? ""))
            // Carbon of the last full month, by business unit, and what the savings would save.
            let periods = try await store.costPeriods()
            if let month = periods.dropLast().last ?? periods.last {
                let carbon = CarbonBreakdown.build(try await CarbonLedger.build(months: [month], store: store), by: .businessUnit)
                printOut(
                    "\ncarbon \(month): \(String(format: "%.1f", carbon.total.kWh)) kWh, scope 2 \(String(format: "%.1f", carbon.total.locationKg)) kgCO2e (location-based), scope 3 \(String(format: "%.1f", carbon.total.embodiedKg)) kgCO2e (embodied); "
                        + carbon.overall.map { "\($0.key) \(String(format: "%.1f", $0.totals.totalKg))" }.joined(separator: ", ") + " kgCO2e")
                let judged = try await Recommender.judgementTime(store: store)
                let savings = try await CarbonWhatIf.savings(try await Recommender().recommend(store: store, now: judged), store: store, now: judged)
                printOut(
                    "  what-if: the savings recommendations would save \(String(format: "%.1f", savings.reduce(0) { $0 + $1.savedKg })) kgCO2e a month; "
                        + "\(CarbonCommand.coverageLine(carbon.coverage))")
            }
        }

        printOut("""

            next:
              canopy compliance --database \(database) --framework nerc-cip
              canopy report audit --database \(database) --framework tw-ics-protection-baseline --level 中 --lang zh-TW -o tw-audit.html
              canopy findings --database \(database) --severity high
              canopy findings --database \(database) --no-guardrails
              canopy lake query --database \(database) "eventName=ConsoleLogin"
              canopy lake verify --database \(database)
              canopy patch compliance --database \(database) --by bu
              canopy hosts list --database \(database)
              canopy resources --database \(database) --type ec2 --tag Env=prod
              canopy scans --database \(database)
              canopy cost show --database \(database) --by month
              canopy cost show --database \(database) --by bu --month 2026-10
              canopy cost show --database \(database) --by "category:Cost pool"
              canopy cost allocation history --database \(database)
              canopy cost forecast --database \(database)
              canopy cost anomalies --database \(database)
              canopy cost budgets --database \(database)
              canopy cost chargeback --database \(database) --month 2026-10
              canopy cost show --database \(database) --by bu --month \(CostCalendar.month(scans.first?.finishedAt ?? Date()))
              canopy carbon show --database \(database) --by app --from 2026-09 --to 2026-10
              canopy carbon whatif --database \(database)
              canopy carbon whatif --database \(database) --app turbine-analytics --to-region eu-north-1
              canopy carbon report --database \(database) --period 2026-Q3 --lang zh-TW -o esg-2026-q3.html
              canopy diff --database \(database) \(scans.last?.id ?? 1) \(scans.first?.id ?? 2)
            """)
        if let example {
            printOut("  canopy resource --database \(database) \(example)")
        }
        guard !noServe else { return }
        // Demo logins: fresh passwords each run, for this demo database only.
        var logins: [(String, String, String)] = []
        for (name, role, units) in [("ccoe", Role.ccoe, [String]()), ("generation-owner", .buOwner, ["generation"]), ("auditor", .auditor, [])] {
            let password = String(Secrets.token().prefix(16))
            _ = try await store.createUser(name: name, passwordHash: Bcrypt.hash(password, cost: 10), role: role, businessUnits: units, actor: "canopy-demo")
            logins.append((name, password, role.rawValue))
        }
        printOut("\nconsole: http://\(server.host):\(server.port)/   demo logins (this run only):")
        for (name, password, role) in logins { printOut("  \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(password)   (\(role))") }
        server.bootstrapLogging()
        try await server.serve(store: store, engine: engine, box: try SecretBox.load(keyFile: database + ".key"))
    }
}

