import ArgumentParser
import CanopyAWS
import Foundation

/// Where AWS is and who calls it, for commands that read S3 or call an AWS API outside a scan.
struct AWSOptions: ParsableArguments {
    @Option(help: "The AWS profile (default: the usual credential chain).") var profile: String?
    @Option(help: "An endpoint override (e.g. http://127.0.0.1:5055).") var endpoint: String?
    @Option(help: "The region (of the bucket, or of the service; default AWS_REGION or us-east-1).") var region: String?

    /// Runs `body` with a client for the caller's credentials and the region to use.
    func with<T: Sendable>(_ body: @Sendable (AWSClient, String) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        let (profile, endpoint) = (profile, endpoint)
        let region = region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        return try await AsyncHTTPClientTransport.with { transport in
            let (client, _) = try await CallerClient.resolve(transport: transport, environment: environment, profile: profile, endpoint: endpoint)
            return try await body(client, region)
        }
    }
}

/// Command arguments that are files or `s3://bucket/prefix`: the objects under a prefix whose
/// names end in one of `suffixes` are downloaded (in ranges) into a private folder first, so
/// the importers read everything as files.
enum S3Sources {
    static func localFiles(_ paths: [String], suffixes: [String], work: URL, aws: AWSOptions) async throws -> [(path: String, name: String)] {
        var local: [(path: String, name: String)] = []
        for path in paths {
            guard let (bucket, prefix) = S3Objects.parse(path) else {
                local.append((path, path))
                continue
            }
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let first = local.count
            local += try await aws.with { client, region in
                let objects = try await S3Objects.list(client: client, bucket: bucket, prefix: prefix, region: region)
                    .filter { object in suffixes.contains { object.key.hasSuffix($0) } && object.size > 0 }
                    .sorted { $0.key < $1.key }
                if objects.isEmpty { printErr("\(path): no \(suffixes.joined(separator: " or ")) objects") }
                var files: [(path: String, name: String)] = []
                for (index, object) in objects.enumerated() {
                    let file = work.appendingPathComponent("\(first + index)-" + (object.key.split(separator: "/").last.map(String.init) ?? "object"))
                    try await S3Objects.download(client: client, bucket: bucket, key: object.key, region: region, to: file)
                    files.append((file.path, "s3://\(bucket)/\(object.key)"))
                }
                return files
            }
        }
        return local
    }
}
