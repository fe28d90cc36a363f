import Foundation

/// What one CloudTrail record says: the record as received (`body`, canonical JSON) and the
/// common fields queries filter on, lifted out of it.
public struct LakeRecord: Sendable, Hashable, Codable {
    public var eventID: String
    public var eventTime: Date
    public var account: String
    public var region: String
    public var eventSource: String
    public var eventName: String
    public var userARN: String?
    public var userType: String?
    public var sourceIP: String?
    public var errorCode: String?
    public var readOnly: Bool?
    public var body: String

    public init(
        eventID: String, eventTime: Date, account: String, region: String, eventSource: String, eventName: String, userARN: String?,
        userType: String?, sourceIP: String?, errorCode: String?, readOnly: Bool?, body: String
    ) {
        self.eventID = eventID
        self.eventTime = eventTime
        self.account = account
        self.region = region
        self.eventSource = eventSource
        self.eventName = eventName
        self.userARN = userARN
        self.userType = userType
        self.sourceIP = sourceIP
        self.errorCode = errorCode
        self.readOnly = readOnly
        self.body = body
    }
}

/// One activity event in the lake: a record with its place in the hash chain. Its record's
/// fields read as its own (`event.eventName`).
@dynamicMemberLookup
public struct LakeEvent: Sendable, Hashable, Codable {
    /// Position in the lake, from 1, without gaps.
    public var seq: Int64
    public var record: LakeRecord
    /// SHA-256 (hex) of this event chained to the one before (`LakeChain.link`).
    public var hash: String

    public init(seq: Int64, record: LakeRecord, hash: String) {
        self.seq = seq
        self.record = record
        self.hash = hash
    }

    public subscript<T>(dynamicMember field: KeyPath<LakeRecord, T>) -> T { record[keyPath: field] }
}

/// A signed statement that the lake held events 1…`lastSeq` with `headHash` at their end: Ed25519
/// over `LakeChain.digestMessage`, each digest naming the one before, so neither events nor
/// digests can be changed, dropped or added after the fact without the private key.
public struct LakeDigest: Sendable, Hashable, Codable {
    public var id: Int64
    public var firstSeq: Int64
    public var lastSeq: Int64
    public var headHash: String
    /// The previous digest's signature (base64), "" for the first.
    public var previousSignature: String
    public var signedAt: Date
    /// Base64 Ed25519 signature.
    public var signature: String

    public init(id: Int64, firstSeq: Int64, lastSeq: Int64, headHash: String, previousSignature: String, signedAt: Date, signature: String) {
        self.id = id
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.headHash = headHash
        self.previousSignature = previousSignature
        self.signedAt = signedAt
        self.signature = signature
    }
}

/// A lake query: clauses over the common fields, all of which must hold.
public struct LakeFilter: Sendable, Hashable {
    public enum Field: String, Sendable, CaseIterable {
        case eventTime, account, region, eventSource, eventName, userARN = "userIdentity.arn", userType = "userIdentity.type"
        case sourceIPAddress, errorCode, readOnly, eventID
    }

    public enum Operator: String, Sendable, CaseIterable {
        case equal = "=", notEqual = "!=", atLeast = ">=", atMost = "<=", greater = ">", less = "<", contains = "~"
    }

    public struct Clause: Sendable, Hashable {
        public var field: Field
        public var op: Operator
        /// The value; `*` with `=` means "present", with `!=` "absent".
        public var value: String

        public init(field: Field, op: Operator, value: String) {
            self.field = field
            self.op = op
            self.value = value
        }
    }

    public var clauses: [Clause]
    /// Only events of these accounts (a business-unit owner's scope); nil: every account.
    public var accounts: [String]?

    public init(clauses: [Clause] = [], accounts: [String]? = nil) {
        self.clauses = clauses
        self.accounts = accounts
    }
}
