import CanopyLake
import CanopyModel
import CanopySecurity
import CanopyServer
import CanopyStore
import CanopyTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The findings hub through the API and console: scoped lists, correlation shown, triage and
/// suppression by the roles allowed, audited.
@Suite struct SecurityAPITests {
    @Test func theHubIsScopedCorrelatedAndTriaged() async throws {
        let fixture = try await Fixture.make(security: true)
        let store = fixture.dependencies.store
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func call(_ uri: String, _ role: Role, method: HTTPRequest.Method = .get, body: String? = nil) async throws -> (HTTPResponse.Status, JSONValue?) {
                var headers = fixture.bearer(role)
                if body != nil { headers[.contentType] = "application/json" }
                let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                return (response.status, try? JSONValue.parse(Data(response.text.utf8)))
            }
            let (status, list) = try await call("/api/v1/security/findings?guardrails=false", .ccoe)
            #expect(status == .ok)
            let views = list?.arrayValue ?? []
            #expect(views.count == 6 + 8 - 1)  // six detections, eight imported (Prowler's PASS is resolved, not listed)
            let sg = try #require(views.first { $0["finding"]?["title"]?.stringValue == "Security Group Opened to the Internet" })
            #expect(sg["reasons"]?.arrayValue?.contains("the resource also fails guardrail ec2.sg.ssh_open_to_world") == true)
            #expect(sg["context"]?["businessUnit"]?.stringValue == "generation" && sg["priority"] == 5)

            // A bu-owner of generation sees generation's findings only.
            let owned = try await call("/api/v1/security/findings?guardrails=false", .buOwner).1?.arrayValue ?? []
            #expect(!owned.isEmpty && owned.allSatisfy { $0["finding"]?["account"]?.stringValue == "599006413549" })
            let kms = try #require(views.first { $0["finding"]?["title"]?.stringValue == "KMS Key Scheduled for Deletion" }?["finding"]?["uid"]?.stringValue)
            #expect(try await call("/api/v1/security/findings/\(kms)", .buOwner).0 == .notFound)
            #expect(try await call("/api/v1/security/findings/\(kms)/triage", .buOwner, method: .post, body: #"{"status":"in_progress"}"#).0 == .notFound)

            // Triage: the roles allowed, audited; a viewer may not.
            let uid = try #require(sg["finding"]?["uid"]?.stringValue)
            #expect(try await call("/api/v1/security/findings/\(uid)/triage", .viewer, method: .post, body: #"{"status":"in_progress"}"#).0 == .forbidden)
            let (triaged, view) = try await call("/api/v1/security/findings/\(uid)/triage", .buOwner, method: .post, body: #"{"status":"in_progress","assignee":"ot-oncall","note":"rule removed"}"#)
            #expect(triaged == .ok && view?["status"]?.stringValue == "in_progress" && view?["finding"]?["assignee"]?.stringValue == "ot-oncall")
            #expect(try await call("/api/v1/security/findings/\(uid)/triage", .ccoe, method: .post, body: #"{"status":"suppressed"}"#).0 == .badRequest)
            let detail = try await call("/api/v1/security/findings/\(uid)", .auditor)
            #expect(detail.1?["events"]?.arrayValue?.count == 1)
            #expect(try await call("/api/v1/security/findings/\(uid)", .viewer).1?["events"]?.arrayValue?.isEmpty == true, "a viewer reads no activity")
            let ocsf = try await call("/api/v1/security/findings/\(uid)?format=ocsf", .auditor)
            #expect(ocsf.1?["class_uid"] == 2004 && ocsf.1?["unmapped"]?["business_unit"]?.stringValue == "generation")

            // Suppression: admin and ccoe only; the finding then shows as suppressed with the reason.
            let trivy = #"{"source":"Trivy","rule":"CVE-2023-50495","reason":"ncurses not reachable","days":30}"#
            #expect(try await call("/api/v1/security/suppressions", .buOwner, method: .post, body: trivy).0 == .forbidden)
            let (created, rule) = try await call("/api/v1/security/suppressions", .ccoe, method: .post, body: trivy)
            #expect(created == .created)
            #expect(try await call("/api/v1/security/suppressions", .ccoe, method: .post, body: #"{"reason":"everything","days":30}"#).0 == .badRequest)
            let suppressed = try await call("/api/v1/security/findings?source=Trivy&status=suppressed", .ccoe).1?.arrayValue ?? []
            #expect(suppressed.count == 1 && suppressed.first?["suppression"]?["reason"]?.stringValue == "ncurses not reachable")
            let gridops = #"{"account":"751136107545","rule":"S3.8","reason":"public outage map, by design","days":90}"#
            #expect(try await call("/api/v1/security/suppressions", .admin, method: .post, body: gridops).0 == .created)
            let ownerView = try await call("/api/v1/security/suppressions", .buOwner).1?.arrayValue ?? []
            #expect(ownerView.count == 1 && ownerView.first?["ruleID"]?.stringValue == "CVE-2023-50495", "another unit's rule is not shown")
            #expect(try await call("/api/v1/security/suppressions", .auditor).1?.arrayValue?.count == 2)
            let id = try #require(rule?["id"]?.intValue)
            #expect(try await call("/api/v1/security/suppressions/\(id)", .ccoe, method: .delete).0 == .noContent)
            #expect(try await call("/api/v1/security/suppressions/\(id)", .ccoe, method: .delete).0 == .notFound)
            let actions = try await store.auditLog(limit: 50).map(\.action)
            #expect(actions.contains("findings.triage") && actions.contains("findings.suppress") && actions.contains("findings.unsuppress"))

            let rules = try await call("/api/v1/detections/rules", .viewer).1?.arrayValue ?? []
            #expect(rules.count == 7)
            #expect(try await call("/api/v1/security/findings?class=everything", .ccoe).0 == .badRequest)

            // The console: the list and a finding with its events, in both languages.
            let session = try #require(try await signIn(client, name: "user-ccoe", password: fixture.passwords["user-ccoe"]!))
            for (language, heading) in [("en", "Security findings"), ("zh-TW", "資安發現")] {
                let page = try await client.execute(uri: "/security?lang=\(language)", method: .get, headers: [.cookie: "canopy_session=\(session)"])
                #expect(page.status == .ok && page.text.contains(heading) && page.text.contains("ec2.sg.ssh_open_to_world"))
            }
            let finding = try await client.execute(uri: "/security/finding?uid=\(uid)", method: .get, headers: [.cookie: "canopy_session=\(session)"])
            #expect(finding.status == .ok && finding.text.contains("AuthorizeSecurityGroupIngress") && finding.text.contains("ot-oncall"))
        }
    }
}

extension SecurityAPITests {
    /// Read-only SQL through the API: admins and auditors only, refusals named.
    @Test func lakeSQLIsForAdminsAndAuditorsAndReadsOnlyTheViews() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-sql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try await Fixture.make(security: true, path: directory.appendingPathComponent("canopy.db").path)
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func sql(_ text: String, _ role: Role) async throws -> (HTTPResponse.Status, JSONValue?) {
                var headers = fixture.bearer(role)
                headers[.contentType] = "application/json"
                let body = JSONValue.object(["sql": .string(text)]).canonicalJSON()
                let response = try await client.execute(uri: "/api/v1/lake/sql", method: .post, headers: headers, body: ByteBuffer(string: body))
                return (response.status, try? JSONValue.parse(Data(response.text.utf8)))
            }
            let (status, result) = try await sql("SELECT userArn, json_extract(body, '$.sourceIPAddress') AS ip FROM lake_events WHERE eventName = 'ConsoleLogin' AND json_extract(body, '$.additionalEventData.MFAUsed') = 'No'", .auditor)
            #expect(status == .ok && result?["columns"] == ["userArn", "ip"])
            #expect(result?["rows"] == [["arn:aws:iam::751136107545:user/mdm-batch", "198.51.100.23"]])
            #expect(try await sql("SELECT count(*) FROM lake_events", .ccoe).0 == .forbidden)
            let refused = try await sql("SELECT name, password_hash FROM app_user", .admin)
            #expect(refused.0 == .badRequest && refused.1?["error"]?["field"]?.stringValue == "sql")
            #expect(try await sql("DELETE FROM lake_event", .admin).0 == .badRequest)
            #expect(try await fixture.dependencies.store.countLakeEvents(LakeFilter()) == 601)
        }
    }
}
