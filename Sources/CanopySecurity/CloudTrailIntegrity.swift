import CanopyAWS
import CanopyIngest
import CanopyLake
import Foundation

/// CloudTrail's digests and log files as they sit in a trail's bucket (or a local copy of it),
/// gathered for `CloudTrailDigests.verify`.
public enum CloudTrailIntegrity {
    public typealias Loaded = (digests: [CloudTrailDigests.Digest], logs: [String: Data])

    /// Every `.json.gz` object under the prefix: digests (with the signature from their
    /// `x-amz-meta-signature`) and log files, uncompressed.
    public static func load(client: AWSClient, bucket: String, prefix: String, region: String) async throws -> Loaded {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-trail-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: work) }
        var digests: [CloudTrailDigests.Digest] = []
        var logs: [String: Data] = [:]
        let objects = try await S3Objects.list(client: client, bucket: bucket, prefix: prefix, region: region).filter { $0.key.hasSuffix(".json.gz") }
        for (index, object) in objects.enumerated() {
            let file = work.appendingPathComponent("\(index).json.gz")
            try await S3Objects.download(client: client, bucket: bucket, key: object.key, region: region, to: file)
            let content = try FileBytes.read(file.path)
            if CloudTrailDigests.isDigest(object.key) {
                let metadata = try await S3Objects.metadata(client: client, bucket: bucket, key: object.key, region: region)
                digests.append(.init(bucket: bucket, key: object.key, content: content, signature: metadata["signature"]))
            } else {
                logs["\(bucket)/\(object.key)"] = content
            }
        }
        return (digests, logs)
    }

    /// A local copy of a trail's bucket: keys are the paths under `root`; a digest's signature
    /// is in `<digest>.signature` beside it (hex, as S3 keeps it in the object's metadata).
    public static func load(directory root: String, bucket: String) throws -> Loaded {
        let root = URL(fileURLWithPath: root).standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw LakeInputError.file(root, "cannot read the folder") }
        var digests: [CloudTrailDigests.Digest] = []
        var logs: [String: Data] = [:]
        while let key = walker.nextObject() as? String {
            guard key.hasSuffix(".json.gz") else { continue }
            let path = (root as NSString).appendingPathComponent(key)
            let content = try FileBytes.read(path)
            if CloudTrailDigests.isDigest(key) {
                let signature = try? String(contentsOfFile: path + ".signature", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                digests.append(.init(bucket: bucket, key: key, content: content, signature: signature))
            } else {
                logs["\(bucket)/\(key)"] = content
            }
        }
        return (digests, logs)
    }
}
