import ArgumentParser
import CanopyCarbon
import CanopyFinOps
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

extension CarbonDimension: ExpressibleByArgument {}

/// `canopy carbon`: energy and emissions of the ledger's usage.
struct CarbonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carbon", abstract: "Carbon: energy and emissions per service, account, region, business unit and application; what-ifs; ESG reports.",
        subcommands: [Show.self, WhatIf.self, Report.self, Settings.self])

    /// Which emissions a view shows.
    enum Scope: String, ExpressibleByArgument, CaseIterable {
        case two = "2", three = "3", all
    }

    static func kg(_ value: Double) -> String { String(format: "%.3f", value) }
    static func kWh(_ value: Double) -> String { String(format: "%.2f", value) }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "kWh and kgCO2e per month × one dimension (scope 2 location- and market-based, scope 3 embodied).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "service, account, region, provider, month, bu or app.") var by: CarbonDimension = .service
        @Option(help: "A month, YYYY-MM (repeatable).") var month: [String] = []
        @Option(help: "First month, YYYY-MM (inclusive).") var from: String?
        @Option(help: "Last month, YYYY-MM (inclusive).") var to: String?
        @Option(help: "2 (operational), 3 (embodied) or all.") var scope: Scope = .all
        @Option(help: "table, json or csv.") var format: OutputFormat = .table
        @OptionGroup var unit: UnitMetricOptions

        func run() async throws {
            let store = try database.open()
            let months = try CarbonPeriod.months(month: month, from: from, to: to, ledger: try await store.costPeriods())
            let breakdown = CarbonBreakdown.build(try await CarbonLedger.build(months: months, store: store), by: by)
            var columns = ["month", by.rawValue, "kWh"]
            if scope != .three { columns += ["scope 2 location kgCO2e", "scope 2 market kgCO2e"] }
            if scope != .two { columns += ["scope 3 embodied kgCO2e"] }
            columns += ["cost", "gCO2e per currency unit"]
            func cells(_ totals: CarbonTotals) -> [String] {
                var row = [CarbonCommand.kWh(totals.kWh)]
                if scope != .three { row += [CarbonCommand.kg(totals.locationKg), CarbonCommand.kg(totals.marketKg)] }
                if scope != .two { row += [CarbonCommand.kg(totals.embodiedKg)] }
                return row + [String(format: "%.2f", totals.cost), totals.gramsPerCurrency.map { String(format: "%.1f", $0) } ?? ""]
            }
            var rows = breakdown.lines.map { [$0.month, $0.key] + cells($0.totals) }
            rows.append(["total", ""] + cells(breakdown.total))
            let table = Table(columns: columns, rows: rows)
            printOut(try table.render(format) { try JSONOutput.encode(breakdown) })
            if format == .table {
                printOut(CarbonCommand.coverageLine(breakdown.coverage))
                if let metric = try unit.metric() {
                    printOut(String(format: "intensity: %.3f kgCO2e per %@ (location-based scope 2 + scope 3 over %.0f %@)", breakdown.total.totalKg / metric.quantity, metric.name, metric.quantity, metric.name))
                }
            }
        }
    }

    /// A business metric to divide emissions by (the FinOps unit metric, for carbon).
    struct UnitMetricOptions: ParsableArguments {
        @Option(help: "A business metric to divide by, e.g. MWh (with --unit-quantity).") var unitName: String?
        @Option(help: "How many of --unit-name the period had.") var unitQuantity: Double?

        func metric() throws -> (name: String, quantity: Double)? {
            guard (unitName == nil) == (unitQuantity == nil), (unitQuantity ?? 1) > 0 else {
                throw ValidationError("--unit-name and --unit-quantity go together, with a quantity above zero")
            }
            return unitName.map { ($0, unitQuantity!) }
        }
    }

    static func coverageLine(_ coverage: CarbonCoverage) -> String {
        var parts: [String] = []
        if let share = coverage.usageShare { parts.append(String(format: "%.0f %% of usage spend estimated from usage data, the rest from cost", share * 100)) }
        if let share = coverage.measuredUtilisationShare { parts.append(String(format: "%.0f %% of vCPU-hours with measured CPU", share * 100)) }
        if !coverage.fallbackRegions.isEmpty { parts.append("fallback grid factor for \(coverage.fallbackRegions.joined(separator: ", "))") }
        if coverage.provisionalFactors { parts.append("a provisional Taiwan factor (2024) was used") }
        return "coverage: " + (parts.isEmpty ? "no usage in the period" : parts.joined(separator: "; "))
    }

    struct WhatIf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "whatif",
            abstract: "CO2e each savings recommendation saves, next to its dollars; or, with --to-region, a workload's month moved to another region.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Move this region's share of the selection: the target region, e.g. eu-north-1.") var toRegion: String?
        @Option(help: "Select a business unit (with --to-region).") var bu: String?
        @Option(help: "Select an application (with --to-region).") var app: String?
        @Option(help: "Select an account (with --to-region).") var account: String?
        @Option(help: "The month, YYYY-MM (default: the ledger's latest).") var month: String?
        @Option(help: "table or json.") var format: OutputFormat = .table

        func run() async throws {
            let store = try database.open()
            if let toRegion {
                let months = try CarbonPeriod.months(month: month.map { [$0] } ?? [], from: nil, to: nil, ledger: try await store.costPeriods())
                let ledger = try await CarbonLedger.build(months: months, store: store)
                let selection = CarbonWhatIf.Selection(businessUnit: bu, application: app, account: account)
                let move = CarbonWhatIf.move(ledger, selecting: selection, to: toRegion, month: months[0])
                let table = Table(
                    columns: ["", "kWh", "location kgCO2e", "market kgCO2e", "embodied kgCO2e"],
                    rows: [
                        ["now"] + [move.current.kWh, move.current.locationKg, move.current.marketKg, move.current.embodiedKg].map(CarbonCommand.kg),
                        ["in \(toRegion)"] + [move.moved.kWh, move.moved.locationKg, move.moved.marketKg, move.moved.embodiedKg].map(CarbonCommand.kg),
                    ])
                printOut(try table.render(format) { try JSONOutput.encode(move) })
                if format == .table {
                    let factors = move.fromFactors.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: ", ")
                    printOut("\(selection.name), \(months[0]): grid \(factors) → \(toRegion) \(String(format: "%.4f", move.toFactor)) kgCO2e/kWh; energy and embodied emissions stay")
                }
                return
            }
            let judged = try await Recommender.judgementTime(store: store)
            let savings = try await CarbonWhatIf.savings(try await Recommender().recommend(store: store, now: judged), store: store, now: judged)
            let table = Table(
                columns: ["kind", "resource", "saving/month (USD)", "kgCO2e/month now", "after", "saved kgCO2e/month", "assumption"],
                rows: savings.map {
                    [$0.recommendation.kind.rawValue, $0.recommendation.resourceName, $0.recommendation.monthlySaving.cents, CarbonCommand.kg($0.currentKg),
                     CarbonCommand.kg($0.afterKg), CarbonCommand.kg($0.savedKg), $0.assumption]
                })
            printOut(try table.render(format) { try JSONOutput.encode(savings) })
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report", abstract: "An ESG report for a year, quarter or month: totals by scope, breakdowns, methodology, sources and data coverage.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "2026, 2026-Q3 or 2026-09.") var period: String
        @Option(help: "zh-TW or en.") var lang: String = "en"
        @Option(help: "html, csv or json.") var format: String = "html"
        @Option(name: .shortAndLong, help: "Write to this file (default: standard output).") var output: String?
        @OptionGroup var unit: UnitMetricOptions

        func run() async throws {
            guard ["zh-TW", "en"].contains(lang) else { throw ValidationError("--lang is zh-TW or en") }
            guard let kind = CarbonReport.Format(rawValue: format) else { throw ValidationError("--format is html, csv or json") }
            let store = try database.open()
            let report = try await CarbonReport.build(period: period, store: store, unit: try unit.metric())
            let text = try report.render(kind, language: lang)
            if let output {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
                printOut("wrote \(output): \(period), \(CarbonCommand.kg(report.total.totalKg)) kgCO2e (location-based scope 2 + scope 3)")
            } else {
                printOut(text)
            }
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "settings", abstract: "Grid factors, market-based factors and on-prem sites.", subcommands: [Apply.self, Show.self])

        struct Apply: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "apply", abstract: "Apply a carbon settings file (YAML; audited). The same settings again change nothing.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var actor: ActorOption
            @Argument(help: "The settings file.") var file: String

            func run() async throws {
                let settings = try CarbonFile.load(path: file)
                let source = try String(contentsOfFile: file, encoding: .utf8)
                if let applied = try await database.open().applyCarbonSettings(settings, source: source, actor: actor.resolved) {
                    printOut("applied \(file) (\(applied.sha256.prefix(12))): \(settings.sites.count) sites, \(settings.locationFactors.count) location and \(settings.marketFactors.count) market factors")
                } else {
                    printOut("\(file): unchanged (these settings are in force)")
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "show", abstract: "The settings in force, as applied.")
            @OptionGroup var database: DatabaseOptions

            func run() async throws {
                guard let current = try await database.open().carbonSettings() else {
                    printOut("no carbon settings applied: the bundled coefficients and factors are in force (see docs/carbon.md)")
                    return
                }
                printOut("# applied \(Timestamps.iso8601(current.appliedAt)) by \(current.actor), sha256 \(current.sha256)")
                printOut(current.source)
            }
        }
    }
}
