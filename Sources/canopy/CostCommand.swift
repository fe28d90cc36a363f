import ArgumentParser
import CanopyRemediation
import CanopyAWS
import CanopyFinOps
import CanopyIngest
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// `--metric billed|effective`; ArgumentParser names the choices when another is given.
extension CostMetric: ExpressibleByArgument {}

/// `canopy cost`: the FOCUS ledger.
struct CostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cost", abstract: "Cost: import FOCUS, AWS CUR, Azure EA and OCI exports into one FOCUS ledger, and read it.",
        subcommands: [Import.self, Show.self, Export.self, Allocation.self, Forecast.self, Anomalies.self, Budgets.self, Chargeback.self, KPIs.self, Recommendations.self, Imports.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import cost files (.csv or .csv.gz): each replaces the billing periods it covers, all or nothing; the same file twice changes nothing.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var actor: ActorOption
        @Argument(help: "Files to import, or s3://bucket/prefix (every .csv and .csv.gz object under it).") var paths: [String]
        @OptionGroup(title: "For s3:// sources") var aws: AWSOptions

        func run() async throws {
            let store = try database.open()
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-cost-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: work) }
            let local = try await S3Sources.localFiles(
                paths, suffixes: [".csv", ".csv.gz"], work: work, aws: aws)
            // A file imported before under the same name is hashed first, so an unchanged one is
            // known without reading its rows; any other is hashed while its rows are read (on a
            // thread of its own, not in a pass before), and found unchanged, if it is, at the end.
            let knownNames = Set(try await store.costImports().map(\.file))
            for (path, name) in local {
                let digest: String?
                let file: CostFile
                do {
                    digest = knownNames.contains(name) ? try FileDigest.sha256(path: path) : nil
                    file = try CostFile.open(path, hashing: digest == nil)
                } catch let error as IngestError {
                    throw ImportFailed(error: error, shownAs: (path, name))
                }
                let format = file.format
                do {
                    if let imported = try await store.importCosts(file: name, sha256: digest, format: format, rows: file, actor: actor.resolved) {
                        printOut(
                            "\(name): \(format.rawValue), \(imported.rows) rows, billed \(imported.billedTotal.cents) over \(imported.periods.joined(separator: ", "))")
                        for status in try await CostCommand.checkBudgets(store: store, database: database, month: nil) where !status.crossed.isEmpty {
                            printOut("  budget \(status.budget.id): \(status.crossed.joined(separator: ", "))")
                        }
                    } else {
                        printOut("\(name): unchanged (this file is what the ledger holds for its periods)")
                    }
                } catch let error as IngestError {
                    throw ImportFailed(error: error, shownAs: (path, name))
                }
            }
        }
    }

    /// A file that could not be imported: the reason, and the promise that nothing changed.
    struct ImportFailed: Error, CustomStringConvertible {
        var error: IngestError
        /// The downloaded copy's path, and the name the user gave (an s3:// address).
        var shownAs: (path: String, name: String)
        var description: String { "\(error)".replacingOccurrences(of: shownAs.path, with: shownAs.name) + " — nothing was imported" }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Cost by one dimension over a month or a span of days.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "service, account, region, provider, month, day, charge, bu, app, category[:NAME] or tag:KEY.") var by: String = "service"
        @Option(help: "A month, YYYY-MM.") var month: String?
        @Option(help: "First day, YYYY-MM-DD (inclusive).") var from: String?
        @Option(help: "Last day, YYYY-MM-DD (exclusive).") var to: String?
        @Option(help: "billed or effective (amortised).") var metric: CostMetric = .billed
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            guard let dimension = CostDimension(text: by) else { throw ValidationError("--by is one of \(CostDimension.forms.joined(separator: ", "))") }
            var query = CostQuery(from: from, to: to)
            if let month {
                guard let start = CostCalendar.monthSpan(month) else { throw ValidationError("--month is YYYY-MM") }
                query.from = start.0
                query.to = start.1
            }
            let breakdown = try await CostBreakdown.build(by: dimension, metric: metric, query: query, store: database.open())
            let table = Table(
                columns: [by, "\(metric.rawValue) cost", "currency"],
                rows: breakdown.lines.map { [$0.key, $0.cost.cents, $0.currency] } + breakdown.totals.sorted { $0.key < $1.key }.map { ["total", $0.value.cents, $0.key] })
            printOut(try table.render(format) { try JSONOutput.encode(breakdown) })
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the ledger as a FOCUS 1.0 CSV, with the source's x_ columns and Canopy's allocation as x_ columns.")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .shortAndLong, help: "The CSV file to write.") var output: String
        @Option(help: "Billing periods to export, YYYY-MM (repeatable; default: all).") var month: [String] = []

        func run() async throws {
            for m in month where CostCalendar.monthSpan(m) == nil { throw ValidationError("--month \(m): write YYYY-MM") }
            let exporter = try await FocusExport(store: database.open())
            let summary = try await exporter.write(months: month.isEmpty ? nil : month, to: URL(fileURLWithPath: output))
            let totals = summary.billedTotal.sorted { $0.key < $1.key }.map { "\($0.value.cents) \($0.key)" }.joined(separator: ", ")
            printOut("\(output): FOCUS \(FocusExport.version), \(summary.rows) rows, \(summary.columns.count) columns, billed \(totals.isEmpty ? "0" : totals)")
        }
    }

    struct Allocation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allocation", abstract: "Cost allocation rules: tag aliases, unit-naming tags, cost categories and shared-cost splits (YAML, versioned).",
            subcommands: [Preview.self, Apply.self, Show.self, History.self])

        /// The candidate read and checked against the units in force.
        static func load(_ file: String, store: any CanopyStore) async throws -> (AllocationRules, String) {
            guard let source = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("\(file): cannot be read") }
            let rules = try AllocationFile.parse(source, file: file)
            if let problem = try await rules.problems(store: store).first { throw ValidationError("\(file): \(problem)") }
            return (rules, source)
        }

        struct Preview: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "preview", abstract: "Show what a rule set would change for a month, per business unit, before applying it.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The allocation rules (YAML).") var file: String
            @Option(help: "The month, YYYY-MM (default: the ledger's latest).") var month: String?
            @Option(help: "billed or effective.") var metric: CostMetric = .billed
            @Option(help: "table or json.") var format: OutputFormat = .table

            func run() async throws {
                let store = try database.open()
                let (rules, _) = try await Allocation.load(file, store: store)
                let preview = try await AllocationPreview.build(candidate: rules, month: month, metric: metric, store: store)
                let current = preview.currentVersion.map { "v\($0)" } ?? "ownership only"
                let units = Table(
                    columns: ["business unit", "current (\(current))", "candidate", "change"],
                    rows: preview.units.map { [$0.unit, $0.current.cents, $0.candidate.cents, ($0.change > 0 ? "+" : "") + $0.change.cents] })
                let categories = Table(columns: ["category", "value", "\(metric.rawValue) cost"], rows: preview.categories.map { [$0.category, $0.value, $0.cost.cents] })
                printOut(try units.render(format) { try JSONOutput.encode(preview) })
                if format == .table, !preview.categories.isEmpty { printOut("\n" + (try categories.render(.table) { Data() })) }
            }
        }

        struct Apply: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "apply", abstract: "Apply a rule set as a new version (audited); the same rules again change nothing.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var actor: ActorOption
            @Argument(help: "The allocation rules (YAML).") var file: String

            func run() async throws {
                let store = try database.open()
                let (rules, source) = try await Allocation.load(file, store: store)
                if let version = try await store.applyAllocation(rules, source: source, actor: actor.resolved) {
                    printOut("allocation rules v\(version.version) in force: \(rules.categories.count) categories, \(rules.sharedCosts.count) shared costs, \(rules.tagAliases.count) tag aliases")
                } else {
                    printOut("unchanged: these rules are already in force")
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the rules in force (or an earlier version) as applied.")
            @OptionGroup var database: DatabaseOptions
            @Option(help: "A version number (default: the one in force).") var version: Int?

            func run() async throws {
                let versions = try await database.open().allocationVersions()
                guard let chosen = version.map({ v in versions.first { $0.version == v } }) ?? versions.first else {
                    throw ValidationError(version.map { "no allocation version \($0)" } ?? "no allocation rules applied yet (canopy cost allocation apply FILE)")
                }
                printOut(chosen.source)
            }
        }

        struct History: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "history", abstract: "Every applied version: when, by whom, its content hash.")
            @OptionGroup var database: DatabaseOptions
            @Option(help: "table or json.") var format: OutputFormat = .table

            func run() async throws {
                let versions = try await database.open().allocationVersions()
                let table = Table(
                    columns: ["version", "applied", "by", "categories", "shared costs", "sha256"],
                    rows: versions.map {
                        ["v\($0.version)", Timestamps.iso8601($0.appliedAt), $0.actor, "\($0.rules.categories.count)", "\($0.rules.sharedCosts.count)", String($0.sha256.prefix(12))]
                    })
                printOut(try table.render(format) { try JSONOutput.encode(versions.map { ["version": "\($0.version)", "sha256": $0.sha256, "actor": $0.actor] }) })
            }
        }
    }

    struct Forecast: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forecast", abstract: "Forecast the rest of this month and the next three, with the method and its backtest on the ledger.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Currency (a ledger may hold several).") var currency = "USD"
        @Option(help: "billed or effective.") var metric: CostMetric = .billed
        @Option(help: "table or json.") var format: OutputFormat = .table

        func run() async throws {
            let (forecast, backtest) = try await CostAnalysis.forecast(store: database.open(), currency: currency, metric: metric)
            if format == .json {
                struct Output: Encodable {
                    var forecast: CostForecast
                    var backtest: [[String: String]]
                }
                let rows = backtest.map { ["month": $0.month, "forecast": String(format: "%.2f", $0.forecast), "actual": String(format: "%.2f", $0.actual), "variance": String(format: "%.4f", $0.variance)] }
                printOut(String(decoding: try JSONOutput.encode(Output(forecast: forecast, backtest: rows)), as: UTF8.self))
                return
            }
            printOut("method: \(forecast.method)")
            printOut(String(format: "daily run rate %.2f %@, monthly trend %+.1f%%", forecast.dailyRunRate, currency, forecast.monthlyTrend * 100))
            printOut(try Table(
                columns: ["month", "incurred", "forecast remaining", "forecast total"],
                rows: forecast.months.map { [$0.month, String(format: "%.2f", $0.actual), String(format: "%.2f", $0.remaining), String(format: "%.2f", $0.total)] }
            ).render(.table) { Data() })
            guard !backtest.isEmpty else { return }
            let mean = backtest.map { abs($0.variance) }.reduce(0, +) / Double(backtest.count)
            printOut(String(format: "\nbacktest (each month forecast from the months before it): mean absolute variance %.1f%%", mean * 100))
            printOut(try Table(
                columns: ["month", "forecast", "actual", "variance"],
                rows: backtest.map { [$0.month, String(format: "%.2f", $0.forecast), String(format: "%.2f", $0.actual), String(format: "%+.1f%%", $0.variance * 100)] }
            ).render(.table) { Data() })
        }
    }

    struct Anomalies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "anomalies", abstract: "Days whose cost for a service in an account broke from its weekly pattern, with what explains them.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only from this day, YYYY-MM-DD.") var since: String?
        @Option(help: "Currency.") var currency = "USD"
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let anomalies = try await CostAnalysis.anomalies(store: database.open(), since: since, currency: currency)
            let table = Table(
                columns: ["day", "service", "account", "expected", "actual", "impact", "explained by"],
                rows: anomalies.map { a in
                    let impact = a.explainedImpact.map { String(format: " (%+.2f)", $0) } ?? ""
                    return [
                        a.day, a.dimensions["service"] ?? "", a.dimensions["account"] ?? "", String(format: "%.2f", a.expected), String(format: "%.2f", a.actual),
                        String(format: "%+.2f", a.impact), a.explainedBy.first.map { "\($0.key) \($0.value)" + impact } ?? "",
                    ]
                })
            printOut(try table.render(format) { try JSONOutput.encode(anomalies) })
        }
    }

    struct Budgets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "budgets",
            abstract: "Budgets: check them (crossings raise findings and call webhooks), set or delete one.",
            subcommands: [Check.self, Set.self, Delete.self], defaultSubcommand: Check.self)

        struct Check: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "check", abstract: "Month-to-date and forecast against every budget.")
            @OptionGroup var database: DatabaseOptions
            @Option(help: "The month, YYYY-MM (default: the ledger's latest).") var month: String?
            @Option(help: "table or json.") var format: OutputFormat = .table

            func run() async throws {
                let store = try database.open()
                let statuses = try await CostCommand.checkBudgets(store: store, database: database, month: month)
                let table = Table(
                    columns: ["budget", "scope", "month", "amount", "actual", "forecast", "crossed"],
                    rows: statuses.map {
                        [
                            $0.budget.id, "\($0.budget.scope.rawValue) \($0.budget.target)", $0.month, "\($0.budget.amount.cents) \($0.budget.currency)",
                            "\($0.actual.cents) (\(String(format: "%.0f%%", $0.actualShare * 100)))", "\($0.forecast.cents) (\(String(format: "%.0f%%", $0.forecastShare * 100)))",
                            $0.crossed.joined(separator: ", "),
                        ]
                    })
                printOut(try table.render(format) { try JSONOutput.encode(statuses) })
            }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "set", abstract: "Create or change a monthly budget.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var actor: ActorOption
            @Argument(help: "Budget id.") var id: String
            @Option(help: "A name for people.") var name: String?
            @Option(help: "A business unit id.") var unit: String?
            @Option(help: "An application id.") var application: String?
            @Option(help: "An account id.") var account: String?
            @Option(help: "Monthly amount.") var amount: String
            @Option(help: "Currency.") var currency = "USD"
            @Option(help: "Thresholds in percent, comma-separated.") var thresholds = "50,80,100"

            func run() async throws {
                let targets = [(Budget.Scope.businessUnit, unit), (.application, application), (.account, account)].compactMap { scope, value in value.map { (scope, $0) } }
                guard targets.count == 1, let (scope, target) = targets.first else { throw ValidationError("give exactly one of --unit, --application, --account") }
                guard let value = Decimal(string: amount, locale: Locale(identifier: "en_US_POSIX")), value > 0 else { throw ValidationError("--amount must be a positive number") }
                let levels = thresholds.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !levels.isEmpty, levels.allSatisfy({ (1...1_000).contains($0) }) else { throw ValidationError("--thresholds are percentages such as 50,80,100") }
                guard Ownership.isValidID(id) else { throw ValidationError("the id is 1-64 letters, digits, '-' or '_'") }
                let budget = Budget(id: id, name: name ?? id, scope: scope, target: target, amount: value, currency: currency, thresholds: levels.sorted())
                try await database.open().save(budget, actor: actor.resolved)
                printOut("budget \(id): \(value.cents) \(currency) a month for \(scope.rawValue) \(target), thresholds \(levels.map { "\($0)%" }.joined(separator: ", "))")
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a budget.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var actor: ActorOption
            @Argument(help: "Budget id.") var id: String

            func run() async throws {
                try await database.open().deleteBudget(id: id, actor: actor.resolved)
                printOut("budget \(id) deleted")
            }
        }
    }

    /// Checks the budgets, telling the configured webhooks of new crossings.
    static func checkBudgets(store: SQLiteStore, database: DatabaseOptions, month: String?) async throws -> [BudgetStatus] {
        guard try await !store.webhooks().isEmpty else { return try await CanopyFinOps.Budgets.check(store: store, month: month) }
        let box = try database.secretBox()
        return try await AsyncHTTPClientTransport.with { transport in
            let dispatcher = WebhookDispatcher(store: store, box: box, transport: transport)
            return try await CanopyFinOps.Budgets.check(store: store, month: month) { await dispatcher.findingsOpened($0) }
        }
    }

    struct Chargeback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "chargeback", abstract: "A business unit's monthly statement by application and service (CSV or printable HTML).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The month, YYYY-MM.") var month: String
        @Option(help: "The business unit id (see `canopy org list`); every unit when omitted (table only).") var unit: String?
        @Option(help: "table, csv or html.") var format: String = "table"
        @Option(help: "en or zh-TW (html).") var lang: String = "en"
        @Option(name: .shortAndLong, help: "Write to this file.") var output: String?

        func run() async throws {
            guard CostCalendar.monthSpan(month) != nil else { throw ValidationError("--month is YYYY-MM") }
            guard ["table", "csv", "html"].contains(format) else { throw ValidationError("--format is table, csv or html") }
            let store = try database.open()
            let ownership = try await store.ownership()
            let accounts = try await store.accounts()
            let units = ownership.effectiveBusinessUnits(accounts: accounts).filter { unit == nil || $0.id == unit }
            guard !units.isEmpty else { throw ValidationError("no business unit '\(unit ?? "")' (see `canopy org list`)") }
            if format != "table", units.count != 1 { throw ValidationError("--format \(format) needs --unit") }
            var text = ""
            for u in units {
                let statement = try await ChargebackStatement.build(unit: u, month: month, store: store)
                switch format {
                case "csv": text = statement.csv
                case "html": text = statement.html(chinese: lang == "zh-TW", unitNameZh: u.nameZh)
                default:
                    text += "\(u.name) (\(u.id)) \(month): billed \(statement.billedTotal.cents), effective \(statement.effectiveTotal.cents) \(statement.currency)\n"
                    var byApp: [String: Decimal] = [:]
                    for line in statement.lines { byApp[line.application, default: 0] += line.billed }
                    for (app, cost) in byApp.sorted(by: { $0.value > $1.value }) { text += "  \(app.padding(toLength: 28, withPad: " ", startingAt: 0)) \(cost.cents)\n" }
                }
            }
            if let output { try text.write(toFile: output, atomically: true, encoding: .utf8) } else { printOut(text) }
        }
    }

    struct KPIs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "kpis", abstract: "FinOps KPIs for a month: allocatable spend, tag coverage, commitment coverage, forecast accuracy, unit cost.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The month, YYYY-MM.") var month: String
        @Option(help: "A business metric for unit cost, NAME=QUANTITY (e.g. 'MWh delivered=1250000').") var unitMetric: String?
        @Option(help: "table or json.") var format: OutputFormat = .table

        func run() async throws {
            guard CostCalendar.monthSpan(month) != nil else { throw ValidationError("--month is YYYY-MM") }
            var unit: (name: String, quantity: Decimal)?
            if let unitMetric {
                let parts = unitMetric.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let quantity = Decimal(string: parts[1], locale: Locale(identifier: "en_US_POSIX")), quantity > 0 else {
                    throw ValidationError("--unit-metric is NAME=QUANTITY with a positive quantity")
                }
                unit = (parts[0], quantity)
            }
            let kpis = try await CostKPIs.build(month: month, unit: unit, store: database.open())
            func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "no data" }
            let rows: [[String]] = [
                ["total spend", "\(kpis.total.cents) \(kpis.currency)"], ["allocatable spend", percent(kpis.allocatable)],
                ["unallocated spend", percent(kpis.unallocated)], ["application tag coverage (usage spend)", percent(kpis.tagCoverage)],
                ["commitment coverage", percent(kpis.commitmentCoverage)], ["forecast variance (mean absolute, backtest)", percent(kpis.forecastVariance)],
            ] + (kpis.unitCost.map { [["cost per \(kpis.unitName ?? "unit")", "\(NSDecimalNumber(decimal: $0).doubleValue.formatted(.number.precision(.significantDigits(4)))) \(kpis.currency)"]] } ?? [])
            printOut(try Table(columns: ["kpi", "value"], rows: rows).render(format == .json ? .json : .table) { try JSONOutput.encode(kpis) })
        }
    }

    struct Recommendations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recommendations",
            abstract: "Savings from the inventory and CloudWatch series, priced from the documented price table; --policy-out writes the safe ones as a Custodian policy for `canopy run`.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Underused below this 14-day average CPU, in percent.") var underused: Double = 10
        @Option(help: "Write the safe recommendations (gp2 → gp3) as a Custodian policy file.") var policyOut: String?
        @Option(help: "table, json or csv.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            // Judged as of the last scan, so the metric window is the one it collected.
            let now = try await Recommender.judgementTime(store: store)
            let recommendations = try await Recommender(underusedAverage: underused).recommend(store: store, now: now)
            let total = recommendations.reduce(Decimal(0)) { $0 + $1.monthlySaving }
            let table = Table(
                columns: ["kind", "resource", "account", "application", "saving/month (USD)", "detail"],
                rows: recommendations.map { [$0.kind.rawValue, $0.resourceName, $0.account, $0.application ?? "", $0.monthlySaving.cents, $0.detail] }
                    + [["total", "", "", "", total.cents, "prices: \(PriceTable.source)"]])
            printOut(try table.render(format) { try JSONOutput.encode(recommendations) })
            if let policyOut {
                try Recommender.policy(for: recommendations).write(toFile: policyOut, atomically: true, encoding: .utf8)
                printOut("wrote \(policyOut): `canopy run --policy \(policyOut)` shows what it would change; add --apply to change it (audited)")
            }
        }
    }

    struct Imports: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "imports", abstract: "The imports the ledger holds.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let imports = try await database.open().costImports()
            let table = Table(
                columns: ["id", "file", "format", "rows", "billed", "periods", "imported", "by"],
                rows: imports.map {
                    [String($0.id), $0.file, $0.format.rawValue, String($0.rows), $0.billedTotal.cents, $0.periods.joined(separator: "; "), Timestamps.iso8601($0.importedAt), $0.actor]
                })
            printOut(try table.render(.table) { Data() })
        }
    }
}
