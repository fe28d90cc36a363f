import CanopyModel
import Crypto
import Foundation
import _CryptoExtras

/// CloudTrail's own integrity check, done the way AWS documents it ("Validating CloudTrail log
/// file integrity"): every hour CloudTrail writes a digest file naming the SHA-256 of each log
/// file it delivered and of the digest before it, and signs it with SHA256withRSA over
///
///     digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(digest file)) \n previous signature (or "null")
///
/// the signature riding in the digest object's `x-amz-meta-signature` (hex). Verifying finds a
/// changed or deleted log file, a changed, deleted or forged digest, and a break in the chain.
public enum CloudTrailDigests {
    /// One digest file: where it claims to live, its bytes (uncompressed) and its signature.
    public struct Digest: Sendable {
        public var bucket: String
        public var key: String
        public var content: Data
        /// Hex, from the object's metadata (or a `.signature` file beside a local copy).
        public var signature: String?

        public init(bucket: String, key: String, content: Data, signature: String?) {
            self.bucket = bucket
            self.key = key
            self.content = content
            self.signature = signature
        }
    }

    /// What verification found; intact only with digests and no problems.
    public struct Report: Sendable, Codable {
        public let digests: Int
        public let logFiles: Int
        public let validLogFiles: Int
        public let problems: [String]
        public let intact: Bool

        init(digests: Int, logFiles: Int, validLogFiles: Int, problems: [String]) {
            self.digests = digests
            self.logFiles = logFiles
            self.validLogFiles = validLogFiles
            self.problems = problems
            intact = problems.isEmpty && digests > 0
        }
    }

    /// The public keys CloudTrail signs with, by fingerprint (`digestPublicKeyFingerprint`):
    /// `aws cloudtrail list-public-keys` gives each as base64 DER (PKCS#1).
    public static func publicKeys(_ text: String) throws -> [String: _RSA.Signing.PublicKey] {
        var keys: [String: _RSA.Signing.PublicKey] = [:]
        for (number, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let der = Data(base64Encoded: parts[1]) else {
                throw LakeInputError.file("public keys", "line \(number + 1): expected FINGERPRINT=BASE64-DER")
            }
            do { keys[parts[0].lowercased()] = try _RSA.Signing.PublicKey(derRepresentation: der) } catch {
                throw LakeInputError.file("public keys", "line \(number + 1): not an RSA public key (\(error))")
            }
        }
        return keys
    }

    /// The string a digest's signature covers.
    static func signedString(_ digest: JSONValue, bucket: String, key: String, content: Data) -> Data {
        let end = digest["digestEndTime"]?.stringValue ?? ""
        let previous = digest["previousDigestSignature"]?.stringValue ?? "null"
        return Data("\(end)\n\(bucket)/\(key)\n\(Data(SHA256.hash(data: content)).hexEncoded)\n\(previous)".utf8)
    }

    /// Verifies digests and the log files they name. `logFiles` maps `bucket/key` to the log
    /// file's uncompressed bytes (a missing one is reported, not guessed).
    public static func verify(digests: [Digest], logFiles: [String: Data], publicKeys: [String: _RSA.Signing.PublicKey]) -> Report {
        var problems: [String] = []
        struct Parsed {
            var digest: Digest
            var json: JSONValue
            var start: Date
            var end: Date
        }
        var parsed: [Parsed] = []
        for digest in digests {
            let name = "digest s3://\(digest.bucket)/\(digest.key)"
            guard let json = try? LakeJSON.parse(digest.content), json.objectValue != nil else {
                problems.append("\(name): not valid JSON")
                continue
            }
            guard let startText = json["digestStartTime"]?.stringValue, let start = Timestamps.parse(startText),
                let endText = json["digestEndTime"]?.stringValue, let end = Timestamps.parse(endText)
            else {
                problems.append("\(name): digestStartTime or digestEndTime missing")
                continue
            }
            if json["digestS3Bucket"]?.stringValue != digest.bucket || json["digestS3Object"]?.stringValue != digest.key {
                problems.append("\(name): says it is s3://\(json["digestS3Bucket"]?.stringValue ?? "?")/\(json["digestS3Object"]?.stringValue ?? "?") — moved or copied")
            }
            let fingerprint = json["digestPublicKeyFingerprint"]?.stringValue?.lowercased() ?? ""
            if json["digestSignatureAlgorithm"]?.stringValue != "SHA256withRSA" {
                problems.append("\(name): signature algorithm \(json["digestSignatureAlgorithm"]?.stringValue ?? "missing") is not SHA256withRSA")
            } else if let hex = digest.signature, let signature = Data(hexString: hex) {
                if let key = publicKeys[fingerprint] {
                    let message = signedString(json, bucket: digest.bucket, key: digest.key, content: digest.content)
                    if !key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: message, padding: .insecurePKCS1v1_5) {
                        problems.append("\(name): INVALID signature — the digest was changed or forged")
                    }
                } else {
                    problems.append("\(name): no public key with fingerprint \(fingerprint) (aws cloudtrail list-public-keys)")
                }
            } else {
                problems.append("\(name): no signature (x-amz-meta-signature) to check")
            }
            parsed.append(Parsed(digest: digest, json: json, start: start, end: end))
        }
        parsed.sort { $0.end < $1.end }
        // The chain: each digest names the one before by place, hash and signature, and starts
        // where it ended (a gap is an hour nobody can vouch for).
        for (previous, current) in zip(parsed, parsed.dropFirst()) {
            let name = "digest s3://\(current.digest.bucket)/\(current.digest.key)"
            if current.json["previousDigestS3Object"]?.stringValue != previous.digest.key {
                problems.append(
                    "\(name): names s3://\(current.json["previousDigestS3Bucket"]?.stringValue ?? "?")/\(current.json["previousDigestS3Object"]?.stringValue ?? "?") as the digest before it, but the one before is \(previous.digest.key) — a digest is missing")
                continue
            }
            if current.json["previousDigestHashValue"]?.stringValue?.lowercased() != Data(SHA256.hash(data: previous.digest.content)).hexEncoded {
                problems.append("\(name): the hash of the digest before it does not match — \(previous.digest.key) was changed")
            }
            if current.json["previousDigestSignature"]?.stringValue?.lowercased() != previous.digest.signature?.lowercased() {
                problems.append("\(name): the signature of the digest before it does not match \(previous.digest.key)")
            }
            if current.start > previous.end.addingTimeInterval(1) {
                problems.append("\(name): starts \(Timestamps.iso8601(current.start)), but the digest before it ended \(Timestamps.iso8601(previous.end)) — a gap")
            }
        }
        var logs = 0
        var valid = 0
        for digest in parsed {
            for log in digest.json["logFiles"]?.arrayValue ?? [] {
                logs += 1
                let path = "\(log["s3Bucket"]?.stringValue ?? "")/\(log["s3Object"]?.stringValue ?? "")"
                guard let content = logFiles[path] else {
                    problems.append("log file s3://\(path): MISSING (named by digest \(digest.digest.key))")
                    continue
                }
                if Data(SHA256.hash(data: content)).hexEncoded == log["hashValue"]?.stringValue?.lowercased() {
                    valid += 1
                } else {
                    problems.append("log file s3://\(path): INVALID hash — changed after delivery (named by digest \(digest.digest.key))")
                }
            }
        }
        return Report(digests: parsed.count, logFiles: logs, validLogFiles: valid, problems: problems)
    }

    /// Whether a path is a CloudTrail digest file (`…/CloudTrail-Digest/…`).
    public static func isDigest(_ key: String) -> Bool { key.contains("/CloudTrail-Digest/") }
}

extension Data {
    /// Bytes from hex text; nil when it is not hex.
    init?(hexString: String) {
        let characters = Array(hexString.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(characters.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var index = 0
        while index < characters.count {
            guard let high = value(characters[index]), let low = value(characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }
}
