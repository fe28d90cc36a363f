import CanopyAWS
import Foundation

/// Command arguments that are files or `s3://bucket/prefix`: the objects under a prefix whose
/// names end in one of `suffixes` are downloaded (in ranges) into a private folder first, so
/// the importers read everything as files.
enum S3Sources {
    static func localFiles(
        _ paths: [String], suffixes: [String], work: URL, profile: String?, endpoint: String?, region: String?
    ) async throws -> [(path: String, name: String)] {
        var local: [(path: String, name: String)] = []
        for path in paths {
            guard let (bucket, prefix) = S3Objects.parse(path) else {
                local.append((path, path))
                continue
            }
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let environment = ProcessInfo.processInfo.environment
            try await AsyncHTTPClientTransport.with { transport in
                let (client, _) = try await CallerClient.resolve(transport: transport, environment: environment, profile: profile, endpoint: endpoint)
                let bucketRegion = region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
                let objects = try await S3Objects.list(client: client, bucket: bucket, prefix: prefix, region: bucketRegion)
                    .filter { object in suffixes.contains { object.key.hasSuffix($0) } && object.size > 0 }
                    .sorted { $0.key < $1.key }
                if objects.isEmpty { printErr("\(path): no \(suffixes.joined(separator: " or ")) objects") }
                for (index, object) in objects.enumerated() {
                    let file = work.appendingPathComponent("\(local.count + index)-" + (object.key.split(separator: "/").last.map(String.init) ?? "object"))
                    try await S3Objects.download(client: client, bucket: bucket, key: object.key, region: bucketRegion, to: file)
                    local.append((file.path, "s3://\(bucket)/\(object.key)"))
                }
            }
        }
        return local
    }
}
