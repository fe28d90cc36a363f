import CanopyCompliance
import CanopyDemo
import CanopyLake
import CanopyModel
import CanopySecurity
import CanopyStore
import CanopyTestSupport
import Crypto
import Foundation
import Testing

enum Fixtures {
    /// The demo's findings files (a Security Hub export, Prowler OCSF, a Trivy report) are the fixtures.
    static let directory = Corpus.root.appendingPathComponent("Sources/CanopyDemo/Resources/security")
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    static let schema = Corpus.root.appendingPathComponent("Tests/CanopySecurityTests/Fixtures/ocsf-1.3.0-schema.json.gz").path
    static let bastion = "arn:aws:ec2:us-east-1:599006413549:instance/i-c566b54c659b253c9"
    static let publicBucket = "arn:aws:s3:::gridco-gridops-outage-maps-public"
    static let image = "599006413549.dkr.ecr.us-east-1.amazonaws.com/scada-historian:2.4.1"

    /// The demo estate with its ownership and guardrail findings.
    static func demoStore() async throws -> SQLiteStore {
        let store = try SQLiteStore()
        try await DemoRecording.bundled().load(into: store)
        try await DemoGovernance.prepare(store: store, engine: try ComplianceEngine.load())
        return store
    }

    static func write(_ text: String, _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-findings-\(UUID().uuidString)-\(name)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Runs Scripts/ocsf-validate.py (the OCSF 1.3.0 schema, compiled by ocsf-lib) over events.
    static func validateOCSF(_ events: [JSONValue]) async throws -> Subprocess.Result {
        let file = try write(JSONValue.array(events).canonicalJSON(), "ocsf.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try await Subprocess.run(["python3", Corpus.root.appendingPathComponent("Scripts/ocsf-validate.py").path, schema, file], mergeStderr: true)
    }
}

@Suite struct FindingsHubTests {
    @Test func everySourceImportsIntoOneModel() throws {
        let asff = try FindingImport.read(path: Fixtures.path("asff-securityhub-export.json"))
        #expect(asff.format == .asff && asff.findings.count == 3)
        let byProduct = Dictionary(uniqueKeysWithValues: asff.findings.map { ($0.source, $0) })
        let guardDuty = try #require(byProduct["GuardDuty"])
        #expect(guardDuty.findingClass == .detection && guardDuty.severityID == 4 && guardDuty.resourceUID == Fixtures.bastion)
        #expect(guardDuty.ruleID == "Backdoor:EC2-C&CActivity.B!DNS" && guardDuty.account == "599006413549")
        #expect(Timestamps.iso8601(guardDuty.firstSeen) == "2026-11-27T03:12:44.000Z")
        let inspector = try #require(byProduct["Inspector"])
        #expect(inspector.findingClass == .vulnerability && inspector.ruleID == "CVE-2024-6387" && inspector.severityID == 5 && inspector.region == "us-east-1")
        let control = try #require(byProduct["Security Hub"])
        #expect(control.findingClass == .compliance && control.ruleID == "S3.8" && control.status == .inProgress)

        let prowler = try FindingImport.read(path: Fixtures.path("prowler-ocsf.json"))
        #expect(prowler.format == .ocsf && prowler.findings.map(\.source) == ["Prowler", "Prowler"])
        #expect(prowler.findings[0].ruleID == "s3_bucket_public_access" && prowler.findings[0].status == .new && prowler.findings[0].severityID == 5)
        #expect(prowler.findings[1].status == .resolved)  // PASS
        // Prowler writes seconds where OCSF says milliseconds; the _dt twin settles it.
        #expect(Timestamps.iso8601(prowler.findings[0].lastSeen) == "2026-11-28T03:20:00.000Z")

        let trivy = try FindingImport.read(path: Fixtures.path("trivy-image.json"))
        #expect(trivy.format == .trivy && trivy.findings.count == 3 && trivy.findings.allSatisfy { $0.resourceUID == Fixtures.image && $0.findingClass == .vulnerability })
        #expect(Set(trivy.findings.map(\.ruleID)) == ["CVE-2024-6387", "CVE-2023-50495", "CVE-2024-35195"])

        // NDJSON is OCSF too.
        let lines = try (LakeJSON.parse(Data(contentsOf: URL(fileURLWithPath: Fixtures.path("prowler-ocsf.json")))).arrayValue ?? []).map { $0.canonicalJSON() }
        let ndjson = try FindingImport.parse(Data((lines.joined(separator: "\n") + "\n").utf8), file: "p.ndjson")
        #expect(ndjson.findings.map(\.uid) == prowler.findings.map(\.uid))
    }

    @Test func reimportUpdatesInPlaceOnlyWhenNewer() async throws {
        let store = try SQLiteStore()
        let first = try await FindingImport.importFile(path: Fixtures.path("asff-securityhub-export.json"), name: "export.json", store: store, skipBad: false, actor: "t")
        #expect(first.saved == SecurityFindingSave(added: 3))
        let again = try await FindingImport.importFile(path: Fixtures.path("asff-securityhub-export.json"), name: "export.json", store: store, skipBad: false, actor: "t")
        #expect(again.saved == SecurityFindingSave(unchanged: 3))

        // GuardDuty updates its finding: newer UpdatedAt and LastObservedAt, archived.
        var document = try LakeJSON.parse(Data(contentsOf: URL(fileURLWithPath: Fixtures.path("asff-securityhub-export.json"))))
        var findings = document["Findings"]?.arrayValue ?? []
        findings[0] = findings[0].merging([
            "UpdatedAt": "2026-11-29T09:00:00.000Z", "LastObservedAt": "2026-11-29T08:55:00.000Z", "RecordState": "ARCHIVED",
        ])
        // And an older copy of the Inspector finding arrives late: ignored.
        findings[1] = findings[1].merging(["UpdatedAt": "2026-11-21T00:00:00.000Z", "Title": "stale"])
        document = document.merging(["Findings": .array(findings)])
        let newer = try Fixtures.write(document.canonicalJSON(), "newer.json")
        defer { try? FileManager.default.removeItem(atPath: newer) }
        let update = try await FindingImport.importFile(path: newer, name: "newer.json", store: store, skipBad: false, actor: "t")
        #expect(update.saved == SecurityFindingSave(updated: 1, unchanged: 2))
        let stored = try await store.securityFindings(SecurityFindingFilter(), limit: nil)
        #expect(stored.count == 3)
        let guardDuty = try #require(stored.first { $0.source == "GuardDuty" })
        #expect(guardDuty.status == .resolved && Timestamps.iso8601(guardDuty.lastSeen) == "2026-11-29T08:55:00.000Z")
        #expect(Timestamps.iso8601(guardDuty.firstSeen) == "2026-11-27T03:12:44.000Z")
        #expect(stored.first { $0.source == "Inspector" }?.title == "CVE-2024-6387 - openssh-server")
        let audit = try await store.auditLog(limit: 10).filter { $0.action == "findings.import" }
        #expect(audit.count == 2)  // the import that changed nothing is not an event
    }

    @Test func aNewerTrivyReportResolvesWhatItNoLongerLists() async throws {
        let store = try SQLiteStore()
        _ = try await FindingImport.importFile(path: Fixtures.path("trivy-image.json"), name: "scan-1.json", store: store, skipBad: false, actor: "t")
        var report = try LakeJSON.parse(Data(contentsOf: URL(fileURLWithPath: Fixtures.path("trivy-image.json"))))
        var results = report["Results"]?.arrayValue ?? []
        results.removeLast()  // requests upgraded: CVE-2024-35195 gone
        report = report.merging(["Results": .array(results), "CreatedAt": "2026-11-29T06:00:00Z"])
        let next = try Fixtures.write(report.canonicalJSON(), "scan-2.json")
        defer { try? FileManager.default.removeItem(atPath: next) }
        let done = try await FindingImport.importFile(path: next, name: "scan-2.json", store: store, skipBad: false, actor: "t")
        #expect(done.resolved == 1 && done.saved.updated == 3)
        let stored = try await store.securityFindings(SecurityFindingFilter(sources: ["Trivy"]), limit: nil)
        #expect(stored.filter { $0.status == .resolved }.map(\.ruleID) == ["CVE-2024-35195"])
        #expect(stored.filter { $0.status == .new }.count == 2)
    }

    @Test func badInputNamesFileFindingAndFieldAndStoresNothing() async throws {
        func problem(_ text: String, skip: Bool = false) -> String {
            do {
                let result = try FindingImport.parse(Data(text.utf8), file: "in.json", skipBad: skip)
                return "read \(result.findings.count), skipped \(result.skipped.map(\.description))"
            } catch { return "\(error)" }
        }
        let asff = try String(contentsOfFile: Fixtures.path("asff-securityhub-export.json"), encoding: .utf8)
        let noAccount = asff.replacingOccurrences(of: "\"AwsAccountId\": \"751136107545\",", with: "")
        #expect(problem(noAccount) == "in.json: finding 2: AwsAccountId: is missing")
        #expect(problem(noAccount, skip: true) == "read 2, skipped [\"in.json: finding 2: AwsAccountId: is missing\"]")
        #expect(problem(asff.replacingOccurrences(of: "\"Label\": \"CRITICAL\"", with: "\"Label\": \"SEVERE\"")).contains("finding 1: Severity.Label: 'SEVERE' is not"))
        #expect(problem(asff.replacingOccurrences(of: "2026-11-20T08:05:00.000Z", with: "yesterday")).contains("finding 1: CreatedAt: 'yesterday' is not an ISO 8601 time"))
        #expect(problem(#"{"Findings": [{"SchemaVersion": "2018-10-08"}]}"#) == "in.json: finding 0: Id: is missing")
        #expect(problem(#"[{"class_uid": 2004, "finding_info": {"title": "x"}, "severity_id": 3, "time": 1}]"#) == "in.json: finding 0: finding_info.uid: is missing")
        #expect(problem(#"[{"class_uid": 3002, "finding_info": {"uid": "a", "title": "x"}}]"#).contains("3002 is not a finding class"))
        #expect(problem(#"{"ArtifactName": "img", "Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p", "Severity": "DIRE"}]}]}"#).contains("finding 0: Severity: 'DIRE'"))
        #expect(problem("{\"Findings\": [").contains("line 1 is not valid JSON"))
        #expect(problem(#"{"hello": 1}"#).contains("is neither ASFF"))

        let store = try SQLiteStore()
        let bad = try Fixtures.write(noAccount, "bad.json")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        await #expect(throws: FindingInputError.self) {
            _ = try await FindingImport.importFile(path: bad, name: "bad.json", store: store, skipBad: false, actor: "t")
        }
        #expect(try await store.securityFindings(SecurityFindingFilter(), limit: nil).isEmpty)
        let truncated = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-\(UUID().uuidString).json.gz")
        try Data([0x1f, 0x8b, 0x08, 0x00, 0x00]).write(to: truncated)
        defer { try? FileManager.default.removeItem(at: truncated) }
        #expect(throws: FindingInputError.self) { try FindingImport.read(path: truncated.path, name: "cut.json.gz") }
    }

    @Test func findingsAreEnrichedAndCorrelatedAcrossSourcesAndGuardrails() async throws {
        let store = try await Fixtures.demoStore()
        for file in ["asff-securityhub-export.json", "prowler-ocsf.json", "trivy-image.json"] {
            _ = try await FindingImport.importFile(path: Fixtures.path(file), name: file, store: store, skipBad: false, actor: "t")
        }
        let now = Timestamps.parse("2026-11-29T12:00:00Z")!
        let views = try await FindingsHub.list(store: store, FindingsHub.Selection(), now: now)
        let inspector = try #require(views.first { $0.finding.source == "Inspector" })
        #expect(inspector.context.accountName == "gridco-generation-prod" && inspector.context.businessUnit == "generation")
        #expect(inspector.context.application == "plant-dcs-gateway" && inspector.context.criticality == "tier-1" && inspector.context.environment == "prod")
        #expect(inspector.context.inInventory && inspector.context.owners.contains("ot-platform@gridco.example"))
        #expect(inspector.reasons.contains("also reported by GuardDuty"))
        #expect(inspector.reasons.contains { $0.hasPrefix("the resource also fails guardrail") })
        #expect(inspector.priority == 5 && inspector.overdue)  // critical: due a day after 2026-11-20

        let guardDuty = try #require(views.first { $0.finding.source == "GuardDuty" })
        #expect(guardDuty.finding.severityID == 4 && guardDuty.priority == 5 && !guardDuty.overdue)
        #expect(guardDuty.reasons.contains { $0.contains("Inspector") })

        // A finding nobody else reports, on a resource without guardrail failures, is not raised.
        let trivy = try #require(views.first { $0.finding.ruleID == "CVE-2023-50495" })
        #expect(trivy.reasons.isEmpty && trivy.priority == trivy.finding.severityID && !trivy.context.inInventory)

        // Most urgent first; guardrail findings are in the same list.
        #expect(views.first?.priority == 5)
        #expect(views.contains { $0.finding.source == FindingsHub.guardrailSource })
        let generation = try await FindingsHub.list(store: store, FindingsHub.Selection(businessUnit: "generation", application: "plant-dcs-gateway"), now: now)
        #expect(!generation.isEmpty && generation.allSatisfy { $0.context.application == "plant-dcs-gateway" })
    }

    @Test func suppressionRulesHideNothingAndExpire() async throws {
        let store = try await Fixtures.demoStore()
        _ = try await FindingImport.importFile(path: Fixtures.path("trivy-image.json"), name: "t.json", store: store, skipBad: false, actor: "t")
        let now = Timestamps.parse("2026-11-29T12:00:00Z")!
        let rule = FindingSuppression(
            source: "Trivy", ruleID: "CVE-2023-50495", reason: "ncurses is not reachable from the historian's entry points", expiresAt: now.addingTimeInterval(30 * 86_400),
            createdBy: "analyst", createdAt: now)
        #expect(FindingsHub.problem(with: rule, now: now) == nil)
        #expect(FindingsHub.problem(with: FindingSuppression(reason: "x", expiresAt: now.addingTimeInterval(60), createdBy: "a", createdAt: now), now: now) != nil)
        #expect(FindingsHub.problem(with: FindingSuppression(source: "Trivy", reason: " ", expiresAt: now.addingTimeInterval(60), createdBy: "a", createdAt: now), now: now) != nil)
        #expect(FindingsHub.problem(with: FindingSuppression(source: "Trivy", reason: "r", expiresAt: now.addingTimeInterval(400 * 86_400), createdBy: "a", createdAt: now), now: now) != nil)
        let saved = try await store.saveFindingSuppression(rule, actor: "analyst")
        var views = try await FindingsHub.list(store: store, FindingsHub.Selection(filter: SecurityFindingFilter(sources: ["Trivy"])), now: now)
        let suppressed = try #require(views.first { $0.finding.ruleID == "CVE-2023-50495" })
        #expect(suppressed.status == .suppressed && suppressed.suppression?.id == saved.id && suppressed.dueAt == nil)
        #expect(views.filter { $0.status == .suppressed }.count == 1)
        let open = try await FindingsHub.list(store: store, FindingsHub.Selection(filter: SecurityFindingFilter(sources: ["Trivy"]), openOnly: true), now: now)
        #expect(open.count == 2)
        // After expiry it is open again.
        views = try await FindingsHub.list(store: store, FindingsHub.Selection(filter: SecurityFindingFilter(sources: ["Trivy"])), now: now.addingTimeInterval(31 * 86_400))
        #expect(views.allSatisfy { $0.status == .new })
        #expect(try await store.deleteFindingSuppression(id: saved.id, actor: "analyst"))
        let actions = try await store.auditLog(limit: 20).map(\.action)
        #expect(actions.contains("findings.suppress") && actions.contains("findings.unsuppress"))
    }

    @Test func triageIsAuditedAndSurvivesReimport() async throws {
        let store = try SQLiteStore()
        _ = try await FindingImport.importFile(path: Fixtures.path("asff-securityhub-export.json"), name: "e.json", store: store, skipBad: false, actor: "t")
        let guardDuty = try #require(try await store.securityFindings(SecurityFindingFilter(sources: ["GuardDuty"]), limit: nil).first)
        let triaged = try await store.triageSecurityFinding(uid: guardDuty.uid, status: .inProgress, assignee: "soc-analyst-2", note: "isolating the instance", actor: "soc-lead")
        #expect(triaged.status == .inProgress && triaged.assignee == "soc-analyst-2")
        let entry = try #require(try await store.auditLog(limit: 5).first { $0.action == "findings.triage" })
        #expect(entry.actor == "soc-lead" && entry.details["before"]?["status"]?.stringValue == "new")
        // The source reports it again, newer and still NEW: the analyst's work stays.
        var document = try LakeJSON.parse(Data(contentsOf: URL(fileURLWithPath: Fixtures.path("asff-securityhub-export.json"))))
        var findings = document["Findings"]?.arrayValue ?? []
        findings[0] = findings[0].merging(["UpdatedAt": "2026-11-29T09:00:00.000Z"])
        document = document.merging(["Findings": .array(findings)])
        let newer = try Fixtures.write(document.canonicalJSON(), "newer.json")
        defer { try? FileManager.default.removeItem(atPath: newer) }
        _ = try await FindingImport.importFile(path: newer, name: "n.json", store: store, skipBad: false, actor: "t")
        let after = try #require(try await store.securityFinding(uid: guardDuty.uid))
        #expect(after.status == .inProgress && after.assignee == "soc-analyst-2" && after.note == "isolating the instance")
        await #expect(throws: StoreError.self) { _ = try await store.triageSecurityFinding(uid: "nope", status: nil, assignee: "a", note: nil, actor: "x") }
    }

    @Test func detectionsAttachTheirEventsAndDeduplicatePerWindow() async throws {
        let store = try SQLiteStore()
        let box = try SecretBox(key: SymmetricKey(size: .bits256))
        let signer = try await LakeSigner.load(store: store, box: box)
        let detector = Detector(rules: try BuiltInRules.load())
        var total = SecurityFindingSave()
        for file in try Corpus.stratusFiles() {
            let done = try await ActivityDetection.importFile(
                path: (Corpus.stratus as NSString).appendingPathComponent(file), name: file, store: store, signer: signer, detector: detector, skipBad: false, actor: "t")
            total.added += done.detections.added
        }
        // The Stratus detonations fire six built-in rules once each (see SigmaTests).
        #expect(total.added == 6)
        let detections = try await store.securityFindings(SecurityFindingFilter(findingClass: .detection), limit: nil)
        #expect(detections.count == 6 && detections.allSatisfy { $0.eventCount == 1 && $0.principal?.hasPrefix("arn:aws:") == true && !$0.techniques.isEmpty })
        let stop = try #require(detections.first { $0.title == "CloudTrail Logging Stopped or Trail Deleted" && $0.account == "143434273843" })
        let events = try await store.securityFindingEvents(uid: stop.uid)
        #expect(events.count == 1)
        #expect(try await store.lakeEvents(LakeFilter(clauses: [.init(field: .eventID, op: .equal, value: events[0])]), limit: 1).first?.eventName == "StopLogging")

        // Over history again: nothing new.
        let history = try await ActivityDetection.run(store: store, detector: detector, filter: LakeFilter(), actor: "t")
        #expect(history.events == 310 && history.matches == 6 && history.detections == SecurityFindingSave(unchanged: 6))

        // Three more StopLogging calls by the same principal: two within its hour join its
        // finding, one the next day is a finding of its own.
        let original = try LakeJSON.parse(Data(contentsOf: URL(fileURLWithPath: (Corpus.stratus as NSString).appendingPathComponent("aws.defense-evasion.cloudtrail-stop.json"))))
        let first = try #require(original.arrayValue?.first)
        let time = try #require(Timestamps.parse(first["eventTime"]?.stringValue ?? ""))
        let windowStart = (time.timeIntervalSince1970 / 3_600).rounded(.down) * 3_600
        let later = [windowStart + 60, windowStart + 3_000, windowStart + 86_400].enumerated().map { index, seconds in
            first.merging(["eventID": .string("repeat-\(index)"), "eventTime": .string(Timestamps.iso8601(Date(timeIntervalSince1970: seconds)))])
        }
        let file = try Fixtures.write(JSONValue.array(later).canonicalJSON(), "repeat.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let done = try await ActivityDetection.importFile(path: file, name: "repeat.json", store: store, signer: signer, detector: detector, skipBad: false, actor: "t")
        #expect(done.detections == SecurityFindingSave(added: 1, updated: 1))
        let grown = try #require(try await store.securityFinding(uid: stop.uid))
        let attached = try await store.securityFindingEvents(uid: stop.uid)
        #expect(grown.eventCount == 3 && attached.count == 3)
        // A file read late, with an earlier event of the same window: still attached.
        let early = first.merging(["eventID": "repeat-early", "eventTime": .string(Timestamps.iso8601(Date(timeIntervalSince1970: windowStart + 5)))])
        let lateFile = try Fixtures.write(JSONValue.array([early]).canonicalJSON(), "late.json")
        defer { try? FileManager.default.removeItem(atPath: lateFile) }
        let late = try await ActivityDetection.importFile(path: lateFile, name: "late.json", store: store, signer: signer, detector: detector, skipBad: false, actor: "t")
        #expect(late.detections == SecurityFindingSave(updated: 1))
        #expect(try await store.securityFinding(uid: stop.uid)?.eventCount == 4)
        #expect(try await store.auditLog(limit: 50).contains { $0.action == "detect.run" })
    }

    @Test func ocsfExportsValidateAgainstTheSchema() async throws {
        let store = try await Fixtures.demoStore()
        for file in ["asff-securityhub-export.json", "prowler-ocsf.json", "trivy-image.json"] {
            _ = try await FindingImport.importFile(path: Fixtures.path(file), name: file, store: store, skipBad: false, actor: "t")
        }
        let box = try SecretBox(key: SymmetricKey(size: .bits256))
        let signer = try await LakeSigner.load(store: store, box: box)
        let detector = Detector(rules: try BuiltInRules.load())
        for file in try Corpus.stratusFiles() {
            _ = try await ActivityDetection.importFile(
                path: (Corpus.stratus as NSString).appendingPathComponent(file), name: file, store: store, signer: signer, detector: detector, skipBad: false, actor: "t")
        }
        var findings: [JSONValue] = []
        for view in try await FindingsHub.list(store: store, FindingsHub.Selection(filter: SecurityFindingFilter(statuses: []))) {
            findings.append(OCSFExport.finding(view, events: try await store.securityFindingEvents(uid: view.finding.uid)))
        }
        let classes = Set(findings.compactMap { $0["class_uid"]?.intValue })
        #expect(classes == [2002, 2003, 2004])
        let activity = try await store.lakeEvents(LakeFilter(), limit: nil).map(OCSFExport.activity)
        #expect(Set(activity.compactMap { $0["class_uid"]?.intValue }) == [3001, 3002, 6003])
        let result = try await Fixtures.validateOCSF(findings + activity)
        #expect(result.status == 0, "\(result.text.prefix(2_000))")
        #expect(result.text.contains("\(findings.count + activity.count) events checked against OCSF 1.3.0"))

        // The validator is not a rubber stamp: a finding without its uid, a wrong enum and an
        // attribute the class does not have are all refused.
        let broken = [
            findings[0].merging(["finding_info": ["title": "x"]]), findings[0].merging(["severity_id": 42]), activity[0].merging(["assignee": "me"]),
        ]
        let refused = try await Fixtures.validateOCSF(broken)
        #expect(refused.status == 1)
        #expect(refused.text.contains("event 0: finding_info.uid: required attribute is missing"))
        #expect(refused.text.contains("event 1: severity_id: 42 is not one of"))
        #expect(refused.text.contains("event 2: assignee: not an attribute of this class"))
    }
}
