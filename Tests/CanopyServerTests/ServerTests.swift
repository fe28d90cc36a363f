import CanopyCompliance
import CanopyDemo
import CanopyModel
import CanopyServer
import CanopyStore
import CanopyTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Testing

/// The demo estate behind a server, with one user and API token per role.
struct Fixture: Sendable {
    let dependencies: ServerDependencies
    let tokens: [Role: String]
    let passwords: [String: String]
    /// A Generation-account resource (in the bu-owner's scope) and a Corporate one (outside it).
    let inScope: String
    let outOfScope: String

    /// - Parameter costs: also the demo's thirteen months of cost (slower; for the pages that show them).
    /// - Parameter security: also the demo's security week (lake activity, detections, imported findings).
    /// - Parameter path: a database file instead of memory (the SQL console needs one).
    /// - Parameter hosts: also the demo's on-prem hosts (recorded inventories, patch compliance).
    static func make(costs: Bool = false, security: Bool = false, hosts: Bool = false, path: String? = nil) async throws -> Fixture {
        let store = try path.map(SQLiteStore.init(path:)) ?? SQLiteStore()
        try await DemoRecording.bundled().load(into: store)
        let engine = try ComplianceEngine.load()
        try await DemoGovernance.prepare(store: store, engine: engine)
        if security {
            _ = try await DemoSecurity.load(into: store, box: .ephemeral(), end: try await store.scans(limit: 1).first?.finishedAt ?? Date())
        }
        if hosts {
            _ = try await DemoHosts.load(into: store, engine: engine, end: try await store.scans(limit: 1).first?.finishedAt ?? Date())
        }
        if costs {
            _ = try await DemoCosts.load(into: store, end: try await store.scans(limit: 1).first?.finishedAt ?? Date())
            try await store.save(Budget(id: "gen", name: "Generation", scope: .businessUnit, target: "generation", amount: 2_050), actor: "test")
        }
        var tokens: [Role: String] = [:]
        var passwords: [String: String] = [:]
        for role in Role.allCases {
            let name = "user-\(role.rawValue)"
            let password = "correct horse \(role.rawValue)"
            let user = try await store.createUser(
                name: name, passwordHash: Bcrypt.hash(password, cost: 4), role: role,
                businessUnits: role == .buOwner ? ["generation"] : [], actor: "test")
            let token = Secrets.token()
            _ = try await store.createAPIToken(name: "t-\(role.rawValue)", userID: user.id, role: nil, tokenHash: Secrets.hash(token), expiresAt: Date().addingTimeInterval(3_600), actor: "test")
            tokens[role] = token
            passwords[name] = password
        }
        let accounts = try await store.accounts()
        let generation = try #require(accounts.first { $0.organizationalUnit == "Generation" }?.id)
        let corporate = try #require(accounts.first { $0.organizationalUnit == "Corporate" }?.id)
        let inScope = try #require(try await store.resources(ResourceQuery(types: ["aws.ec2"], accounts: [generation], limit: 1)).first?.uid)
        let outOfScope = try #require(try await store.resources(ResourceQuery(types: ["aws.ec2"], accounts: [corporate], limit: 1)).first?.uid)
        let dependencies = ServerDependencies(store: store, engine: engine, configuration: ServerConfiguration(bcryptCost: 4, loginAttempts: 3, logLevel: .warning))
        return Fixture(dependencies: dependencies, tokens: tokens, passwords: passwords, inScope: inScope, outOfScope: outOfScope)
    }

    func bearer(_ role: Role) -> HTTPFields { [.authorization: "Bearer \(tokens[role]!)"] }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    func cookie(_ name: String) -> String? {
        headers[values: .setCookie].first { $0.hasPrefix("\(name)=") }.map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }
}

func encode(_ query: String) -> String { query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query }

/// Signs in through the login form; returns the session cookie.
func signIn(_ client: some TestClientProtocol, name: String, password: String) async throws -> String? {
    let form = try await client.execute(uri: "/login", method: .get)
    let login = try #require(form.cookie("canopy_login"))
    let csrf = try #require(form.text.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
    let body = "csrf=\(csrf)&name=\(encode(name))&password=\(encode(password))&next=%2Ffindings"
    let response = try await client.execute(
        uri: "/login", method: .post, headers: [.cookie: "canopy_login=\(login)", .contentType: "application/x-www-form-urlencoded"],
        body: ByteBuffer(string: body))
    return response.status == .seeOther ? response.cookie("canopy_session") : nil
}

@Suite(.serialized) struct ServerTests {
    @Test func theCatalogueHasEveryKeyInBothLanguages() {
        #expect(!Catalogue.builtIn.entries.isEmpty)
        #expect(Catalogue.builtIn.incompleteKeys.isEmpty, "\(Catalogue.builtIn.incompleteKeys)")
        #expect(Language.negotiate("zh-TW,zh;q=0.9,en;q=0.8") == .zhTW)
        #expect(Language.negotiate("en-GB,en;q=0.9") == .en)
        #expect(Language.negotiate("fr;q=0.9, zh-Hant;q=0.5") == .zhTW)
    }

    @Test func signInThenEveryPageRendersInBothLanguagesWithoutMissingKeys() async throws {
        let fixture = try await Fixture.make(costs: true, security: true, hosts: true)
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let anonymous = try await client.execute(uri: "/findings", method: .get)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/login?next=/findings")
            let session = try #require(try await signIn(client, name: "user-admin", password: fixture.passwords["user-admin"]!))
            let pages = ["/", "/inventory", "/findings", "/compliance", "/compliance/nerc-cip", "/compliance/tw-ics-protection-baseline?level=%E4%B8%AD", "/scans", "/audit", "/resource?uid=\(encode(fixture.inScope))",
                "/business-units", "/business-units/generation", "/applications/scada-historian", "/business-units/edit", "/exceptions",
                "/scans/diff?from=1&to=2", "/settings", "/inventory?unit=generation&application=-&provider=aws", "/findings?unit=corporate&severity=high",
                "/costs", "/costs?by=bu&month=2026-10&metric=effective", "/costs/chargeback?unit=generation&month=2026-10",
                "/costs?by=app&month=2026-10", "/costs?by=category:Cost%20pool&month=2026-10", "/costs?by=tag:env&month=2026-10",
                "/carbon", "/carbon?by=bu&month=2026-10", "/carbon?by=app&app=turbine-analytics&toRegion=eu-north-1", "/lake", "/lake?q=eventName%3DStopLogging",
                "/security", "/security?class=detection&severity=high&unit=generation", "/security?overdue=1&status=all", "/hosts"]
            // The demo's allocation rules, so the category view has categories to show.
            let allocation = try DemoGovernance.allocation()
            _ = try await fixture.dependencies.store.applyAllocation(allocation.rules, source: allocation.source, actor: "test")
            for language in Language.allCases {
                for page in pages {
                    let separator = page.contains("?") ? "&" : "?"
                    let response = try await client.execute(uri: page + separator + "lang=\(language.rawValue)", method: .get, headers: [.cookie: "canopy_session=\(session)"])
                    #expect(response.status == .ok, "\(page) in \(language)")
                    #expect(!response.text.contains("⟦"), "untranslated key on \(page) in \(language): \(response.text.firstMatch(of: /⟦[^⟧]+⟧/).map { String($0.0) } ?? "")")
                    #expect(response.text.contains("lang=\"\(language.htmlTag)\""))
                    #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                }
            }
            let chinese = try await client.execute(uri: "/?lang=zh-TW", method: .get, headers: [.cookie: "canopy_session=\(session)"])
            #expect(chinese.text.contains("治理總覽") && chinese.text.contains("<svg") && chinese.text.contains("<title"))
            #expect(chinese.cookie("canopy_lang") == "zh-TW")
            let report = try await client.execute(uri: "/compliance/nerc-cip/report?format=csv", method: .get, headers: [.cookie: "canopy_session=\(session)"])
            #expect(report.status == .ok && report.text.hasPrefix("framework,requirement"))
        }
    }

    @Test func repeatedFailedLoginsLockTheAccount() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            for _ in 0..<3 { #expect(try await signIn(client, name: "user-viewer", password: "wrong password") == nil) }
            #expect(try await signIn(client, name: "user-viewer", password: fixture.passwords["user-viewer"]!) == nil, "locked after 3 failures")
            let log = try await fixture.dependencies.store.auditLog(limit: 10).map(\.action)
            #expect(log.filter { $0 == "session.login-failed" }.count == 3)
        }
    }

    @Test func badInputIsNamedAndUnknownPathsAreRealNotFounds() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            let bad = try await client.execute(uri: "/api/v1/findings?limit=abc", method: .get, headers: fixture.bearer(.ccoe))
            #expect(bad.status == .badRequest)
            let error = try JSONValue.parse(Data(bad.text.utf8))
            #expect(error["error"]?["field"] == "limit" && error["error"]?["code"] == "bad_parameter")
            #expect(try await client.execute(uri: "/api/v1/findings?severity=huge", method: .get, headers: fixture.bearer(.ccoe)).status == .badRequest)
            #expect(try await client.execute(uri: "/api/v1/findings?cursor=%F3%9D", method: .get, headers: fixture.bearer(.ccoe)).status == .ok)
            let wrongMethod = try await client.execute(uri: "/api/v1/findings", method: .delete, headers: fixture.bearer(.ccoe))
            #expect(wrongMethod.status == .methodNotAllowed && wrongMethod.headers[.allow] == "GET")
            let page = try await client.execute(uri: "/no/such/page", method: .get)
            #expect(page.status == .notFound && page.text.contains("<h1>"))
            let api = try await client.execute(uri: "/api/v1/nothing", method: .get, headers: fixture.bearer(.ccoe))
            #expect(api.status == .notFound && api.text.contains("\"not_found\""))
            let huge = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: String(repeating: "a", count: 200_000)))
            #expect(huge.status == .contentTooLarge)
            let unauthenticated = try await client.execute(uri: "/api/v1/scans", method: .get)
            #expect(unauthenticated.status == .unauthorized && unauthenticated.text.contains("\"unauthenticated\""))
        }
    }

    @Test func pagesWalkTheWholeListWithCursors() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            var cursor: String?
            var seen: [String] = []
            repeat {
                let uri = "/api/v1/resources?type=ec2&limit=7" + (cursor.map { "&cursor=\(encode($0))" } ?? "")
                let page = try JSONValue.parse(Data(try await client.execute(uri: uri, method: .get, headers: fixture.bearer(.viewer)).text.utf8))
                seen += (page["items"]?.arrayValue ?? []).compactMap { $0["uid"]?.stringValue }
                cursor = page["nextCursor"]?.stringValue
            } while cursor != nil
            #expect(seen.count == 50 && Set(seen).count == 50 && seen == seen.sorted())
        }
    }

    /// Every role × every endpoint × an object in and out of a bu-owner's scope.
    @Test func authorisationMatrix() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func status(_ role: Role?, _ uri: String) async throws -> HTTPResponse.Status {
                try await client.execute(uri: uri, method: .get, headers: role.map(fixture.bearer) ?? [:]).status
            }
            let inScope = "/api/v1/resource?uid=\(encode(fixture.inScope))"
            let outOfScope = "/api/v1/resource?uid=\(encode(fixture.outOfScope))"
            let readable = ["/api/v1/scans", "/api/v1/resources", "/api/v1/findings", "/api/v1/frameworks", "/api/v1/compliance/nerc-cip", inScope]
            for role in Role.allCases {
                for uri in readable { #expect(try await status(role, uri) == .ok, "\(role) \(uri)") }
                #expect(try await status(role, outOfScope) == (role == .buOwner ? .notFound : .ok), "\(role) out of scope")
                #expect(try await status(role, "/api/v1/audit-log") == (role.canReadAuditLog ? .ok : .forbidden), "\(role) audit log")
            }
            for uri in readable + ["/api/v1/audit-log"] { #expect(try await status(nil, uri) == .unauthorized, "anonymous \(uri)") }
            // A bu-owner's lists hold only their business unit's accounts.
            let generation = Set(try await fixture.dependencies.store.accounts().filter { $0.organizationalUnit == "Generation" }.map(\.id))
            for uri in ["/api/v1/resources?limit=1000", "/api/v1/findings?limit=1000&status=all"] {
                let page = try JSONValue.parse(Data(try await client.execute(uri: uri, method: .get, headers: fixture.bearer(.buOwner)).text.utf8))
                let accounts = Set((page["items"]?.arrayValue ?? []).compactMap { $0["account"]?.stringValue })
                #expect(!accounts.isEmpty && accounts.isSubset(of: generation), "\(uri): \(accounts)")
            }
            let scans = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/scans", method: .get, headers: fixture.bearer(.buOwner)).text.utf8))
            let scanAccounts = Set((scans.arrayValue ?? []).flatMap { ($0["scope"]?["accounts"]?.arrayValue ?? []).compactMap(\.stringValue) })
            #expect(!scanAccounts.isEmpty && scanAccounts.isSubset(of: generation), "scans show only the owner's accounts: \(scanAccounts)")
            let ownerFindings = try JSONValue.parse(Data(try await client.execute(uri: "/api/v1/findings?account=\(fixture.outOfScope.split(separator: ":")[4])", method: .get, headers: fixture.bearer(.buOwner)).text.utf8))
            #expect(ownerFindings["items"]?.arrayValue?.isEmpty == true, "asking for another unit's account yields nothing")
        }
    }

    @Test func consoleTriageNeedsTheRightRoleScopeAndCSRF() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        let generation = Set(try await store.accounts().filter { $0.organizationalUnit == "Generation" }.map(\.id))
        let findings = try await store.findings(FindingQuery(statuses: [.new]))
        let mine = try #require(findings.first { generation.contains($0.account) })
        let theirs = try #require(findings.first { !generation.contains($0.account) })
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func triage(_ user: String, _ uid: String, csrf: String? = nil) async throws -> HTTPResponse.Status {
                let session = try #require(try await signIn(client, name: user, password: fixture.passwords[user]!))
                let page = try await client.execute(uri: "/findings", method: .get, headers: [.cookie: "canopy_session=\(session)"])
                let token = csrf ?? (page.text.firstMatch(of: /name="csrf" value="([^"]+)"/).map { String($0.1) } ?? "")
                return try await client.execute(
                    uri: "/findings/triage", method: .post,
                    headers: [.cookie: "canopy_session=\(session)", .contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "csrf=\(token)&uid=\(mine.uid == uid ? mine.uid : uid)&status=in_progress&assignee=ops")
                ).status
            }
            #expect(try await triage("user-bu-owner", mine.uid) == .seeOther)
            #expect(try await triage("user-bu-owner", theirs.uid) == .notFound)
            #expect(try await triage("user-viewer", mine.uid) == .forbidden)
            #expect(try await triage("user-ccoe", theirs.uid, csrf: "forged") == .forbidden)
            let inProgress = try await store.findings(FindingQuery(statuses: [.inProgress])).map(\.uid)
            #expect(inProgress == [mine.uid])
            let log = try await store.auditLog(limit: 50)
            #expect(log.contains { $0.action == "finding.triage" && $0.actor == "user-bu-owner" })
        }
    }

    @Test func operationsEndpointsAndTheOpenAPIDocument() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.text.contains("canopy_open_findings{severity=\"critical\"}") && metrics.text.contains("canopy_resources "))
            #expect(metrics.text.contains("canopy_http_requests_total{method=\"GET\",status=\"200\"}") && metrics.text.contains("canopy_http_request_duration_seconds_bucket"))
            let spec = try await client.execute(uri: "/api/v1/openapi.yaml", method: .get)
            #expect(spec.status == .ok && spec.text.hasPrefix("openapi: 3.1.0"))
            for path in ["/scans:", "/resources:", "/resource:", "/findings:", "/frameworks:", "/compliance/{framework}:", "/audit-log:"] {
                #expect(spec.text.contains("\n  \(path)"), "OpenAPI document lacks \(path)")
            }
            #expect(try await client.execute(uri: "/static/canopy.css", method: .get).status == .ok)
        }
    }
}

/// schemathesis (PyPI) against a live server and its own OpenAPI document: every operation,
/// generated valid and invalid inputs, all of its checks.
extension LiveServerTests {
@Suite struct OpenAPIConformanceTests {
    static let isAvailable: Bool = toolAnswers(["schemathesis", "--version"])

    @Test(.enabled(if: isAvailable, "needs schemathesis from PyPI"))
    func schemathesisFindsNoFailures() async throws {
        let fixture = try await Fixture.make()
        try await buildApplication(fixture.dependencies).test(.live) { client in
            let port = try #require(client.port)
            let base = "http://127.0.0.1:\(port)/api/v1"
            let (status, text) = try await runTool([
                "schemathesis", "run", "\(base)/openapi.yaml", "--url", base, "-H", "Authorization: Bearer \(fixture.tokens[.auditor]!)",
                "--max-examples", "40", "--seed", "20261129", "--no-color", "--workers", "1", "--request-timeout", "60",
                // Arbitrary SQL text is schema-valid, and SQLite rightly refuses most of it with a 400;
                // LakeSQLTests and LakeAPITests cover that endpoint.
                "--exclude-path", "/lake/sql",
            ])
            #expect(status == 0, "schemathesis reported failures:\n\(text.suffix(4_000))")
        }
    }
}
}

/// The console in a real browser: headless Chromium (Debian's chromium and chromium-driver)
/// driven by selenium (PyPI) through `Scripts/browser-check.py`. Screenshots go to
/// `CANOPY_ARTEFACTS` (default `.build/artefacts/screenshots`).
extension LiveServerTests {
@Suite struct BrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/browser-check.py")

    static let isAvailable: Bool = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else {
            return false
        }
        return toolAnswers(["python3", "-c", "import selenium"])
    }()

    @Test(.enabled(if: isAvailable, "needs chromium and chromium-driver (Debian) and selenium (PyPI)"))
    func everyPageWorksInBothLanguagesInChromium() async throws {
        let fixture = try await Fixture.make(costs: true, security: true, hosts: true)
        let artefacts = ProcessInfo.processInfo.environment["CANOPY_ARTEFACTS"]
            ?? Self.script.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/artefacts/screenshots").path
        try await buildApplication(fixture.dependencies).test(.live) { client in
            let port = try #require(client.port)
            let (status, text) = try await runTool(["python3", Self.script.path, "http://127.0.0.1:\(port)", "user-admin", fixture.passwords["user-admin"]!, artefacts])
            #expect(status == 0, "browser check:\n\(text.suffix(4_000))")
            #expect(text.contains("42 pages checked, 0 problems"))
        }
    }
}
}

/// Runs an outside tool (through env) to completion: its exit status and everything it printed.
/// Awaited, not waited for: the server under test needs the concurrency threads meanwhile.
func runTool(_ arguments: [String]) async throws -> (Int32, String) {
    let result = try await Subprocess.run(arguments, mergeStderr: true)
    return (result.status, result.text)
}

/// For `.enabled(if:)`, evaluated once before any server starts.
func toolAnswers(_ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// The tests that run a live server and an outside client (schemathesis, Chromium), one at a
/// time: under parallel load their clients time out.
@Suite(.serialized) struct LiveServerTests {}
