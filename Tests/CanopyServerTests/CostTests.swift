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
}
