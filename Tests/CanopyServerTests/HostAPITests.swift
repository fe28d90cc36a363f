import CanopyAWS
import CanopyHost
import CanopyModel
import CanopyServer
import CanopyStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// On-prem hosts through the API: the agent uploading over loopback with its enrollment token,
/// refusals that store nothing, enrollments, patch compliance and the baseline.
@Suite struct HostAPITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CanopyHostTests/Fixtures")

    static func inventory(_ name: String) -> HostInventory {
        HostCollector(root: fixtures.appendingPathComponent(name)).collect()
    }

    @Test func theAgentUploadsOverLoopbackAndTheHostIsChecked() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        let (enrollment, secret) = try await Administration.enrollHost(
            name: "hist-01", site: "tpe-dc1", tags: ["Env": "production", "App": "scada-historian"], days: 30, actor: "ccoe", store: store)
        try await buildApplication(fixture.dependencies).test(.live) { client in
            let port = try #require(client.port)
            try await AsyncHTTPClientTransport.with { transport in
                let server = URL(string: "http://127.0.0.1:\(port)")!
                let agent = HostAgent(
                    server: server, token: secret, collector: HostCollector(root: Self.fixtures.appendingPathComponent("debian-ot")),
                    tags: ["Env": "test", "Owner": "grid-ops@example.com"], transport: transport)
                let receipt = try await agent.uploadOnce()
                #expect(receipt.host == "hist-01" && receipt.change == "added")
                let host = try #require(try await store.resource(uid: receipt.resource))
                #expect(host.account == "tpe-dc1" && host.type == "onprem.host")
                #expect(host.tags["Env"] == "production", "the enrollment's tags win over the agent's")
                #expect(host.tags["Owner"] == "grid-ops@example.com")
                let findings = try await store.findings(FindingQuery(resourceUID: host.uid)).map(\.checkID)
                #expect(findings.contains("host.account.extra_uid0") && findings.contains("host.sudo.nopasswd_all"))
                #expect(try await store.hostEnrollments().first { $0.id == enrollment.id }?.hostID == "0f3c9a7be1d24c5e8a6b2d4f1e3c5a79")

                // The same token cannot write another host's record.
                let forger = HostAgent(
                    server: server, token: secret, collector: HostCollector(root: Self.fixtures.appendingPathComponent("plantos-rtu")), transport: transport)
                do {
                    _ = try await forger.uploadOnce()
                    Issue.record("a second host's upload was accepted")
                } catch let rejected as HostAgent.Rejected {
                    #expect(rejected.status == 403)
                    #expect(rejected.message.contains("belongs to host 0f3c9a7be1d24c5e8a6b2d4f1e3c5a79"))
                }
                #expect(try await store.resources(ResourceQuery(types: ["onprem.host"])).map(\.name) == ["hist-01"])
                #expect(try await store.auditLog(limit: 10).contains { $0.action == "host.upload.refused" })

                // A revoked token is refused.
                try await store.revokeHostEnrollment(id: enrollment.id, actor: "ccoe")
                await #expect(throws: HostAgent.Rejected.self) { try await agent.uploadOnce() }
            }
        }
    }

    @Test func malformedOversizedAndWronglyAuthenticatedUploadsAreRefusedWithClearErrors() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        let (_, secret) = try await Administration.enrollHost(name: "h", site: "tpe-dc1", tags: [:], days: 30, actor: "ccoe", store: store)
        let host: HTTPFields = [.authorization: "Bearer \(secret)", .contentType: "application/json"]
        let valid = try CanopyJSON.encoder().encode(HostUpload(inventory: Self.inventory("debian-ot"), tags: [:]))
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func post(_ body: ByteBuffer, headers: HTTPFields) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/hosts/inventory", method: .post, headers: headers, body: body)
            }
            let malformed = try await post(ByteBuffer(string: "{\"inventory\": {\"schema\": 1, \"hostID\": 7}}"), headers: host)
            #expect(malformed.status == .badRequest)
            #expect(malformed.text.contains("inventory.hostID"))

            var json = try JSONSerialization.jsonObject(with: valid) as! [String: Any]
            var inventory = json["inventory"] as! [String: Any]
            inventory["hostID"] = "not-a-machine-id"
            json["inventory"] = inventory
            let invalid = try await post(ByteBuffer(data: try JSONSerialization.data(withJSONObject: json)), headers: host)
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.text.contains("\"field\":\"hostID\""))

            let oversized = try await post(ByteBuffer(repeating: UInt8(ascii: " "), count: 17 * 1024 * 1024), headers: host)
            #expect(oversized.status == .contentTooLarge)

            let userToken = try await post(ByteBuffer(data: valid), headers: fixture.bearer(.admin))
            #expect(userToken.status == .unauthorized, "a user's API token is not a host credential")
            let none = try await post(ByteBuffer(data: valid), headers: [.contentType: "application/json"])
            #expect(none.status == .unauthorized)
            // And a host token opens nothing else.
            let elsewhere = try await client.execute(uri: "/api/v1/resources", method: .get, headers: [.authorization: "Bearer \(secret)"])
            #expect(elsewhere.status == .unauthorized)

            #expect(try await store.resources(ResourceQuery(types: ["onprem.host"])).isEmpty, "nothing of a refused upload is stored")
            #expect(try await post(ByteBuffer(data: valid), headers: host).status == .ok)
        }
    }

    @Test func enrollmentsArePrintedOnceAndOnlyTheCCoEIssuesThem() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let body = ByteBuffer(string: #"{"name": "scada-01", "site": "tpe-dc1", "tags": {"Env": "production"}, "days": 90}"#)
            let denied = try await client.execute(uri: "/api/v1/hosts/enrollments", method: .post, headers: fixture.bearer(.auditor), body: body)
            #expect(denied.status == .forbidden)
            let created = try await client.execute(uri: "/api/v1/hosts/enrollments", method: .post, headers: fixture.bearer(.ccoe), body: body)
            #expect(created.status == .created)
            #expect(created.headers[.cacheControl] == "no-store")
            #expect(created.text.contains("\"token\":\"cph_"))
            let list = try await client.execute(uri: "/api/v1/hosts/enrollments", method: .get, headers: fixture.bearer(.admin))
            #expect(list.status == .ok && list.text.contains("scada-01") && !list.text.contains("cph_"))
            let badSite = try await client.execute(
                uri: "/api/v1/hosts/enrollments", method: .post, headers: fixture.bearer(.ccoe), body: ByteBuffer(string: #"{"name": "x", "site": "a b"}"#))
            #expect(badSite.status == .badRequest && badSite.text.contains("\"field\":\"site\""))
            #expect(try await fixture.dependencies.store.auditLog(limit: 5).contains { $0.action == "host.enroll" })
        }
    }

    @Test func patchComplianceIsScopedAndTheBaselineIsTheCCoEs() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        _ = try await HostIntake(store: store).record(Self.inventory("debian-ot"), placement: HostPlacement(site: "tpe-dc1", tags: ["Env": "production"]), source: "test")
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let all = try await client.execute(uri: "/api/v1/patch/compliance", method: .get, headers: fixture.bearer(.auditor))
            #expect(all.status == .ok && all.text.contains("hist-01"))
            let scoped = try await client.execute(uri: "/api/v1/patch/compliance", method: .get, headers: fixture.bearer(.buOwner))
            #expect(scoped.status == .ok && !scoped.text.contains("hist-01"), "a site outside the owner's units is not theirs")
            let units = try await client.execute(uri: "/api/v1/patch/compliance?by=bu", method: .get, headers: fixture.bearer(.viewer))
            #expect(units.status == .ok && units.text.contains("\"businessUnit\""))
            let badBy = try await client.execute(uri: "/api/v1/patch/compliance?by=site", method: .get, headers: fixture.bearer(.viewer))
            #expect(badBy.status == .badRequest)

            let yaml = #"{"source": "rules:\n  - environment: production\n    classification: security\n    approve_after_days: 0\n"}"#
            let denied = try await client.execute(uri: "/api/v1/patch/baseline", method: .put, headers: fixture.bearer(.auditor), body: ByteBuffer(string: yaml))
            #expect(denied.status == .forbidden)
            let applied = try await client.execute(uri: "/api/v1/patch/baseline", method: .put, headers: fixture.bearer(.ccoe), body: ByteBuffer(string: yaml))
            #expect(applied.status == .created && applied.text.contains("\"standard\":false"))
            let again = try await client.execute(uri: "/api/v1/patch/baseline", method: .put, headers: fixture.bearer(.ccoe), body: ByteBuffer(string: yaml))
            #expect(again.status == .ok, "the same baseline again changes nothing")
            let bad = try await client.execute(
                uri: "/api/v1/patch/baseline", method: .put, headers: fixture.bearer(.ccoe),
                body: ByteBuffer(string: #"{"source": "rules:\n  - classification: sometimes\n    approve_after_days: 1\n"}"#))
            #expect(bad.status == .badRequest && bad.text.contains("source:2"))
            // With approval at 0 days, every pending security update on a production host is now missing.
            let after = try await client.execute(uri: "/api/v1/patch/compliance?state=non-compliant", method: .get, headers: fixture.bearer(.auditor))
            #expect(after.text.contains("hist-01"))
        }
    }
}
