import CanopyModel
import Crypto
import Foundation

/// AWS Signature Version 4, as specified in the AWS General Reference ("Signing AWS API requests").
///
/// The signer works on `AWSHTTPRequest` values so it is independent of the HTTP client, and is
/// proven against AWS's published test vectors and against moto in authentication mode.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Adds `X-Amz-Date`, the session token and `Authorization` to `request`.
    /// - Parameter unsignedPayload: S3 may be sent `UNSIGNED-PAYLOAD`; every other service signs the body hash.
    public func sign(_ request: inout AWSHTTPRequest, at date: Date, addContentSHA256: Bool = false) {
        let amzDate = Self.amzDateFormat(date)
        let day = String(amzDate.prefix(8))
        request.headers.removeAll { ["authorization", "x-amz-date"].contains($0.name.lowercased()) }
        request.headers.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken {
            request.headers.removeAll { $0.name.lowercased() == "x-amz-security-token" }
            request.headers.append(("X-Amz-Security-Token", token))
        }
        let payloadHash = SHA256.hash(data: request.body).hexEncoded
        if addContentSHA256 {
            request.headers.removeAll { $0.name.lowercased() == "x-amz-content-sha256" }
            request.headers.append(("X-Amz-Content-Sha256", payloadHash))
        }
        let (canonical, signedHeaders) = canonicalRequest(request, payloadHash: payloadHash)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Data(canonical.utf8)).hexEncoded,
        ].joined(separator: "\n")
        let signature = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day))
            .hexEncoded
        request.headers.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
                    + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
    }

    /// The canonical request and the signed-header list, exposed for the test vectors.
    public func canonicalRequest(_ request: AWSHTTPRequest, payloadHash: String) -> (String, String) {
        var headers: [String: [String]] = [:]
        var hasHost = false
        for (name, value) in request.headers {
            let key = name.lowercased()
            if key == "host" { hasHost = true }
            headers[key, default: []].append(Self.trimHeaderValue(value))
        }
        if !hasHost { headers["host"] = [request.hostHeader] }
        let names = headers.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(headers[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let encodedPairs: [(String, String)] = request.query.map { (Self.uriEncode($0.name), Self.uriEncode($0.value)) }
        let sortedPairs = encodedPairs.sorted { (a: (String, String), b: (String, String)) -> Bool in
            a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
        }
        let canonicalQuery = sortedPairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        // S3 signs the path as sent; other services normalise it and encode each segment twice.
        let canonicalPath: String
        if service == "s3" {
            canonicalPath = request.encodedPath
        } else {
            canonicalPath = Self.normalize(request.encodedPath)
                .split(separator: "/", omittingEmptySubsequences: false)
                .map { Self.uriEncode(String($0)) }.joined(separator: "/")
        }
        let canonical = [
            request.method, canonicalPath.isEmpty ? "/" : canonicalPath, canonicalQuery, canonicalHeaders,
            signedHeaders, payloadHash,
        ].joined(separator: "\n")
        return (canonical, signedHeaders)
    }

    func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
    }

    static func amzDateFormat(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }


    /// Header values are trimmed and runs of spaces collapse to one (outside quotes, per the spec's examples).
    static func trimHeaderValue(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    /// RFC 3986 encoding as SigV4 requires: every byte but the unreserved set becomes `%XX` (upper case).
    public static func uriEncode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                out.append(Character(UnicodeScalar(byte)))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Removes `.` and `..` segments and repeated slashes, as the spec's normalisation vectors expect.
    static func normalize(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        let joined = "/" + segments.joined(separator: "/")
        return path.hasSuffix("/") && joined != "/" ? joined + "/" : joined
    }
}
