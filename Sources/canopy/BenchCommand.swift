import ArgumentParser
import CanopyCompliance
import CanopyDemo
import CanopyFinOps
import CanopyModel
import CanopyPolicy
import CanopyStore
import Foundation

/// Maintainers' benchmarks (figures go into notes, never into tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks for maintainers.", shouldDisplay: false, subcommands: [Evaluate.self, CostQueries.self])

    struct CostQueries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cost-queries", abstract: "Times the Costs page's queries on an imported ledger: month × service and month × business unit.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Timed rounds (the best and the median are reported).") var rounds = 7

        func run() async throws {
            let store = try database.open()
            func time(_ name: String, _ body: () async throws -> Int) async throws {
                var samples: [Double] = []
                var lines = 0
                for _ in 0..<rounds {
                    let started = DispatchTime.now().uptimeNanoseconds
                    lines = try await body()
                    samples.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
                }
                samples.sort()
                printOut(String(format: "%@: %d lines, best %.1f ms, median %.1f ms", name, lines, samples[0], samples[samples.count / 2]))
            }
            // Month × dimension over the whole ledger, as the trend and breakdown charts read it.
            func monthly(_ dimension: CostDimension) async throws -> Int {
                let months = try await store.costPeriods()
                var lines = 0
                for month in months {
                    guard let span = CostCalendar.monthSpan(month) else { continue }
                    lines += try await CostBreakdown.build(by: dimension, metric: .billed, query: CostQuery(from: span.from, to: span.to), store: store).lines.count
                }
                return lines
            }
            try await time("month × service") { try await monthly(.service) }
            try await time("month × business unit") { try await monthly(.businessUnit) }
        }
    }

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "evaluate",
            abstract: "Filter evaluations per second over synthetic resources and every built-in pack, on one core.")

        @Option(help: "Synthetic resources (copies of the demo estate, varied).") var resources = 100_000
        @Option(help: "Timed rounds (the best is reported).") var rounds = 3

        func run() async throws {
            let store = try SQLiteStore()
            try await DemoRecording.bundled().load(into: store)
            let engine = try ComplianceEngine.load()
            let seed = try await store.resources(ResourceQuery())
            let metrics = try await store.series(metric: MetricSeries.Key.ec2CPU, since: .distantPast)
            let inventory = Self.synthesize(from: seed, count: resources)
            var series: [MetricSeries] = []
            let byUID = Dictionary(metrics.map { ($0.resourceUID, $0) }, uniquingKeysWith: { a, _ in a })
            for resource in inventory where resource.type == "aws.ec2" {
                let original = String(resource.uid.split(separator: "#").first ?? "")
                if var s = byUID[original] {
                    s.resourceUID = resource.uid
                    series.append(s)
                }
            }
            let now = (try await store.scans(limit: 1).first?.finishedAt) ?? Date()
            let context = EvaluationContext(now: now, inventory: inventory, metrics: series)
            var best = Double.infinity
            var evaluations = 0
            var failing = 0
            for _ in 0..<rounds {
                let started = DispatchTime.now().uptimeNanoseconds
                let outcomes = engine.evaluate(context)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                best = min(best, seconds)
                evaluations = outcomes.reduce(0) { $0 + $1.candidates.count }
                failing = outcomes.reduce(0) { $0 + $1.failing.count }
            }
            printOut("resources: \(inventory.count) (\(Set(inventory.map(\.type)).count) types), checks: \(engine.checks.count) in \(engine.packs.count) packs")
            printOut("policy × resource evaluations per round: \(evaluations) (\(failing) failing)")
            printOut(String(format: "best of %d rounds: %.3f s → %.2f M evaluations/s on one core", rounds, best, Double(evaluations) / best / 1e6))
        }

        /// Copies of the seed inventory with fresh uids/ids and varied values, so filters see
        /// realistic, non-identical documents.
        static func synthesize(from seed: [Resource], count: Int) -> [Resource] {
            var result: [Resource] = []
            result.reserveCapacity(count)
            var round = 0
            while result.count < count {
                for resource in seed where result.count < count {
                    var copy = resource
                    copy.uid = "\(resource.uid)#\(round)"
                    // Each copy of the estate is its own set of accounts, as a larger organization would be.
                    copy.account = "\(resource.account)-\(round)"
                    if round % 3 == 1, case .object(var p) = copy.properties {
                        if p["Encrypted"] != nil { p["Encrypted"] = .bool(round % 2 == 0) }
                        if p["VolumeType"] != nil { p["VolumeType"] = .string(round % 2 == 0 ? "gp3" : "gp2") }
                        copy.properties = .object(p)
                    }
                    result.append(copy)
                }
                round += 1
            }
            return result
        }
    }
}
