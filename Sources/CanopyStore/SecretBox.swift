import Crypto
import Foundation

/// Seals secrets Canopy must keep but never show (webhook addresses) with AES-GCM, so a copy of
/// the database alone reveals none of them. The key lives outside the database: in
/// `CANOPY_SECRET_KEY` (base64 of 32 bytes) or in a key file beside it, created on first use
/// with owner-only permissions.
public struct SecretBox: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// A throwaway key (tests, in-memory databases).
    public static func ephemeral() -> SecretBox { SecretBox(key: SymmetricKey(size: .bits256)) }

    /// The key from the environment, else from `path` (created if absent).
    public static func load(keyFile path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretBox {
        if let text = environment["CANOPY_SECRET_KEY"] {
            guard let data = Data(base64Encoded: text), data.count == 32 else {
                throw SecretBoxError.badKey("CANOPY_SECRET_KEY must be the base64 of 32 random bytes (`head -c32 /dev/urandom | base64`)")
            }
            return SecretBox(key: SymmetricKey(data: data))
        }
        let manager = FileManager.default
        if let data = manager.contents(atPath: path) {
            guard let decoded = Data(base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                decoded.count == 32
            else { throw SecretBoxError.badKey("\(path) does not hold a base64 key of 32 bytes") }
            return SecretBox(key: SymmetricKey(data: decoded))
        }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0) }.base64EncodedString() + "\n"
        guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SecretBoxError.badKey("cannot create the key file \(path): check that its directory is writable")
        }
        return SecretBox(key: key)
    }

    public func seal(_ secret: String) throws -> String {
        guard let combined = try AES.GCM.seal(Data(secret.utf8), using: key).combined else { throw SecretBoxError.cannotOpen }
        return combined.base64EncodedString()
    }

    public func open(_ sealed: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw SecretBoxError.cannotOpen }
        do {
            return String(decoding: try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key), as: UTF8.self)
        } catch {
            throw SecretBoxError.cannotOpen
        }
    }
}

public enum SecretBoxError: Error, CustomStringConvertible, Sendable {
    case badKey(String)
    case cannotOpen

    public var description: String {
        switch self {
        case .badKey(let message): message
        case .cannotOpen: "a sealed secret cannot be opened with this key (was the key file replaced?)"
        }
    }
}
