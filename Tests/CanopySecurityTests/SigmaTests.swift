@testable import CanopySecurity
import CanopyLake
import CanopyModel
import CanopyTestSupport
import Foundation
import Testing

enum Corpus {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared: URL = {
        if let shared = ProcessInfo.processInfo.environment["CANOPY_SHARED"] { return URL(fileURLWithPath: shared).appendingPathComponent("corpus") }
        return root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    }()
    static let sigmaRules = shared.appendingPathComponent("sigma/aws-cloudtrail").path
    static let stratus = shared.appendingPathComponent("cloudtrail/stratus-red-team").path
    static let builtInRules = root.appendingPathComponent("Sources/CanopySecurity/Resources/rules").path

    static func stratusFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: stratus).filter { $0.hasSuffix(".json") }.sorted()
    }

    static func events(_ file: String) throws -> [JSONValue] {
        try LakeJSON.parse(Data(contentsOf: URL(fileURLWithPath: (stratus as NSString).appendingPathComponent(file)))).arrayValue ?? []
    }

    static func rules() throws -> [SigmaRule] { try SigmaRule.loadDirectory(sigmaRules) + BuiltInRules.load() }
}

@Suite struct SigmaTests {
    @Test func everyCorpusRuleAndEveryBuiltInRuleLoads() throws {
        let corpus = try SigmaRule.loadDirectory(Corpus.sigmaRules)
        #expect(corpus.count == 57)
        let builtIn = try BuiltInRules.load()
        #expect(builtIn.count == 7)
        #expect(Set((corpus + builtIn).map(\.id)).count == 64)
        #expect(builtIn.allSatisfy { $0.origin.hasPrefix("canopy:") && !$0.techniques.isEmpty && $0.severityID >= 4 })
    }

    /// Which rules each Stratus Red Team detonation fires, by title, with how many events. Written
    /// down from the rules' text, then checked: a technique the corpus has no rule for fires
    /// nothing but the setup noise (AssumeRole sessions fire SigmaHQ's low "AssumeRole Misuse").
    static let expected: [String: [String: Int]] = [
        "aws.credential-access.ec2-get-password-data.json": ["AWS STS AssumeRole Misuse": 30],
        "aws.credential-access.ec2-steal-instance-credentials.json": ["Potential Malicious Usage of CloudTrail System Manager": 1, "AWS STS AssumeRole Misuse": 2],
        "aws.credential-access.secretsmanager-batch-retrieve-secrets.json": [:],
        "aws.credential-access.secretsmanager-retrieve-secrets.json": [:],
        "aws.credential-access.ssm-retrieve-securestring-parameters.json": [:],
        "aws.defense-evasion.cloudtrail-delete.json": ["CloudTrail Logging Stopped or Trail Deleted": 1, "AWS CloudTrail Important Change": 1],
        "aws.defense-evasion.cloudtrail-event-selectors.json": [:],
        "aws.defense-evasion.cloudtrail-stop.json": ["CloudTrail Logging Stopped or Trail Deleted": 1, "AWS CloudTrail Important Change": 1],
        "aws.defense-evasion.dns-delete-logs.json": [:],
        "aws.defense-evasion.organizations-leave.json": ["AWS STS AssumeRole Misuse": 1],
        "aws.defense-evasion.vpc-remove-flow-logs.json": ["AWS VPC Flow Logs Deleted": 1],
        "aws.discovery.ec2-download-user-data.json": ["AWS STS AssumeRole Misuse": 15],
        "aws.execution.ec2-launch-unusual-instances.json": ["AWS STS AssumeRole Misuse": 1],
        "aws.execution.ec2-user-data.json": [:],
        "aws.execution.ssm-send-command.json": ["Potential Malicious Usage of CloudTrail System Manager": 1],
        "aws.execution.ssm-start-session.json": [:],
        "aws.exfiltration.ec2-security-group-open-port-22-ingress.json": ["Security Group Opened to the Internet": 1, "Ingress/Egress Security Group Modification": 1],
        "aws.exfiltration.ec2-share-ami.json": [:],
        "aws.exfiltration.ec2-share-ebs-snapshot.json": ["AWS Snapshot Backup Exfiltration": 1],
        "aws.exfiltration.rds-share-snapshot.json": [:],
        "aws.impact.bedrock-invoke-model.json": ["AWS STS AssumeRole Misuse": 15],
        "aws.initial-access.console-login-without-mfa.json": ["Console Sign-in Without MFA": 1, "AWS Successful Console Login Without MFA": 1],
        "aws.lateral-movement.ec2-instance-connect.json": [:],
        "aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json": ["AWS STS AssumeRole Misuse": 4],
        "aws.persistence.iam-backdoor-role.json": [:],
        "aws.persistence.iam-backdoor-user.json": ["AWS IAM Backdoor Users Keys": 1],
        "aws.persistence.iam-create-admin-user.json": ["AdministratorAccess Attached": 1, "AWS IAM Backdoor Users Keys": 1],
        "aws.persistence.iam-create-backdoor-role.json": ["AdministratorAccess Attached": 1],
        "aws.persistence.iam-create-user-login-profile.json": [:],
        "aws.persistence.lambda-backdoor-function.json": [:],
        "aws.persistence.lambda-layer-extension.json": ["AWS New Lambda Layer Attached": 1],
        "aws.persistence.lambda-overwrite-code.json": [:],
        "aws.persistence.rolesanywhere-create-trust-anchor.json": [:],
        "aws.persistence.sts-federation-token.json": [:],
        "aws.privilege-escalation.iam-update-user-login-profile.json": ["AWS User Login Profile Was Modified": 1],
    ]

    @Test func stratusDetonationsFireTheRulesForTheirTechnique() throws {
        let rules = try Corpus.rules()
        let files = try Corpus.stratusFiles()
        #expect(files.count == 35)
        #expect(Set(files) == Set(Self.expected.keys))
        var total = 0
        for file in files {
            let events = try Corpus.events(file)
            total += events.count
            var fired: [String: Int] = [:]
            for event in events { for rule in rules where rule.matches(event) { fired[rule.title, default: 0] += 1 } }
            #expect(fired == Self.expected[file], "\(file)")
        }
        #expect(total == 310)
    }

    /// Routine activity that sits next to what the high rules look for: none of them fires.
    @Test func nearMissesFireNoHighLevelRule() throws {
        let highRules = try Corpus.rules().filter { $0.severityID >= 4 }
        #expect(highRules.count >= 20)
        let benign: [String] = [
            #"{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"},"responseElements":{"ConsoleLogin":"Success"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#,
            #"{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"cidrIp":"10.20.0.0/16","fromPort":22,"toPort":22},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#,
            #"{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{"policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess","roleName":"audit"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#,
            #"{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","errorCode":"AccessDenied","requestParameters":{"policyArn":"arn:aws:iam::aws:policy/AdministratorAccess","roleName":"x"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#,
            #"{"eventSource":"cloudtrail.amazonaws.com","eventName":"StartLogging","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#,
            #"{"eventSource":"kms.amazonaws.com","eventName":"CancelKeyDeletion","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}"#,
            #"{"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","requestParameters":{"userName":"ci-deployer"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/admin"}}"#,
            #"{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","eventType":"AwsServiceEvent","userIdentity":{"type":"Root","invokedBy":"ec2.amazonaws.com"}}"#,
            #"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","readOnly":true,"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/app/i-0abc"}}"#,
        ]
        for text in benign {
            let event = try LakeJSON.parse(Data(text.utf8))
            let fired = highRules.filter { $0.matches(event) }.map(\.title)
            #expect(fired.isEmpty, "\(text) fired \(fired)")
        }
    }

    /// The detector runs a rule only on events whose name its condition allows; over the corpus
    /// that must change no verdict, and most rules must be pinned to names.
    @Test func theEventNameIndexChangesNoVerdict() throws {
        let rules = try Corpus.rules()
        let detector = Detector(rules: rules)
        #expect(rules.filter { $0.eventNames != nil }.count >= 45)
        var events = try Corpus.stratusFiles().flatMap(Corpus.events)
        // The same events with their names in other cases (Sigma compares without case).
        events += events.prefix(50).map { $0.merging(["eventName": .string(($0["eventName"]?.stringValue ?? "").uppercased())]) }
        for event in events {
            let name = event["eventName"]?.stringValue ?? ""
            let indexed = detector.matchingRules(eventName: name, json: event).map(\.id)
            let everyRule = rules.filter { $0.matches(event) }.map(\.id)
            #expect(indexed == everyRule, "\(name)")
        }
    }

    @Test func aRegexLiteralPrefilterKeepsTheRegexVerdict() throws {
        #expect(SigmaRegex.requiredLiteral(".+:assumed-role/aws:.+") == ":assumed-role/aws:")
        #expect(SigmaRegex.requiredLiteral("^arn:aws:iam::\\d{12}:root$") == "arn:aws:iam::")
        #expect(SigmaRegex.requiredLiteral("(foo|bar)baz") == nil)
        #expect(SigmaRegex.requiredLiteral("colou?r-scheme") == "r-scheme")
        #expect(SigmaRegex.requiredLiteral("a[bc]d") == nil)
        #expect(SigmaRegex.requiredLiteral("prefix\\.json") == "prefix.json")
        let rule = try Self.rule("  s:\n    userIdentity.arn|re|i: '.+:ASSUMED-ROLE/aws:.+'\n  condition: s")
        #expect(try rule.matches(Self.event(#"{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"}}"#)))
        #expect(try !rule.matches(Self.event(#"{"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/app/i-1"}}"#)))
    }

    static func rule(_ detection: String, level: String = "high") throws -> SigmaRule {
        try SigmaRule.parse("title: t\nid: x\nlevel: \(level)\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n\(detection)", file: "test.yml")
    }

    static func event(_ text: String) throws -> JSONValue { try LakeJSON.parse(Data(text.utf8)) }

    @Test func modifiersAndWildcardsFollowTheSpecification() throws {
        let e = try Self.event(
            #"{"eventName":"PutObject","sourceIPAddress":"10.1.2.3","userAgent":"aws-cli/2.0 Python/3.11","n":443,"tags":["a","Prod"],"a":"x","b":"x","star":"5*","requestParameters":{"bucketName":"logs-prod"},"v6":"2001:db8::1"}"#)
        let cases: [(String, Bool)] = [
            ("  s:\n    eventName: putobject\n  condition: s", true),  // case-insensitive
            ("  s:\n    eventName|cased: putobject\n  condition: s", false),
            ("  s:\n    eventName: 'Put?bject'\n  condition: s", true),
            ("  s:\n    star: '5\\*'\n  condition: s", true),
            ("  s:\n    star: '5\\*x'\n  condition: s", false),
            ("  s:\n    sourceIPAddress|cidr: 10.0.0.0/8\n  condition: s", true),
            ("  s:\n    sourceIPAddress|cidr: 192.168.0.0/16\n  condition: s", false),
            ("  s:\n    v6|cidr: '2001:db8::/32'\n  condition: s", true),
            ("  s:\n    userAgent|contains|all: [cli, python]\n  condition: s", true),
            ("  s:\n    userAgent|contains|all: [cli, boto]\n  condition: s", false),
            ("  s:\n    userAgent|re: '^aws-cli/\\d'\n  condition: s", true),
            ("  s:\n    userAgent|re: '^AWS-CLI'\n  condition: s", false),
            ("  s:\n    userAgent|re|i: '^AWS-CLI'\n  condition: s", true),
            ("  s:\n    a|fieldref: b\n  condition: s", true),
            ("  s:\n    a|fieldref: eventName\n  condition: s", false),
            ("  s:\n    missing|exists: false\n  condition: s", true),
            ("  s:\n    eventName|exists: true\n  condition: s", true),
            ("  s:\n    missing: null\n  condition: s", true),
            ("  s:\n    eventName: null\n  condition: s", false),
            ("  s:\n    n: 443\n  condition: s", true),
            ("  s:\n    n|gte: 1024\n  condition: s", false),
            ("  s:\n    tags: prod\n  condition: s", true),  // any element of a list
            ("  s:\n    requestParameters.bucketName|endswith: -prod\n  condition: s", true),
            ("  s:\n    requestParameters|contains: 'logs-prod'\n  condition: s", true),  // an object as its JSON text
            ("  s:\n    userAgent|base64offset|contains: cli\n  condition: s", false),
            ("  a:\n    eventName: PutObject\n  b:\n    n: 80\n  condition: a and not b", true),
            ("  a:\n    eventName: PutObject\n  b:\n    n: 80\n  condition: not a or b", false),
            ("  sel_1:\n    eventName: Nope\n  sel_2:\n    n: 443\n  condition: 1 of sel_*", true),
            ("  sel_1:\n    eventName: Nope\n  sel_2:\n    n: 443\n  condition: all of sel_*", false),
            ("  sel_1:\n    eventName: PutObject\n  _hidden:\n    n: 1\n  condition: all of them", true),
            ("  a:\n    eventName: Nope\n  b:\n    n: 443\n  c:\n    a: x\n  condition: (a or b) and c", true),
            ("  a:\n    eventName: Nope\n  b:\n    n: 443\n  c:\n    a: y\n  condition: a or b and c", false),
            ("  k:\n    - 'Python/3*'\n  condition: k", true),  // a keyword is found anywhere in a value
            ("  k:\n    - 'ruby'\n  condition: k", false),
            ("  m:\n    - eventName: Nope\n    - n: 443\n  condition: m", true),
        ]
        for (detection, expected) in cases {
            #expect(try Self.rule(detection).matches(e) == expected, "\(detection)")
        }
    }

    @Test func aBadRuleIsRefusedWithFileLineAndReason() throws {
        func problem(_ detection: String) -> String {
            do {
                _ = try Self.rule(detection)
                return "loaded"
            } catch { return "\(error)" }
        }
        #expect(problem("  s:\n    eventName|sounds_like: x\n  condition: s").contains("test.yml:7: s: eventName|sounds_like: the modifier 'sounds_like' is not supported"))
        #expect(problem("  s:\n    eventName: x\n  condition: s and t").contains("test.yml:8: condition 's and t': 't' is not a search identifier"))
        #expect(problem("  s:\n    eventName: x\n  condition: s | count() > 5").contains("aggregations"))
        #expect(problem("  s:\n    eventName: x\n  condition: (s").contains("not closed") || problem("  s:\n    eventName: x\n  condition: (s").contains("ends too early"))
        #expect(problem("  s:\n    eventName: x\n  condition: 1 of f_*").contains("'f_*' matches no search identifier"))
        #expect(problem("  s:\n    ip|cidr: 10.0.0.0/33\n  condition: s").contains("is not a CIDR network"))
        #expect(problem("  s:\n    eventName: x").contains("has no 'condition'"))
        #expect(problem("  s:\n    ua|re: '('\n  condition: s").contains("not a valid regular expression"))
        #expect(throws: SigmaError.self) { try SigmaRule.parse("title: [unclosed", file: "bad.yml") }
    }

    /// pySigma's SQLite backend (PyPI, the SigmaHQ project's reference toolchain) is the peer:
    /// the same rules over the same events — the Stratus detonations and probe events built from
    /// every rule's own selections and filters — must match the same events.
    @Test func agreesWithPySigmaOverTheCorpusAndProbeEvents() async throws {
        let python = ProcessInfo.processInfo.environment["CANOPY_SIGMA_PYTHON"] ?? Corpus.root.appendingPathComponent(".build/sigma-tools/bin/python3").path
        let script = Corpus.root.appendingPathComponent("Scripts/sigma-reference.py").path
        let probe = try await Subprocess.run([python, script, "probe", Corpus.sigmaRules, Corpus.builtInRules])
        #expect(probe.status == 0, "\(probe.text)")
        let probeFile = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-sigma-probe-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: probeFile) }
        try probe.stdout.write(to: probeFile)
        let stratus = try Corpus.stratusFiles().map { (Corpus.stratus as NSString).appendingPathComponent($0) }
        let reference = try await Subprocess.run([python, script, "match", Corpus.sigmaRules, Corpus.builtInRules, "--", probeFile.path] + stratus)
        #expect(reference.status == 0, "\(String(decoding: reference.stderr, as: UTF8.self))")
        let theirs = try LakeJSON.parse(reference.stdout).objectValue ?? [:]

        let events = try (LakeJSON.parse(probe.stdout).arrayValue ?? []) + Corpus.stratusFiles().flatMap(Corpus.events)
        #expect(events.count > 300 + 64)
        var compared = 0
        var matched = 0
        for rule in try Corpus.rules() {
            let ours = Set(events.filter { rule.matches($0) }.compactMap { $0["eventID"]?.stringValue })
            let reference = Set((theirs[rule.id]?.arrayValue ?? []).compactMap(\.stringValue))
            matched += ours.count
            compared += 1
            // The one known difference: Sigma compares plain strings without regard to case, and
            // SigmaHQ's rule says MFAUsed 'NO' where CloudTrail writes 'No'. The SQLite backend
            // compares with '=' (case-sensitive) and misses the Stratus sign-in; Canopy follows
            // the specification and finds it.
            let caseOnly: Set<String> =
                rule.title == "AWS Successful Console Login Without MFA"
                ? Set(events.filter { $0.value(atPath: "additionalEventData.MFAUsed")?.stringValue == "No" }.compactMap { $0["eventID"]?.stringValue }) : []
            #expect(rule.title != "AWS Successful Console Login Without MFA" || caseOnly.contains("865d9377-9c6b-4fd7-8aad-725e95f6a140"))
            #expect(ours.subtracting(caseOnly) == reference, "\(rule.title): only Canopy \(ours.subtracting(reference).sorted()), only pySigma \(reference.subtracting(ours).sorted())")
        }
        #expect(compared == 64)
        #expect(matched > 100)
    }
}
