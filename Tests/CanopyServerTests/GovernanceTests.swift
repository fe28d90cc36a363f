import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyServer
import CanopyStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var fields = self
        for field in other { fields[field.name] = field.value }
        return fields
    }
}

/// Business units, applications, exceptions, users and tokens through the API and the console.
@Suite(.serialized) struct GovernanceTests {
    static func json(_ response: TestResponse) throws -> JSONValue { try JSONValue.parse(Data(response.text.utf8)) }

    /// Every role × the new endpoints × objects in and out of a bu-owner's scope, reads and writes.
    @Test func authorisationMatrixForOwnershipExceptionsUsersAndTokens() async throws {
        let fixture = try await Fixture.make()
        let check = try #require(fixture.dependencies.engine.checks.first { $0.policy.resource == "aws.ec2" }?.id)
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func call(_ role: Role?, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> HTTPResponse.Status {
                var headers = role.map(fixture.bearer) ?? [:]
                if body != nil { headers[.contentType] = "application/json" }
                return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }).status
            }
            for role in Role.allCases {
                for uri in ["/api/v1/business-units", "/api/v1/applications", "/api/v1/policies", "/api/v1/exceptions", "/api/v1/changes", "/api/v1/tokens",
                    "/api/v1/business-units/generation", "/api/v1/applications/scada-historian", "/api/v1/changes?from=1&to=2"]
                {
                    #expect(try await call(role, .get, uri) == .ok, "\(role) \(uri)")
                }
                let outside = role == .buOwner ? HTTPResponse.Status.notFound : .ok
                #expect(try await call(role, .get, "/api/v1/business-units/corporate") == outside, "\(role) other unit")
                #expect(try await call(role, .get, "/api/v1/applications/customer-billing") == outside, "\(role) other unit's application")
                #expect(try await call(role, .get, "/api/v1/users") == (role == .admin ? .ok : .forbidden), "\(role) users")

                let unit = #"{"name": "Test unit \#(role.rawValue)", "accounts": []}"#
                #expect(try await call(role, .put, "/api/v1/business-units/t-\(role.rawValue)", unit) == (role.canManageOwnership ? .ok : .forbidden), "\(role) put unit")
                let request = #"{"check": "\#(check)", "selector": "\#(fixture.inScope)", "reason": "vendor appliance", "days": 30}"#
                #expect(try await call(role, .post, "/api/v1/exceptions", request) == (role.canTriage ? .created : .forbidden), "\(role) request exception")
                let user = #"{"name": "made-by-\#(role.rawValue)", "role": "viewer"}"#
                #expect(try await call(role, .post, "/api/v1/users", user) == (role == .admin ? .created : .forbidden), "\(role) create user")
                #expect(try await call(role, .post, "/api/v1/tokens", #"{"name": "siem", "role": "viewer", "days": 7}"#)
                    == (role == .buOwner ? .forbidden : .created), "\(role) viewer token")
            }
            for uri in ["/api/v1/business-units", "/api/v1/applications", "/api/v1/policies", "/api/v1/exceptions", "/api/v1/changes", "/api/v1/tokens", "/api/v1/users"] {
                #expect(try await call(nil, .get, uri) == .unauthorized, "anonymous \(uri)")
            }
            // A bu-owner asks only about their own resources; another unit's is refused by name.
            let theirs = #"{"check": "\#(check)", "selector": "\#(fixture.outOfScope)", "reason": "x", "days": 30}"#
            let refused = try await client.execute(
                uri: "/api/v1/exceptions", method: .post, headers: fixture.bearer(.buOwner).merging([.contentType: "application/json"]),
                body: ByteBuffer(string: theirs))
            #expect(try refused.status == .badRequest && Self.json(refused)["error"]?["field"] == "selector")
            // Lists are scoped: a bu-owner sees only their units and their own tokens.
            let units = try Self.json(try await client.execute(uri: "/api/v1/business-units", method: .get, headers: fixture.bearer(.buOwner)))
            #expect(units.arrayValue?.compactMap { $0["unit"]?["id"]?.stringValue } == ["generation"])
            let tokens = try Self.json(try await client.execute(uri: "/api/v1/tokens", method: .get, headers: fixture.bearer(.buOwner)))
            #expect(Set(tokens.arrayValue?.compactMap { $0["user"]?.stringValue } ?? []) == ["user-bu-owner"])
            // Methods a path does not offer get 405 and the ones it does.
            let wrong = try await client.execute(uri: "/api/v1/business-units/generation", method: .post, headers: fixture.bearer(.admin))
            #expect(wrong.status == .methodNotAllowed && wrong.headers[.allow] == "GET, PUT, DELETE")
        }
    }

    @Test func ownershipChangesReattributeFindingsAndAreAuditedWithTheAddress() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let headers = fixture.bearer(.ccoe).merging([.contentType: "application/json"])
            // The sandbox is tagged but belongs to no application until one claims it.
            #expect(try await store.findings(FindingQuery(statuses: nil, application: "sandbox")).isEmpty)
            let body = #"{"name": "Developer sandbox", "nameZh": "開發沙箱", "businessUnit": "corporate", "tier": "tier-3", "selector": {"tags": {"app": ["dev-sandbox"]}, "accounts": [], "types": [], "regions": []}}"#
            let saved = try await client.execute(uri: "/api/v1/applications/sandbox", method: .put, headers: headers, body: ByteBuffer(string: body))
            #expect(saved.status == .ok)
            #expect(try await !store.findings(FindingQuery(statuses: nil, application: "sandbox")).isEmpty, "findings follow the new application at once")
            let app = try Self.json(try await client.execute(uri: "/api/v1/applications/sandbox", method: .get, headers: fixture.bearer(.viewer)))
            #expect(app["resources"]?.intValue == 3 && app["application"]?["businessUnit"] == "corporate")
            // A unit still used by applications cannot go: 409 names the application.
            let conflict = try await client.execute(uri: "/api/v1/business-units/corporate", method: .delete, headers: fixture.bearer(.ccoe))
            #expect(conflict.status == .conflict && conflict.text.contains("business_unit 'corporate' is not defined"))
            let bad = try await client.execute(uri: "/api/v1/applications/x", method: .put, headers: headers, body: ByteBuffer(string: #"{"name": "X", "businessUnit": "corporate"}"#))
            #expect(try bad.status == .badRequest && Self.json(bad)["error"]?["field"] == "selector")
            let empty = try await client.execute(
                uri: "/api/v1/applications/x", method: .put, headers: headers,
                body: ByteBuffer(string: #"{"name": "X", "businessUnit": "corporate", "selector": {"tags": {}, "accounts": [], "types": [], "regions": []}}"#))
            #expect(empty.status == .conflict && empty.text.contains("selector is empty"))
            let entry = try #require(try await store.auditLog(limit: 20).first { $0.action == "application.save" })
            #expect(entry.actor == "user-ccoe" && entry.address == "unknown" && entry.target == "application/sandbox")
            let csv = try await client.execute(uri: "/api/v1/audit-log?format=csv&limit=5", method: .get, headers: fixture.bearer(.auditor))
            #expect(csv.status == .ok && csv.text.hasPrefix("id,at,actor,address,action,target,details,previous_hash,hash\n"))
        }
    }

    @Test func exceptionsNeedFourEyesAndSuppressFindingsAtOnce() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let finding = try #require(try await store.findings(FindingQuery(accounts: [String(fixture.inScope.split(separator: ":")[4])], statuses: [.new])).first)
            let body = #"{"check": "\#(finding.checkID)", "selector": "\#(finding.resourceUID)", "reason": "compensating control: vendor VPN", "days": 30}"#
            let created = try await client.execute(
                uri: "/api/v1/exceptions", method: .post, headers: fixture.bearer(.ccoe).merging([.contentType: "application/json"]), body: ByteBuffer(string: body))
            #expect(created.status == .created)
            let id = try #require(try Self.json(created)["id"]?.intValue)
            func decide(_ role: Role, _ decision: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/v1/exceptions/\(id)/decision", method: .post, headers: fixture.bearer(role).merging([.contentType: "application/json"]),
                    body: ByteBuffer(string: #"{"decision": "\#(decision)"}"#))
            }
            let own = try await decide(.ccoe, "approve")
            #expect(own.status == .conflict && own.text.contains("four-eyes"))
            #expect(try await decide(.buOwner, "approve").status == .forbidden)
            #expect(try await decide(.admin, "approve").status == .ok)
            #expect(try await store.findings(FindingQuery(uids: [finding.uid], statuses: nil)).first?.status == .suppressed)
            #expect(try await decide(.admin, "revoke").status == .ok)
            #expect(try await store.findings(FindingQuery(uids: [finding.uid], statuses: nil)).first?.status == .new)
            #expect(try await decide(.admin, "approve").status == .conflict, "a revoked exception cannot be approved")
        }
    }

    @Test func tokensAreShownOnceNarrowedAndRevocable() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let created = try await client.execute(
                uri: "/api/v1/tokens", method: .post, headers: fixture.bearer(.ccoe).merging([.contentType: "application/json"]),
                body: ByteBuffer(string: #"{"name": "siem", "role": "viewer", "days": 7}"#))
            #expect(created.status == .created && created.headers[.cacheControl] == "no-store")
            let secret = try #require(try Self.json(created)["secret"]?.stringValue)
            let id = try #require(try Self.json(created)["token"]?["id"]?.intValue)
            let viewer: HTTPFields = [.authorization: "Bearer \(secret)"]
            // It acts as a viewer, not as the CCoE engineer who made it.
            #expect(try await client.execute(uri: "/api/v1/scans", method: .get, headers: viewer).status == .ok)
            let request = #"{"check": "ec2.instance.imdsv1", "selector": "*", "reason": "x"}"#
            #expect(try await client.execute(uri: "/api/v1/exceptions", method: .post, headers: viewer.merging([.contentType: "application/json"]), body: ByteBuffer(string: request)).status == .forbidden)
            let listed = try await client.execute(uri: "/api/v1/tokens", method: .get, headers: fixture.bearer(.ccoe))
            #expect(!listed.text.contains(secret) && listed.text.contains("\"siem\""))
            #expect(try await client.execute(uri: "/api/v1/tokens/\(id)", method: .delete, headers: viewer).status == .forbidden, "a token cannot revoke itself")
            #expect(try await client.execute(uri: "/api/v1/tokens/\(id)", method: .delete, headers: fixture.bearer(.viewer)).status == .notFound, "nor can someone else's")
            #expect(try await client.execute(uri: "/api/v1/tokens/\(id)", method: .delete, headers: fixture.bearer(.ccoe)).status == .noContent)
            #expect(try await client.execute(uri: "/api/v1/scans", method: .get, headers: viewer).status == .unauthorized)
            let users = try await client.execute(uri: "/api/v1/users", method: .get, headers: fixture.bearer(.admin))
            #expect(!users.text.contains("$2") && users.text.contains("user-viewer"), "no password hash leaves the server")
        }
    }

    @Test func consoleEditsOwnershipWithLineNumberedErrorsAndRequestsExceptions() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let session = try #require(try await signIn(client, name: "user-ccoe", password: fixture.passwords["user-ccoe"]!))
            let cookie: HTTPFields = [.cookie: "canopy_session=\(session)"]
            let editor = try await client.execute(uri: "/business-units/edit", method: .get, headers: cookie)
            #expect(editor.status == .ok && editor.text.contains("scada-historian"))
            let csrf = try #require(editor.text.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            func post(_ path: String, _ form: String) async throws -> TestResponse {
                try await client.execute(
                    uri: path, method: .post, headers: cookie.merging([.contentType: "application/x-www-form-urlencoded"]), body: ByteBuffer(string: "csrf=\(csrf)&" + form))
            }
            let before = try await store.ownership()
            let broken = try await post("/business-units/edit", "yaml=" + encode("business_units:\n  - id: a\n    name: A\n    colour: red\n"))
            #expect(broken.status == .badRequest && broken.text.contains("ownership.yaml:4:13: business unit &#39;a&#39;: unknown field &#39;colour&#39;"))
            #expect(try await store.ownership() == before, "a bad file changes nothing")
            let renamed = try OwnershipFile.render(before).replacingOccurrences(of: "name: Corporate IT", with: "name: Corporate Services")
            #expect(try await post("/business-units/edit", "yaml=" + encode(renamed)).status == .seeOther)
            #expect(try await store.ownership().businessUnit("corporate")?.name == "Corporate Services")
            // Request an exception from the console; the requester's own approval is refused.
            let finding = try #require(try await store.findings(FindingQuery(statuses: [.new])).first)
            #expect(try await post("/exceptions", "check=\(encode(finding.checkID))&selector=\(encode(finding.resourceUID))&reason=change+CHG-1&days=30").status == .seeOther)
            let waiver = try #require(try await store.waivers().first { $0.requestedBy == "user-ccoe" })
            let own = try await post("/exceptions/decide", "id=\(waiver.id)&decision=approve")
            #expect(own.status == .badRequest && own.text.contains("four-eyes"))
            let page = try await client.execute(uri: "/units-do-not-exist", method: .get, headers: cookie)
            #expect(page.status == .notFound)
            let csv = try await client.execute(uri: "/audit/export.csv", method: .get, headers: cookie)
            #expect(csv.status == .forbidden, "the CCoE does not read the audit log; admin and auditor do")
        }
    }
}

extension GovernanceTests {
    @Test func theOneTimeBootstrapTokenCreatesTheFirstAdministratorOnce() async throws {
        let store = try SQLiteStore()
        var dependencies = ServerDependencies(
            store: store, engine: try ComplianceEngine.load(), configuration: ServerConfiguration(bcryptCost: 4, logLevel: .warning))
        let (token, secret) = BootstrapToken.make()
        dependencies.bootstrap = token
        try await buildApplication(dependencies).test(.router) { client in
            #expect(try await client.execute(uri: "/setup", method: .get).status == .ok)
            func setup(_ token: String, _ password: String) async throws -> HTTPResponse.Status {
                try await client.execute(
                    uri: "/setup", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "token=\(encode(token))&name=first-admin&password=\(encode(password))")
                ).status
            }
            #expect(try await setup("guessed", "a long enough password") == .badRequest)
            #expect(try await setup(secret, "short") == .badRequest, "a refused password leaves the token usable")
            #expect(try await setup(secret, "a long enough password") == .seeOther)
            #expect(try await setup(secret, "a long enough password") == .notFound, "the token works once")
            #expect(try await client.execute(uri: "/setup", method: .get).status == .notFound)
            #expect(try await signIn(client, name: "first-admin", password: "a long enough password") != nil)
            let log = try await store.auditLog(limit: 10)
            #expect(log.contains { $0.action == "user.create" && $0.actor == "bootstrap" } && log.contains { $0.action == "setup.refused" })
        }
    }

    @Test func metricsHaveTheScanDurationHistogram() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let text = try await client.execute(uri: "/metrics", method: .get).text
            #expect(text.contains("# TYPE canopy_scan_duration_seconds histogram") && text.contains("canopy_scan_duration_seconds_count 2"))
        }
    }
}

extension GovernanceTests {
    /// Cached pages follow the data: a change anyone makes (audited) shows on the next request,
    /// concurrent first requests share one rendering, and another session of the same user gets
    /// its own CSRF token in the forms.
    @Test func cachedPagesFollowChangesAndCarryEachSessionsToken() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let first = try #require(try await signIn(client, name: "user-ccoe", password: fixture.passwords["user-ccoe"]!))
            let second = try #require(try await signIn(client, name: "user-ccoe", password: fixture.passwords["user-ccoe"]!))
            let pages = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<16 { group.addTask { try await client.execute(uri: "/findings", method: .get, headers: [.cookie: "canopy_session=\(first)"]).text } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(pages).count == 1 && pages[0].contains("<h1>"))
            let finding = try #require(try await store.findings(FindingQuery(statuses: [.new])).first)
            #expect(!pages[0].contains("ticket-4711"))
            _ = try await store.triage(findingUID: finding.uid, status: .inProgress, assignee: "ticket-4711", note: nil, actor: "someone", at: Date())
            let after = try await client.execute(uri: "/findings", method: .get, headers: [.cookie: "canopy_session=\(first)"]).text
            #expect(after.contains("ticket-4711"), "the triage shows at once")
            let other = try await client.execute(uri: "/findings", method: .get, headers: [.cookie: "canopy_session=\(second)"]).text
            let tokens = Set(other.matches(of: /name="csrf" value="([^"]+)"/).map { String($0.1) })
            let firstTokens = Set(after.matches(of: /name="csrf" value="([^"]+)"/).map { String($0.1) })
            #expect(tokens.count == 1 && firstTokens.count == 1 && tokens != firstTokens, "each session's forms carry its own token")
        }
    }
}
