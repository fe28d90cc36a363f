import CanopyIngest
import CanopyLake
import CanopyStore
import CanopyModel
import Crypto
import Foundation

/// A findings file Canopy cannot take, naming the file, the record and the field.
public enum FindingInputError: Error, CustomStringConvertible, Sendable, Equatable {
    case file(String, String)
    case record(file: String, index: Int, field: String, String)

    public var description: String {
        switch self {
        case .file(let file, let message): "\(file): \(message)"
        case .record(let file, let index, let field, let message): "\(file): finding \(index): \(field): \(message)"
        }
    }
}

/// Reads security findings from the formats tools write: AWS Security Finding Format (Security
/// Hub exports, which carry GuardDuty, Inspector, Macie… findings), OCSF 1.x findings as JSON or
/// NDJSON (Prowler's `json-ocsf`, Security Lake, Canopy's own export) and Trivy's JSON report.
/// The format is recognised from the content, not the file name.
public enum FindingImport {
    public enum Format: String, Sendable, Codable {
        case asff, ocsf, trivy
    }

    public struct Result: Sendable {
        public var format: Format
        public var findings: [SecurityFinding]
        /// Records left out with `skipBad`, each with why.
        public var skipped: [FindingInputError]
    }

    public static func read(path: String, name: String? = nil, skipBad: Bool = false, now: Date = Date()) throws -> Result {
        let shown = name ?? path
        let data: Data
        do { data = try FileBytes.read(path) } catch let error as IngestError { throw FindingInputError.file(shown, "\(error)".replacingOccurrences(of: "\(path): ", with: "")) }
        return try parse(data, file: shown, skipBad: skipBad, now: now)
    }

    public static func parse(_ data: Data, file: String, skipBad: Bool = false, now: Date = Date()) throws -> Result {
        let records: [JSONValue]
        let format: Format
        if let root = try? LakeJSON.parse(data) {
            if let list = root["Findings"]?.arrayValue {
                (records, format) = (list, .asff)
            } else if root["Results"] != nil || root["ArtifactName"] != nil {
                (records, format) = ([root], .trivy)
            } else if let list = root.arrayValue {
                format = list.first?["ProductArn"] != nil || list.first?["SchemaVersion"]?.stringValue?.hasPrefix("2018") == true ? .asff : .ocsf
                records = list
            } else if root["class_uid"] != nil {
                (records, format) = ([root], .ocsf)
            } else {
                throw FindingInputError.file(
                    file, "is neither ASFF ({\"Findings\": [...]}), OCSF (objects with class_uid, as JSON or NDJSON) nor a Trivy report (ArtifactName, Results)")
            }
        } else {
            // NDJSON: one OCSF object a line.
            var lines: [JSONValue] = []
            for (number, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
                do { lines.append(try LakeJSON.parse(Data(line))) } catch {
                    throw FindingInputError.file(file, "line \(number + 1) is not valid JSON (\(error)); a file must be one JSON document or NDJSON")
                }
            }
            guard !lines.isEmpty else { throw FindingInputError.file(file, "is empty") }
            (records, format) = (lines, .ocsf)
        }
        var findings: [SecurityFinding] = []
        var skipped: [FindingInputError] = []
        for (index, record) in records.enumerated() {
            do {
                switch format {
                case .asff: findings.append(try asff(record, file: file, index: index))
                case .ocsf: findings.append(try ocsf(record, file: file, index: index))
                case .trivy: findings += try trivy(record, file: file, now: now)
                }
            } catch let error as FindingInputError where skipBad {
                skipped.append(error)
            }
        }
        return Result(format: format, findings: findings, skipped: skipped)
    }

    /// A stable uid for a source's own id: the same finding imported again lands on the same row.
    static func uid(_ prefix: String, _ parts: String...) -> String {
        prefix + "-" + Data(SHA256.hash(data: Data(parts.joined(separator: "\n").utf8))).hexEncoded.prefix(32)
    }

    struct Fields {
        let record: JSONValue
        let file: String
        let index: Int

        func fail(_ field: String, _ message: String) -> FindingInputError { .record(file: file, index: index, field: field, message) }

        func text(_ path: String) -> String? {
            guard let value = record.value(atPath: path) else { return nil }
            switch value {
            case .string(let text): return text.isEmpty ? nil : text
            case .int(let number): return String(number)
            default: return nil
            }
        }

        func required(_ path: String) throws -> String {
            guard let value = text(path) else { throw fail(path, "is missing") }
            return value
        }

        func time(_ path: String) throws -> Date? {
            guard let text = text(path) else { return nil }
            guard let date = Timestamps.parse(text) else { throw fail(path, "'\(text)' is not an ISO 8601 time") }
            return date
        }

        /// OCSF times: epoch milliseconds by the schema, though some writers (Prowler) put seconds; the `_dt` twin when given.
        func epoch(_ path: String) throws -> Date? {
            if let date = try time(path + "_dt") { return date }
            guard let value = record.value(atPath: path) else { return nil }
            guard let number = value.doubleValue else { throw fail(path, "is not a number of milliseconds since 1970") }
            return Date(timeIntervalSince1970: number > 100_000_000_000 ? number / 1_000 : number)
        }
    }

    // MARK: ASFF

    static let asffProducts = [
        "guardduty": "GuardDuty", "inspector": "Inspector", "securityhub": "Security Hub", "macie": "Macie", "access-analyzer": "IAM Access Analyzer",
        "config": "Config", "firewall-manager": "Firewall Manager", "health": "Health", "ssm-patch-manager": "Systems Manager Patch Manager",
    ]

    static func asff(_ record: JSONValue, file: String, index: Int) throws -> SecurityFinding {
        let f = Fields(record: record, file: file, index: index)
        guard record.objectValue != nil else { throw f.fail("finding", "is not a JSON object") }
        for field in ["SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Title", "Description"] { _ = try f.required(field) }
        guard let created = try f.time("CreatedAt") else { throw f.fail("CreatedAt", "is missing") }
        guard let updated = try f.time("UpdatedAt") else { throw f.fail("UpdatedAt", "is missing") }
        guard let resources = record["Resources"]?.arrayValue, let resource = resources.first else { throw f.fail("Resources", "is missing or empty") }
        let types = (record["Types"] ?? record.value(atPath: "FindingProviderFields.Types"))?.arrayValue?.compactMap(\.stringValue) ?? []
        guard !types.isEmpty else { throw f.fail("Types", "is missing (neither Types nor FindingProviderFields.Types)") }
        let severity: Int
        if let label = f.text("Severity.Label") {
            guard let id = ["INFORMATIONAL": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5][label.uppercased()] else {
                throw f.fail("Severity.Label", "'\(label)' is not INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL")
            }
            severity = id
        } else if let normalized = record.value(atPath: "Severity.Normalized")?.doubleValue {
            severity = normalized >= 90 ? 5 : normalized >= 70 ? 4 : normalized >= 40 ? 3 : normalized >= 1 ? 2 : 1
        } else {
            throw f.fail("Severity", "has neither Label nor Normalized")
        }
        let productArn = try f.required("ProductArn")
        let productKey = productArn.split(separator: "/").last.map(String.init) ?? productArn
        let source = f.text("ProductName") ?? asffProducts[productKey] ?? productKey
        var status: FindingStatus
        switch f.text("Workflow.Status") ?? f.text("WorkflowState") ?? "NEW" {
        case "NOTIFIED", "ASSIGNED", "IN_PROGRESS": status = .inProgress
        case "SUPPRESSED", "DEFERRED": status = .suppressed
        case "RESOLVED", "RESOLVED_IN_SOURCE": status = .resolved
        default: status = .new
        }
        if f.text("RecordState") == "ARCHIVED" || f.text("Compliance.Status") == "PASSED" { status = .resolved }
        let findingClass: SecurityFinding.FindingClass =
            record["Vulnerabilities"] != nil || types.contains { $0.contains("Vulnerabilities") } ? .vulnerability
            : record["Compliance"] != nil || types.contains { $0.contains("Industry and Regulatory Standards") } ? .compliance : .detection
        let resourceID = resource["Id"]?.stringValue
        let generator = try f.required("GeneratorId")
        // GuardDuty's generator is its detector; the finding type (the last part of the type path) is the rule.
        let rule =
            record.value(atPath: "Vulnerabilities")?.arrayValue?.first?["Id"]?.stringValue ?? f.text("Compliance.SecurityControlId")
            ?? (generator.hasPrefix("arn:") ? types[0].split(separator: "/").last.map(String.init) : nil) ?? generator
        return SecurityFinding(
            uid: uid("asff", productArn, try f.required("Id")), source: source, findingClass: findingClass,
            ruleID: rule,
            title: try f.required("Title"), description: try f.required("Description"), severityID: severity, status: status, resourceUID: resourceID,
            resourceType: resource["Type"]?.stringValue, account: try f.required("AwsAccountId"),
            region: f.text("Region") ?? resource["Region"]?.stringValue ?? productArn.split(separator: ":").dropFirst(3).first.map(String.init) ?? "",
            techniques: [], firstSeen: try f.time("FirstObservedAt") ?? created, lastSeen: try f.time("LastObservedAt") ?? updated, updatedAt: updated,
            note: f.text("Note.Text"), raw: LakeJSON.canonical(record))
    }

    // MARK: OCSF

    static func ocsf(_ record: JSONValue, file: String, index: Int) throws -> SecurityFinding {
        let f = Fields(record: record, file: file, index: index)
        guard record.objectValue != nil else { throw f.fail("finding", "is not a JSON object") }
        guard let classUID = record["class_uid"]?.intValue else { throw f.fail("class_uid", "is missing") }
        let findingClass: SecurityFinding.FindingClass
        switch classUID {
        case 2002: findingClass = .vulnerability
        case 2003: findingClass = .compliance
        case 2001, 2004: findingClass = .detection
        default: throw f.fail("class_uid", "\(classUID) is not a finding class Canopy keeps (2001 Security, 2002 Vulnerability, 2003 Compliance, 2004 Detection)")
        }
        let findingUID = try f.required("finding_info.uid")
        let title = try f.required("finding_info.title")
        guard let severity = record["severity_id"]?.intValue.map(Int.init), (0...6).contains(severity) || severity == 99 else {
            throw f.fail("severity_id", "is missing or not an OCSF severity (0-6, 99)")
        }
        guard let time = try f.epoch("time") else { throw f.fail("time", "is missing") }
        let product = f.text("metadata.product.name") ?? f.text("metadata.product.vendor_name") ?? "OCSF"
        var status: FindingStatus = [Int64(1): .new, 2: .inProgress, 3: .suppressed, 4: .resolved][record["status_id"]?.intValue ?? 1] ?? .new
        // A passing check (Prowler's PASS, a compliance PASS) is not a problem to work on.
        if f.text("status_code")?.uppercased() == "PASS" || record.value(atPath: "compliance.status_id")?.intValue == 1 { status = .resolved }
        let resource = record["resources"]?.arrayValue?.first
        let vulnerability = record["vulnerabilities"]?.arrayValue?.first
        let techniques = (record.value(atPath: "finding_info.attacks")?.arrayValue ?? record["attacks"]?.arrayValue ?? []).compactMap {
            $0.value(atPath: "technique.uid")?.stringValue ?? $0.value(atPath: "sub_technique.uid")?.stringValue
        }
        let first = try f.epoch("finding_info.first_seen_time") ?? f.epoch("finding_info.created_time") ?? time
        let last = try f.epoch("finding_info.last_seen_time") ?? time
        return SecurityFinding(
            uid: uid("ocsf", product, findingUID), source: product, findingClass: findingClass,
            ruleID: f.text("metadata.event_code") ?? f.text("finding_info.analytic.uid") ?? f.text("compliance.control")
                ?? vulnerability?.value(atPath: "cve.uid")?.stringValue ?? f.text("finding_info.analytic.name") ?? title,
            title: title, description: f.text("finding_info.desc") ?? f.text("message") ?? "", severityID: severity == 99 ? 0 : severity, status: status,
            resourceUID: resource?["uid"]?.stringValue, resourceType: resource?["type"]?.stringValue,
            account: f.text("cloud.account.uid") ?? resource?.value(atPath: "owner.account.uid")?.stringValue ?? "",
            region: f.text("cloud.region") ?? resource?["region"]?.stringValue ?? "", techniques: Array(Set(techniques)).sorted(), firstSeen: min(first, last),
            lastSeen: last, updatedAt: try f.epoch("finding_info.modified_time") ?? time, raw: LakeJSON.canonical(record))
    }

    // MARK: Trivy

    static func trivy(_ report: JSONValue, file: String, now: Date) throws -> [SecurityFinding] {
        let top = Fields(record: report, file: file, index: 0)
        let artifact = try top.required("ArtifactName")
        guard let results = report["Results"]?.arrayValue else { throw top.fail("Results", "is missing") }
        let scanned = try top.time("CreatedAt") ?? now
        var findings: [SecurityFinding] = []
        var index = 0
        for result in results {
            let target = result["Target"]?.stringValue ?? artifact
            for vulnerability in result["Vulnerabilities"]?.arrayValue ?? [] {
                let f = Fields(record: vulnerability, file: file, index: index)
                index += 1
                let id = try f.required("VulnerabilityID")
                let package = try f.required("PkgName")
                let installed = f.text("InstalledVersion") ?? ""
                let severityText = try f.required("Severity")
                guard let severity = ["UNKNOWN": 0, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5][severityText.uppercased()] else {
                    throw f.fail("Severity", "'\(severityText)' is not UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL")
                }
                let fixed = f.text("FixedVersion")
                let title = f.text("Title") ?? "\(id) in \(package) \(installed)"
                findings.append(
                    SecurityFinding(
                        uid: uid("trivy", artifact, target, package, installed, id), source: "Trivy", findingClass: .vulnerability, ruleID: id,
                        title: "\(package) \(installed): \(title)",
                        description: (f.text("Description") ?? "") + (fixed.map { "\n\nFixed in \(package) \($0)." } ?? "\n\nNo fixed version yet."),
                        severityID: severity, resourceUID: artifact, resourceType: report["ArtifactType"]?.stringValue ?? "artifact", account: "", region: "",
                        firstSeen: scanned, lastSeen: scanned, updatedAt: scanned,
                        raw: LakeJSON.canonical(vulnerability.merging(["Target": .string(target), "ArtifactName": .string(artifact)]))))
            }
        }
        return findings
    }
}

extension FindingImport {
    /// What importing one file did.
    public struct FileImport: Sendable {
        public var name: String
        public var format: Format
        public var saved: SecurityFindingSave
        /// Trivy vulnerabilities of a scanned artifact that its newer report no longer lists: fixed.
        public var resolved: Int
        public var skipped: [FindingInputError]
    }

    /// Reads a findings file and stores it in one transaction: new findings added, re-imported
    /// ones updated in place when newer. A Trivy report is the whole truth about its artifact at
    /// its scan time, so the artifact's open vulnerabilities it no longer lists are resolved.
    public static func importFile(path: String, name: String, store: any CanopyStore, skipBad: Bool, actor: String, now: Date = Date()) async throws
        -> FileImport
    {
        let read = try read(path: path, name: name, skipBad: skipBad, now: now)
        var findings = read.findings
        var resolved = 0
        if read.format == .trivy {
            let listed = Set(findings.map(\.uid))
            for artifact in Set(findings.compactMap(\.resourceUID)) {
                let scanned = findings.first { $0.resourceUID == artifact }?.updatedAt ?? now
                let open = try await store.securityFindings(
                    SecurityFindingFilter(sources: ["Trivy"], statuses: [.new, .inProgress, .suppressed], resourceUID: artifact), limit: nil)
                for var gone in open where !listed.contains(gone.uid) && gone.updatedAt < scanned {
                    gone.status = .resolved
                    gone.updatedAt = scanned
                    gone.lastSeen = scanned
                    findings.append(gone)
                    resolved += 1
                }
            }
        }
        let saved = try await store.saveSecurityFindings(findings, events: [:], actor: actor, action: "findings.import", source: name)
        return FileImport(name: name, format: read.format, saved: saved, resolved: resolved, skipped: read.skipped)
    }
}
