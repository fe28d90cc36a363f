import CanopyAWS
import CanopyModel
import Foundation
import Testing

/// Each fixture is a response recorded from moto; `NAME.expected.json` is what botocore's own
/// parsers make of it (Scripts/botocore-expected.py). Canopy must decode to the same value.
@Suite struct ShapeDecoderTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    static let cases: [String] = [
        "ec2-describe-instances.xml", "ec2-describe-security-groups.xml", "iam-list-users.xml", "s3-list-buckets.xml",
        "s3-get-bucket-encryption.xml", "s3-get-bucket-location.xml", "kms-list-keys.json", "kms-describe-key.json",
        "lambda-list-functions.json", "guardduty-list-detectors.json",
    ]

    /// `ec2-describe-instances.xml` → (`ec2`, `DescribeInstances`).
    static func operation(of fixture: String) -> (String, String) {
        let stem = String(fixture.split(separator: ".")[0])
        let parts = stem.split(separator: "-")
        return (String(parts[0]), parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined())
    }

    @Test("decodes like botocore", arguments: cases)
    func decodesLikeBotocore(_ fixture: String) throws {
        let (service, operation) = Self.operation(of: fixture)
        let body = try Data(contentsOf: Self.fixtures.appendingPathComponent(fixture))
        let expectedName = fixture.split(separator: ".")[0] + ".expected.json"
        let expected = try JSONValue.parse(Data(contentsOf: Self.fixtures.appendingPathComponent(String(expectedName))))
        let decoded = try ShapeDecoder(model: ServiceModels.model(service))
            .decodeResponse(operation: operation, response: AWSHTTPResponse(status: 200, body: body))
        let differences = Self.differences(decoded, expected, path: "")
        #expect(differences.isEmpty, "\(differences.prefix(10))")
    }

    @Test func ec2KeysFollowTheModelNotTheWireNames() throws {
        let body = try Data(contentsOf: Self.fixtures.appendingPathComponent("ec2-describe-instances.xml"))
        let decoded = try ShapeDecoder(model: ServiceModels.model("ec2"))
            .decodeResponse(operation: "DescribeInstances", response: AWSHTTPResponse(status: 200, body: body))
        let instance = try #require(decoded["Reservations"]?.arrayValue?.first?["Instances"]?.arrayValue?.first)
        // `instanceState` on the wire is `State` in boto3; `tagSet` is `Tags`; numbers are numbers.
        #expect(instance.value(atPath: "State.Name")?.stringValue == "running")
        #expect(instance.value(atPath: "State.Code")?.intValue == 16)
        #expect(instance["Tags"]?.arrayValue?.isEmpty == false)
        #expect(instance["EbsOptimized"] == .bool(false))
    }

    @Test func moto_html_content_type_does_not_change_decoding() throws {
        let body = try Data(contentsOf: Self.fixtures.appendingPathComponent("kms-list-keys.json"))
        let decoded = try ShapeDecoder(model: ServiceModels.model("kms")).decodeResponse(
            operation: "ListKeys",
            response: AWSHTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: body))
        #expect(decoded["Keys"]?.arrayValue?.isEmpty == false)
    }

    @Test func errorBodiesOfEveryProtocolYieldTheirCode() throws {
        let query = AWSServiceError.parse(service: "iam", operation: "Test", response: AWSHTTPResponse(status: 404, body: try Data(contentsOf: Self.fixtures.appendingPathComponent("iam-error-nosuchentity.xml"))))
        #expect(query.code == "NoSuchEntity")
        #expect(query.message.contains("nobody"))
        let ec2 = AWSServiceError.parse(service: "ec2", operation: "Test", response: AWSHTTPResponse(status: 400, body: try Data(contentsOf: Self.fixtures.appendingPathComponent("ec2-error-invalid-instance.xml"))))
        #expect(ec2.code == "InvalidInstanceID.NotFound")
        let json = AWSServiceError.parse(service: "kms", operation: "Test", response: AWSHTTPResponse(status: 400, body: Data(#"{"__type":"com.amazonaws.kms#NotFoundException","message":"gone"}"#.utf8)))
        #expect(json.code == "NotFoundException")
        #expect(json.message == "gone")
        let html = AWSServiceError.parse(
            service: "backup", operation: "Test",
            response: AWSHTTPResponse(
                status: 500,
                body: Data("<!doctype html><html lang=en><title>500 Internal Server Error</title><h1>Internal</h1>".utf8)))
        #expect(html.code == "InternalFailure")
        #expect(html.message == "500 Internal Server Error")
    }

    /// Structural differences, treating two timestamps as equal when they name the same millisecond.
    static func differences(_ a: JSONValue?, _ b: JSONValue?, path: String) -> [String] {
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            // botocore leaves out members that are JSON null; so does the comparison.
            let keys = Set(x.filter { $0.value != .null }.keys).union(y.filter { $0.value != .null }.keys)
            return keys.sorted().flatMap { differences(x[$0], y[$0], path: path + "." + $0) }
        case (.array(let x)?, .array(let y)?) where x.count == y.count:
            return x.indices.flatMap { differences(x[$0], y[$0], path: path + "[\($0)]") }
        case (.string(let x)?, .string(let y)?):
            if x == y { return [] }
            if let dx = Timestamps.parse(x), let dy = Timestamps.parse(y), abs(dx.timeIntervalSince(dy)) < 0.002 { return [] }
            return ["\(path): \(x) ≠ \(y)"]
        case (.int(let x)?, .double(let y)?), (.double(let y)?, .int(let x)?):
            return Double(x) == y ? [] : ["\(path): \(x) ≠ \(y)"]
        default:
            return a == b ? [] : ["\(path): \(a.map { $0.canonicalJSON() } ?? "absent") ≠ \(b.map { $0.canonicalJSON() } ?? "absent")"]
        }
    }
}
