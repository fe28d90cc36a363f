import Foundation

/// Reading objects from S3 (cost exports land there): listing a prefix, and downloading an
/// object to a file in ranged pieces, so an export of any size passes through constant memory.
public enum S3Objects {
    public struct Object: Sendable, Hashable {
        public var key: String
        public var size: Int
    }

    /// `s3://bucket/prefix` → (bucket, prefix), or nil.
    public static func parse(_ url: String) -> (bucket: String, prefix: String)? {
        guard url.hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst("s3://".count)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let bucket = parts.first, !bucket.isEmpty else { return nil }
        return (bucket, parts.count > 1 ? parts[1] : "")
    }

    /// Every object under `prefix`, following continuation tokens.
    public static func list(client: AWSClient, bucket: String, prefix: String, region: String) async throws -> [Object] {
        var objects: [Object] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let page = try await client.rest("s3", "ListObjectsV2", region: region, path: "/", query: query, bucket: bucket)
            for item in page["Contents"]?.arrayValue ?? [] {
                guard let key = item["Key"]?.stringValue else { continue }
                objects.append(Object(key: key, size: Int(item["Size"]?.intValue ?? 0)))
            }
            token = page["IsTruncated"]?.boolValue == true ? page["NextContinuationToken"]?.stringValue : nil
        } while token != nil
        return objects
    }

    /// Downloads `key` to `file` in `chunk`-byte ranges; answers the bytes written.
    @discardableResult
    public static func download(
        client: AWSClient, bucket: String, key: String, region: String, to file: URL, chunk: Int = 8 << 20
    ) async throws -> Int {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        var offset = 0
        var total: Int?
        let path = "/" + key.split(separator: "/", omittingEmptySubsequences: false).map { SigV4Signer.uriEncode(String($0)) }.joined(separator: "/")
        repeat {
            let range = "bytes=\(offset)-\(offset + chunk - 1)"
            let (body, size) = try await client.rawGet("s3", region: region, bucket: bucket, path: path, headers: [("Range", range)])
            if body.isEmpty { break }
            try handle.write(contentsOf: body)
            offset += body.count
            total = size ?? offset
        } while offset < (total ?? 0)
        return offset
    }
}

extension S3Objects {
    /// An object's user metadata (`x-amz-meta-*`, names without the prefix, lower-cased): read
    /// from the headers of a one-byte ranged GET, which every S3 (and moto) answers.
    public static func metadata(client: AWSClient, bucket: String, key: String, region: String) async throws -> [String: String] {
        let model = try ServiceModels.model("s3")
        let pathStyle = client.endpoints.isOverridden
        let path = "/" + key.split(separator: "/", omittingEmptySubsequences: false).map { SigV4Signer.uriEncode(String($0)) }.joined(separator: "/")
        return try await client.performRaw(service: "s3", model: model, operation: "GetObject", region: region) { endpoint in
            let (target, encodedPath) = AWSClient.address(bucket: bucket, path: path, endpoint: endpoint, pathStyle: pathStyle)
            return AWSHTTPRequest(method: "GET", endpoint: target, encodedPath: encodedPath, headers: [("Range", "bytes=0-0")])
        } decode: { response in
            var metadata: [String: String] = [:]
            for header in response.headers where header.name.lowercased().hasPrefix("x-amz-meta-") {
                metadata[String(header.name.lowercased().dropFirst("x-amz-meta-".count))] = header.value
            }
            return metadata
        }
    }
}

extension AWSClient {
    /// A signed GET whose body is the answer (S3 objects): the bytes, and the full size from
    /// `Content-Range` when the answer is a range.
    func rawGet(_ service: String, region: String, bucket: String, path: String, headers: [(name: String, value: String)]) async throws -> (Data, Int?) {
        let model = try ServiceModels.model(service)
        let pathStyle = endpoints.isOverridden
        return try await performRaw(service: service, model: model, operation: "GetObject", region: region) { endpoint in
            let (target, encodedPath) = Self.address(bucket: bucket, path: path, endpoint: endpoint, pathStyle: pathStyle)
            return AWSHTTPRequest(method: "GET", endpoint: target, encodedPath: encodedPath, headers: headers)
        } decode: { response in
            // `bytes 0-8388607/12345678`: the size after the slash.
            let size = response.header("Content-Range").flatMap { $0.split(separator: "/").last.flatMap { Int($0) } }
            return (response.body, size)
        }
    }
}
