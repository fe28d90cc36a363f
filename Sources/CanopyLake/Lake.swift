import CanopyModel
import CanopyStore
import Crypto
import Foundation

/// The lake's signing key: Ed25519, made on first use, its private half sealed with the
/// installation's `SecretBox` (so a copy of the database alone cannot sign), its public half
/// exportable so anyone can verify a lake without trusting the database that holds it.
public struct LakeSigner: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public var publicKey: Curve25519.Signing.PublicKey { key.publicKey }

    /// The store's key, made and stored on first use.
    public static func load(store: any CanopyStore, box: SecretBox) async throws -> LakeSigner {
        if let stored = try await store.lakeKey() {
            return LakeSigner(key: try Curve25519.Signing.PrivateKey(rawRepresentation: Data(base64Encoded: try box.open(stored.sealedPrivateKey)) ?? Data()))
        }
        let key = Curve25519.Signing.PrivateKey()
        let sealed = try box.seal(key.rawRepresentation.base64EncodedString())
        if try await store.saveLakeKey(sealedPrivateKey: sealed, publicKey: key.publicKey.rawRepresentation) { return LakeSigner(key: key) }
        // Another process made it first: use theirs.
        return try await load(store: store, box: box)
    }

    public func sign(_ message: Data) throws -> Data { try key.signature(for: message) }

    /// The public key as PEM (SubjectPublicKeyInfo), for `canopy lake key` and outside verifiers.
    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        // The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), then the 32 key bytes.
        let der = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + key.rawRepresentation
        return "-----BEGIN PUBLIC KEY-----\n\(der.base64EncodedString())\n-----END PUBLIC KEY-----\n"
    }

    /// A public key from PEM or base64 of its 32 bytes.
    public static func publicKey(text: String) throws -> Curve25519.Signing.PublicKey {
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard var data = Data(base64Encoded: body.trimmingCharacters(in: .whitespaces)) else { throw LakeInputError.file("public key", "is neither PEM nor base64") }
        if data.count == 44 { data = data.suffix(32) }
        return try Curve25519.Signing.PublicKey(rawRepresentation: data)
    }
}

/// What `canopy lake verify` found.
public struct LakeVerification: Sendable, Codable {
    public var events: Int64
    public var digests: Int
    /// Events after the last digest (chained, but sealed by no signature: a broken lake).
    public var unsealed: Int64
    /// The first broken link, if any ("event #12 (id …): …").
    public var problem: String?
    public var intact: Bool { problem == nil }

    public init(events: Int64, digests: Int, unsealed: Int64, problem: String?) {
        self.events = events
        self.digests = digests
        self.unsealed = unsealed
        self.problem = problem
    }

    enum CodingKeys: String, CodingKey { case events, digests, unsealed, problem, intact }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(events, forKey: .events)
        try container.encode(digests, forKey: .digests)
        try container.encode(unsealed, forKey: .unsealed)
        try container.encodeIfPresent(problem, forKey: .problem)
        try container.encode(intact, forKey: .intact)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            events: try container.decode(Int64.self, forKey: .events), digests: try container.decode(Int.self, forKey: .digests),
            unsealed: try container.decode(Int64.self, forKey: .unsealed), problem: try container.decodeIfPresent(String.self, forKey: .problem))
    }
}

public enum LakeVerifier {
    /// Verifies with the public key the lake holds (an empty lake, with no key yet, is intact).
    /// To trust nothing in the database, verify with an exported key instead.
    public static func verifyStored(store: any CanopyStore) async throws -> LakeVerification {
        guard let key = try await store.lakeKey() else {
            let events = try await store.countLakeEvents(LakeFilter())
            return LakeVerification(events: Int64(events), digests: 0, unsealed: Int64(events), problem: events == 0 ? nil : "events without a signing key: written outside Canopy")
        }
        return try await verify(store: store, publicKey: try Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey))
    }

    /// Walks the chain from the first event, recomputing every link and checking the indexed
    /// columns against the body, then checks every digest's signature, chaining and head. Names
    /// the first place it breaks: a changed, deleted, inserted or reordered event, or a digest
    /// that was altered, dropped or forged.
    public static func verify(store: any CanopyStore, publicKey: Curve25519.Signing.PublicKey) async throws -> LakeVerification {
        final class Walk: @unchecked Sendable {
            var expected: Int64 = 1
            var previous = LakeChain.genesis
            var heads: [Int64: String] = [:]
            var problem: String?
            var wanted: Set<Int64> = []
        }
        let digests = try await store.lakeDigests()
        let walk = Walk()
        walk.wanted = Set(digests.map(\.lastSeq))
        try await store.eachLakeEvent(LakeFilter()) { event in
            guard walk.problem == nil else { return }
            let name = "event #\(event.seq) (id \(event.eventID))"
            if event.seq != walk.expected {
                walk.problem = event.seq > walk.expected
                    ? "events #\(walk.expected)…#\(event.seq - 1) are missing before \(name): deleted"
                    : "\(name) is out of sequence: inserted or reordered"
                return
            }
            let link = LakeChain.link(previous: walk.previous, seq: event.seq, eventID: event.eventID, body: event.body)
            guard link == event.hash else {
                walk.problem = "\(name): its hash does not follow from the event before and its own body: the event was changed, inserted or reordered"
                return
            }
            if let columns = Self.columnsDisagree(event) {
                walk.problem = "\(name): the stored \(columns) does not match the event's body: changed in the database"
                return
            }
            if walk.wanted.contains(event.seq) { walk.heads[event.seq] = link }
            walk.previous = link
            walk.expected += 1
        }
        let count = walk.expected - 1
        if let problem = walk.problem { return LakeVerification(events: count, digests: digests.count, unsealed: 0, problem: problem) }
        var previousSignature = ""
        var sealed: Int64 = 0
        for digest in digests {
            let name = "digest #\(digest.id) (events #\(digest.firstSeq)…#\(digest.lastSeq))"
            let message = LakeChain.digestMessage(
                id: digest.id, firstSeq: digest.firstSeq, lastSeq: digest.lastSeq, headHash: digest.headHash, previousSignature: digest.previousSignature,
                signedAt: digest.signedAt)
            guard let signature = Data(base64Encoded: digest.signature), publicKey.isValidSignature(signature, for: message) else {
                return LakeVerification(events: count, digests: digests.count, unsealed: 0, problem: "\(name): the signature does not verify with the lake's public key")
            }
            guard digest.previousSignature == previousSignature, digest.firstSeq == sealed + 1 else {
                return LakeVerification(events: count, digests: digests.count, unsealed: 0, problem: "\(name) does not follow the digest before it: a digest was removed or replaced")
            }
            guard let head = walk.heads[digest.lastSeq], head == digest.headHash else {
                return LakeVerification(
                    events: count, digests: digests.count, unsealed: 0,
                    problem: digest.lastSeq > count ? "\(name) seals events the lake no longer holds: deleted at the end" : "\(name): the chain at #\(digest.lastSeq) is not what was signed")
            }
            previousSignature = digest.signature
            sealed = digest.lastSeq
        }
        // Every import seals what it adds in the same transaction: events past the last digest were
        // written by something else.
        if count > sealed {
            return LakeVerification(
                events: count, digests: digests.count, unsealed: count - sealed,
                problem: "events #\(sealed + 1)…#\(count) are not sealed by any digest: appended outside Canopy")
        }
        return LakeVerification(events: count, digests: digests.count, unsealed: 0, problem: nil)
    }

    /// The first indexed column that is not what the body says, if any.
    static func columnsDisagree(_ event: LakeEvent) -> String? {
        guard let record = try? CloudTrailEvent(text: event.body), let lifted = try? CloudTrailReader.event(record, file: "", index: 0) else { return "body" }
        let stored = event.record
        if lifted == stored { return nil }
        let fields: [(String, Bool)] = [
            ("eventID", lifted.eventID == stored.eventID), ("eventTime", lifted.eventTime == stored.eventTime), ("account", lifted.account == stored.account),
            ("region", lifted.region == stored.region), ("eventSource", lifted.eventSource == stored.eventSource),
            ("eventName", lifted.eventName == stored.eventName), ("userIdentity.arn", lifted.userARN == stored.userARN),
            ("userIdentity.type", lifted.userType == stored.userType), ("sourceIPAddress", lifted.sourceIP == stored.sourceIP),
            ("errorCode", lifted.errorCode == stored.errorCode), ("readOnly", lifted.readOnly == stored.readOnly),
        ]
        if let different = fields.first(where: { !$0.1 }) { return different.0 }
        return nil
    }
}

/// The lake's filter language: clauses joined by `and`, each `field op value`, e.g.
/// `eventName=StopLogging and eventTime>=2024-07-01 and userIdentity.arn~admin`. Operators: `=`,
/// `!=`, `>=`, `<=`, `>`, `<`, `~` (contains); `field=*` is "present", `field!=*` "absent". Values
/// may be double-quoted (to hold spaces).
public enum LakeQuery {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static let fields = LakeFilter.Field.allCases.map(\.rawValue)

    public static func parse(_ text: String) throws -> LakeFilter {
        var clauses: [LakeFilter.Clause] = []
        for part in split(text) where !part.isEmpty {
            // The first place an operator starts; there, the longest operator that leaves a value
            // (`a>=b` is `>=`, but `a>=` alone is `>` with the value `=`).
            let starts = LakeFilter.Operator.allCases.compactMap { part.range(of: $0.rawValue)?.lowerBound }
            guard let at = starts.min() else { throw Problem(description: "'\(part)': expected field, operator and value (e.g. eventName=StopLogging)") }
            let name = part[..<at].trimmingCharacters(in: .whitespaces)
            let candidates = LakeFilter.Operator.allCases.filter { part[at...].hasPrefix($0.rawValue) }.sorted { $0.rawValue.count > $1.rawValue.count }
            var chosen = candidates[0]
            var value = ""
            for candidate in candidates {
                value = part[part.index(at, offsetBy: candidate.rawValue.count)...].trimmingCharacters(in: .whitespaces)
                chosen = candidate
                if !value.isEmpty { break }
            }
            guard let field = LakeFilter.Field(rawValue: name) else {
                throw Problem(description: "'\(name)' is not a field: use one of \(fields.joined(separator: ", "))")
            }
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard !value.isEmpty else { throw Problem(description: "'\(part)': the value is empty") }
            if field == .eventTime, Timestamps.parse(value) == nil, CostCalendar.date(value) == nil {
                throw Problem(description: "eventTime '\(value)' is not a day (YYYY-MM-DD) or an ISO 8601 time")
            }
            if field == .readOnly, !["true", "false", "*"].contains(value.lowercased()) { throw Problem(description: "readOnly is true or false") }
            clauses.append(LakeFilter.Clause(field: field, op: chosen, value: value))
        }
        return LakeFilter(clauses: clauses)
    }

    /// Splits on ` and ` outside double quotes.
    static func split(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        let words = text.split(separator: " ", omittingEmptySubsequences: false)
        for word in words {
            let quotes = word.filter { $0 == "\"" }.count
            if !quoted, word.lowercased() == "and" {
                parts.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
                continue
            }
            current += (current.isEmpty ? "" : " ") + word
            if quotes % 2 == 1 { quoted.toggle() }
        }
        parts.append(current.trimmingCharacters(in: .whitespaces))
        return parts
    }
}

/// Lake events as CSV (the common fields) or JSON (the records as received).
public enum LakeExport {
    public static let header = "eventTime,eventID,account,region,eventSource,eventName,userIdentity.type,userIdentity.arn,sourceIPAddress,errorCode,readOnly,seq"

    public static func csv(_ events: [LakeEvent]) -> String {
        var lines = [header]
        for e in events {
            lines.append(
                [Timestamps.iso8601(e.eventTime), e.eventID, e.account, e.region, e.eventSource, e.eventName, e.userType ?? "", e.userARN ?? "", e.sourceIP ?? "",
                 e.errorCode ?? "", e.readOnly.map { $0 ? "true" : "false" } ?? "", String(e.seq)].map { CSVText.field($0) }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ events: [LakeEvent]) -> String {
        "[" + events.map(\.body).joined(separator: ",\n") + "]\n"
    }
}
