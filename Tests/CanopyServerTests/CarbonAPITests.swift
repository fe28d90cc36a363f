import CanopyModel
import CanopyServer
import CanopyStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Carbon in the API and console: scoped to the caller, the report in both languages, settings
/// only for those who manage them, bad parameters named.
@Suite struct CarbonAPITests {
    @Test func carbonIsScopedReportedAndSettable() async throws {
        let fixture = try await Fixture.make(costs: true)
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func get(_ uri: String, _ role: Role) async throws -> (HTTPResponse.Status, String) {
                let response = try await client.execute(uri: uri, method: .get, headers: fixture.bearer(role))
                return (response.status, response.text)
            }
            let all = try JSONValue.parse(Data(try await get("/api/v1/carbon?by=account&month=2026-10", .viewer).1.utf8))
            let accounts = Set(all["lines"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? [])
            #expect(accounts.count == 4)
            let total = all["total"]?["locationKg"]?.doubleValue ?? 0
            let sum = all["lines"]?.arrayValue?.reduce(0.0) { $0 + ($1["totals"]?["locationKg"]?.doubleValue ?? 0) } ?? 0
            #expect(total > 0 && abs(total - sum) < 1e-6)
            // A bu-owner sees the emissions of their own accounts only.
            let owner = try JSONValue.parse(Data(try await get("/api/v1/carbon?by=account&month=2026-10", .buOwner).1.utf8))
            #expect(Set(owner["lines"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []) == ["599006413549"])
            let ownerSavings = try JSONValue.parse(Data(try await get("/api/v1/carbon/whatif", .buOwner).1.utf8))
            #expect(ownerSavings.arrayValue?.allSatisfy { $0["recommendation"]?["account"] == "599006413549" } == true)
            #expect((ownerSavings.arrayValue?.count ?? 0) > 0)
            // Moving turbine-analytics to a cleaner grid keeps its energy and lowers its scope 2.
            let move = try JSONValue.parse(Data(try await get("/api/v1/carbon/whatif?toRegion=eu-north-1&app=turbine-analytics&month=2026-10", .ccoe).1.utf8))
            #expect(move["current"]?["kWh"] == move["moved"]?["kWh"])
            #expect((move["moved"]?["locationKg"]?.doubleValue ?? 1) < (move["current"]?["locationKg"]?.doubleValue ?? 0))
            // The ESG report, both languages; CSV with its header.
            let (status, zh) = try await get("/api/v1/carbon/report?period=2026-Q3&format=html&lang=zh-TW", .auditor)
            #expect(status == .ok && zh.contains("碳排放與能源報告") && zh.contains("2026-07, 2026-08, 2026-09"))
            #expect(try await get("/api/v1/carbon/report?period=2026&format=csv", .viewer).1.hasPrefix("section,key,kWh"))
            // Intensity per the user's business metric.
            let report = try JSONValue.parse(Data(try await get("/api/v1/carbon/report?period=2026-10&unit=MWh:1000", .viewer).1.utf8))
            let kg = (report["total"]?["locationKg"]?.doubleValue ?? 0) + (report["total"]?["embodiedKg"]?.doubleValue ?? 0)
            #expect(report["unitIntensity"]?["name"] == "MWh" && abs((report["unitIntensity"]?["kgPerUnit"]?.doubleValue ?? 0) - kg / 1_000) < 1e-9)
            #expect(try await get("/api/v1/carbon/report?period=2026-10&unit=MWh:0", .viewer).0 == .badRequest)
            // Bad input names the parameter.
            let bad = try await get("/api/v1/carbon?by=planet", .viewer)
            #expect(bad.0 == .badRequest && bad.1.contains("\"field\":\"by\""))
            #expect(try await get("/api/v1/carbon/report?period=2026-Q5", .viewer).0 == .badRequest)
            let reversed = try JSONValue.parse(Data(try await get("/api/v1/carbon?from=2026-10&to=2026-01", .viewer).1.utf8))
            #expect(reversed["months"]?.arrayValue == [] && reversed["lines"]?.arrayValue == [], "a span that ends before it starts holds no month")
            #expect(try await get("/api/v1/carbon?from=2026-13", .viewer).0 == .badRequest)
            let wide = try JSONValue.parse(Data(try await get("/api/v1/carbon?by=month&from=2000-01&to=2200-12", .viewer).1.utf8))
            #expect(wide["months"]?.arrayValue?.count == 13, "a span past the ledger covers the months it holds")
            #expect(try await client.execute(uri: "/api/v1/carbon", method: .get).status == .unauthorized)
            // Settings: admin and ccoe only; errors name the line; the same settings twice change nothing.
            func put(_ role: Role, _ source: String) async throws -> (HTTPResponse.Status, String) {
                let body = try String(decoding: JSONEncoder().encode(["source": source]), as: UTF8.self)
                let response = try await client.execute(
                    uri: "/api/v1/carbon/settings", method: .put, headers: fixture.bearer(role).merging([.contentType: "application/json"]), body: ByteBuffer(string: body))
                return (response.status, response.text)
            }
            let green = "market_factors: {us-east-1: 0.0}\n"
            #expect(try await put(.viewer, green).0 == .forbidden)
            let wrong = try await put(.ccoe, "market_factors:\n  us-east-1: cheap\n")
            #expect(wrong.0 == .badRequest && wrong.1.contains("source:2"))
            #expect(try await put(.ccoe, green).0 == .created)
            #expect(try await put(.ccoe, green).0 == .ok)
            let after = try JSONValue.parse(Data(try await get("/api/v1/carbon?by=region&month=2026-10", .viewer).1.utf8))
            let east = after["lines"]?.arrayValue?.first { $0["key"] == "us-east-1" }
            #expect(east?["totals"]?["marketKg"]?.doubleValue == 0 && (east?["totals"]?["locationKg"]?.doubleValue ?? 0) > 0)
            // The console page, both languages.
            let session = try #require(try await signIn(client, name: "user-ccoe", password: fixture.passwords["user-ccoe"]!))
            for (language, heading) in [("en", "Carbon and energy"), ("zh-TW", "碳排放與能源")] {
                let page = try await client.execute(uri: "/carbon?by=bu&lang=\(language)", method: .get, headers: [.cookie: "canopy_session=\(session)"])
                #expect(page.status == .ok && page.text.contains(heading) && page.text.contains("/api/v1/carbon/report?period="))
            }
        }
    }
}
