import CanopyFinOps
import CanopyModel
import CanopyServer
import CanopyStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Cost in the API and console: exact totals, scoped to the caller, bad parameters named.
@Suite struct CostTests {
    @Test func costsAreExactScopedAndNamed() async throws {
        let fixture = try await Fixture.make(costs: true)
        let store = fixture.dependencies.store
        let days = try await store.costDays(CostQuery(from: "2026-10-01", to: "2026-11-01"))
        let october = days.reduce(Decimal(0)) { $0 + $1.billedCost }
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let all = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/costs?by=bu&month=2026-10", method: .get, headers: fixture.bearer(.viewer)).text.utf8))
            let total = try #require(all["totals"]?["USD"])
            #expect(Decimal(string: total.compactText) == october, "the API's total is the ledger's, to the last digit")
            #expect(Set(all["lines"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []) == ["generation", "grid-operations", "corporate", "cyber-platform"])
            let owner = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/costs?by=bu&month=2026-10", method: .get, headers: fixture.bearer(.buOwner)).text.utf8))
            // A bu-owner sees the cost in their own accounts only, allocated as for everyone (the
            // security agents there belong to the cyber platform's application).
            let ownAccounts = Set(try await store.accounts().filter { $0.organizationalUnit == "Generation" }.map(\.id))
            let own = days.filter { ownAccounts.contains($0.subAccountID) }.reduce(Decimal(0)) { $0 + $1.billedCost }
            #expect(Decimal(string: owner["totals"]?["USD"]?.compactText ?? "") == own)
            #expect(owner["lines"]?.arrayValue?.first?["key"] == "generation")
            let ownerUnits = Set(owner["lines"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? [])
            #expect(ownerUnits.isSubset(of: ["generation", "cyber-platform"]))
            let bad = try await client.execute(uri: "/api/v1/costs?month=2026-13", method: .get, headers: fixture.bearer(.viewer))
            #expect(bad.status == .badRequest && bad.text.contains("\"field\":\"month\""))
            #expect(try await client.execute(uri: "/api/v1/costs", method: .get).status == .unauthorized)
            // The planted anomaly shows: Generation's EC2 in October is above September's.
            func ec2(_ month: String) async throws -> Decimal {
                let page = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/costs?by=service&month=\(month)", method: .get, headers: fixture.bearer(.buOwner)).text.utf8))
                return Decimal(string: page["lines"]?.arrayValue?.first { $0["key"] == "AmazonEC2" }?["cost"]?.compactText ?? "0") ?? 0
            }
            #expect(try await ec2("2026-10") > ec2("2026-09"))
            let anomalies = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/costs/anomalies", method: .get, headers: fixture.bearer(.buOwner)).text.utf8))
            #expect(anomalies.arrayValue?.compactMap { $0["day"]?.stringValue }.sorted() == ["2026-10-14", "2026-10-15", "2026-10-16"])
            #expect(anomalies.arrayValue?.first?["explainedBy"]?["application"] == "turbine-analytics")
            let forecast = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/costs/forecast", method: .get, headers: fixture.bearer(.ccoe)).text.utf8))
            #expect(forecast["forecast"]?["months"]?.arrayValue?.count == 4 && forecast["meanAbsoluteVariance"]?.doubleValue ?? 1 < 0.05)
            #expect(try await client.execute(uri: "/api/v1/costs/anomalies?since=yesterday", method: .get, headers: fixture.bearer(.ccoe)).status == .badRequest)
            let savings = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/costs/recommendations", method: .get, headers: fixture.bearer(.buOwner)).text.utf8))
            var accounts: Set<String> = []
            for item in savings.arrayValue ?? [] { if let account = item["account"]?.stringValue { accounts.insert(account) } }
            #expect(accounts == ["599006413549"], "a bu-owner sees savings in their accounts only: \(accounts)")
        }
    }

    /// Allocation rules and budgets through the API: who may change them, what they change, and
    /// errors that name the field and the line.
    @Test func allocationAndBudgetsThroughTheAPI() async throws {
        let fixture = try await Fixture.make(costs: true)
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func send(_ method: HTTPRequest.Method, _ uri: String, _ role: Role, _ body: String? = nil) async throws -> (HTTPResponse.Status, JSONValue) {
                let response = try await client.execute(
                    uri: uri, method: method, headers: fixture.bearer(role).merging([.contentType: "application/json"]),
                    body: body.map { ByteBuffer(string: $0) })
                return (response.status, (try? JSONValue.parse(Data(response.text.utf8))) ?? .null)
            }
            let rules = #"{"source": "shared_costs:\n  - {name: Support, match: {services: [AWSSupportBusiness]}, method: even, to: [generation, corporate]}\n", "month": "2026-10"}"#
            #expect(try await send(.put, "/api/v1/cost-allocation", .viewer, rules).0 == .forbidden)
            #expect(try await send(.post, "/api/v1/cost-allocation/preview", .buOwner, rules).0 == .forbidden)
            let preview = try await send(.post, "/api/v1/cost-allocation/preview", .ccoe, rules)
            #expect(preview.0 == .ok)
            let generation = preview.1["units"]?.arrayValue?.first { $0["unit"] == "generation" }
            #expect((generation?["candidate"]?.doubleValue ?? 0) - (generation?["current"]?.doubleValue ?? 0) == 425, "half the 850 support fee")
            let bad = try await send(.put, "/api/v1/cost-allocation", .ccoe, #"{"source": "shared_costs:\n  - {name: S, match: {}, method: fair, to: [generation]}\n"}"#)
            #expect(bad.0 == .badRequest && bad.1.compactText.contains("source:2") && bad.1.compactText.contains("fair"))
            let unknown = try await send(.put, "/api/v1/cost-allocation", .ccoe, #"{"source": "shared_costs:\n  - {name: S, match: {}, method: even, to: [nobody]}\n"}"#)
            #expect(unknown.0 == .badRequest && unknown.1.compactText.contains("'nobody' is not defined"))
            #expect(try await send(.put, "/api/v1/cost-allocation", .ccoe, rules).0 == .created)
            let again = try await send(.put, "/api/v1/cost-allocation", .ccoe, rules)
            #expect(again.0 == .ok && again.1["versions"]?.arrayValue?.count == 1, "the same rules again are no new version")
            let byApp = try await send(.get, "/api/v1/costs?by=app&month=2026-10", .viewer)
            #expect(byApp.1["lines"]?.arrayValue?.contains { $0["key"] == "(shared: Support)" } == true)
            #expect(try await send(.get, "/api/v1/costs?by=category", .viewer).0 == .notFound, "no categories are defined")
            let audit = try await fixture.dependencies.store.auditLog(limit: 5)
            #expect(audit.first { $0.action == "cost.allocation.apply" }?.actor == "user-ccoe")

            let budget = #"{"name": "Corporate", "scope": "business-unit", "target": "corporate", "amount": 1000}"#
            #expect(try await send(.put, "/api/v1/budgets/corp", .buOwner, budget).0 == .forbidden)
            #expect(try await send(.put, "/api/v1/budgets/corp", .ccoe, #"{"name": "X", "scope": "business-unit", "target": "nowhere", "amount": 5}"#).0 == .badRequest)
            #expect(try await send(.put, "/api/v1/budgets/corp", .ccoe, budget).0 == .ok)
            let all = try await send(.get, "/api/v1/budgets", .viewer)
            #expect(Set(all.1.arrayValue?.compactMap { $0["budget"]?["id"]?.stringValue } ?? []) == ["gen", "corp"])
            let own = try await send(.get, "/api/v1/budgets", .buOwner)
            #expect(own.1.arrayValue?.compactMap { $0["budget"]?["id"]?.stringValue } == ["gen"], "a bu-owner sees their unit's budgets")
            #expect(try await send(.delete, "/api/v1/budgets/corp", .ccoe).0 == .noContent)
            #expect(try await send(.delete, "/api/v1/budgets/corp", .ccoe).0 == .notFound)
        }
    }
}
