import CanopyAWS
import CanopyCompliance
import CanopyModel
import CanopyRemediation
import CanopyServer
import CanopyStore
import CanopyTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Webhooks: addresses sealed at rest and never shown, events delivered by severity, outcomes
/// audited by host only.
@Suite struct WebhookTests {
    static let secretURL = "https://hooks.example.com/services/T000/B000/XSECRETX?token=QSECRETQ"

    @Test func addressesAreSealedAndDeliveriesFilteredAndAuditedByHost() async throws {
        let store = try SQLiteStore()
        let box = SecretBox.ephemeral()
        let transport = ScriptedTransport(fallback: { _ in AWSHTTPResponse(status: 204, headers: [], body: Data()) })
        let dispatcher = WebhookDispatcher(store: store, box: box, transport: transport)
        let webhook = try await dispatcher.create(name: "soc", url: Self.secretURL, events: [.findingOpened], minimumSeverityID: 4, actor: "lead")
        #expect(webhook.host == "hooks.example.com")
        await #expect(throws: WebhookError.self) { try await dispatcher.create(name: "x", url: "ftp://files", events: [.findingOpened], minimumSeverityID: 1, actor: "lead") }
        let target = try #require(try await store.webhookTargets().first)
        #expect(try !target.sealedURL.contains("SECRET") && box.open(target.sealedURL) == Self.secretURL)
        #expect(throws: SecretBoxError.self) { try SecretBox.ephemeral().open(target.sealedURL) }

        func finding(_ uid: String, severity: Int) -> Finding {
            Finding(
                uid: uid, checkID: "c", title: "T", severityID: severity, status: .new, resourceUID: "r-\(uid)", resourceType: "aws.ec2", resourceName: uid,
                account: "1", region: "r", application: nil, firstSeen: Date(), lastSeen: Date(), lastScanID: nil, resourceVersion: nil, policyHash: "h",
                requirements: [])
        }
        await dispatcher.findingsOpened([finding("low", severity: 2), finding("high", severity: 4), finding("crit", severity: 5)])
        #expect(transport.requestCount == 1)
        let sent = try #require(transport.requests.first)
        #expect(sent.encodedPath == "/services/T000/B000/XSECRETX" && sent.query.first?.value == "QSECRETQ")
        let body = try JSONValue.parse(sent.body)
        #expect(body["event"] == "finding.opened" && body["count"]?.intValue == 2)
        #expect(body["findings"]?.arrayValue?.compactMap { $0["uid"]?.stringValue } == ["crit", "high"])
        // Nothing at or above the threshold: nothing sent. An event it did not subscribe to: nothing sent.
        await dispatcher.findingsOpened([finding("low", severity: 2)])
        await dispatcher.exceptionChanged(.exceptionRequested, Waiver(id: 1, checkID: "c", selector: "*", reason: "r", requestedBy: "a", approvedBy: nil, state: .requested, createdAt: Date(), expiresAt: Date()))
        #expect(transport.requestCount == 1)
        let log = try await store.auditLog(limit: 10)
        #expect(log.contains { $0.action == "webhook.delivered" && $0.details["host"] == "hooks.example.com" })
        #expect(log.allSatisfy { !$0.details.canonicalJSON().contains("SECRET") }, "the address never reaches the audit log")
        // A failed delivery records the kind of failure, not the error's text (which names the URL).
        let failing = WebhookDispatcher(store: store, box: box, transport: ScriptedTransport(fallback: { request in
            throw TransportError.connection(url: request.url, reason: "refused")
        }))
        await failing.findingsOpened([finding("crit2", severity: 5)])
        let failed = try #require(try await store.auditLog(limit: 1).first)
        #expect(failed.action == "webhook.failed" && failed.details["error"] == "connection failed" && !failed.details.canonicalJSON().contains("SECRET"))
    }

    @Test func evaluationsAndExceptionRequestsNotifyThroughTheServer() async throws {
        let fixture = try await Fixture.make()
        var dependencies = fixture.dependencies
        let transport = ScriptedTransport(fallback: { _ in AWSHTTPResponse(status: 200, headers: [], body: Data()) })
        dependencies.webhooks = WebhookDispatcher(store: dependencies.store, box: .ephemeral(), transport: transport)
        let check = try #require(dependencies.engine.checks.first { $0.policy.resource == "aws.ec2" }?.id)
        let store = dependencies.store
        try await buildApplication(dependencies).test(.router) { client in
            let json: HTTPFields = [.contentType: "application/json"]
            let created = try await client.execute(
                uri: "/api/v1/webhooks", method: .post, headers: fixture.bearer(.ccoe).merging(json),
                body: ByteBuffer(string: #"{"name": "approvers", "url": "\#(Self.secretURL)", "events": ["exception.requested"], "minimumSeverity": "high"}"#))
            #expect(created.status == .created && !created.text.contains("SECRET"))
            #expect(try await client.execute(uri: "/api/v1/webhooks", method: .get, headers: fixture.bearer(.viewer)).status == .forbidden)
            let listed = try await client.execute(uri: "/api/v1/webhooks", method: .get, headers: fixture.bearer(.admin))
            #expect(listed.text.contains("hooks.example.com") && !listed.text.contains("SECRET"))
            let request = #"{"check": "\#(check)", "selector": "\#(fixture.inScope)", "reason": "vendor appliance"}"#
            #expect(try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: fixture.bearer(.buOwner).merging(json), body: ByteBuffer(string: request)).status == .created)
            #expect(transport.requestCount == 1)
            let body = try JSONValue.parse(try #require(transport.requests.first).body)
            #expect(body["event"] == "exception.requested" && body["exception"]?["requested_by"] == "user-bu-owner")
            let settings = try #require(try await signIn(client, name: "user-ccoe", password: fixture.passwords["user-ccoe"]!))
            let cookie: HTTPFields = [.cookie: "canopy_session=\(settings)"]
            let page = try await client.execute(uri: "/settings", method: .get, headers: cookie)
            #expect(page.text.contains("hooks.example.com") && !page.text.contains("SECRET"))
            // The console's forms: add one, test it, delete it.
            let csrf = try #require(page.text.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            func post(_ path: String, _ form: String) async throws -> TestResponse {
                try await client.execute(
                    uri: path, method: .post, headers: cookie.merging([.contentType: "application/x-www-form-urlencoded"]), body: ByteBuffer(string: "csrf=\(csrf)&" + form))
            }
            #expect(try await post("/settings/webhooks", "name=soc&url=\(encode("https://soc.example.net/hook/ZSECRETZ"))&event.finding.opened=on&severity=5").status == .seeOther)
            let added = try #require(try await store.webhooks().first { $0.name == "soc" })
            #expect(added.events == [.findingOpened] && added.minimumSeverityID == 5 && added.host == "soc.example.net")
            let tested = try await post("/settings/webhooks/test", "id=\(added.id)")
            #expect(tested.status == .ok && tested.text.contains("HTTP 200") && !tested.text.contains("ZSECRETZ"))
            #expect(try await post("/settings/webhooks", "name=bad&url=ftp%3A%2F%2Fx&event.finding.opened=on").status == .badRequest)
            #expect(try await post("/settings/webhooks/delete", "id=\(added.id)").status == .seeOther)
            #expect(try await store.webhooks().allSatisfy { $0.name != "soc" })
            let viewer = try #require(try await signIn(client, name: "user-viewer", password: fixture.passwords["user-viewer"]!))
            let viewerPage = try await client.execute(uri: "/settings", method: .get, headers: [.cookie: "canopy_session=\(viewer)"])
            #expect(viewerPage.status == .ok && !viewerPage.text.contains("hooks.example.com"), "webhooks are the CCoE's")
        }
    }
}
