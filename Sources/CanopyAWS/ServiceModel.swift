import Foundation

/// The slice of an AWS API model Canopy needs to decode responses into boto3's shape: member
/// names, types, wire names and list wrapping (generated from botocore by Scripts/generate-shapes.py).
public struct ServiceModel: Sendable, Decodable {
    public struct Metadata: Sendable, Decodable {
        public var apiVersion: String
        public var endpointPrefix: String
        public var signingName: String?
        public var targetPrefix: String?
        public var jsonVersion: String?
        public var globalEndpoint: String?
        public var `protocol`: WireProtocol
    }

    public struct Operation: Sendable, Decodable {
        public struct HTTP: Sendable, Decodable {
            public var method: String
            public var requestUri: String
        }
        public var http: HTTP
        public var output: String?
        public var resultWrapper: String?
    }

    public struct MemberRef: Sendable, Decodable {
        public var shape: String
        public var locationName: String?
        public var flattened: Bool?
        public var location: String?
        public var xmlAttribute: Bool?
    }

    public struct Shape: Sendable, Decodable {
        public var type: String
        public var flattened: Bool?
        public var locationName: String?
        public var timestampFormat: String?
        public var payload: String?
        public var members: [String: MemberRef]?
        public var member: MemberRef?
        public var key: MemberRef?
        public var value: MemberRef?
    }

    public var metadata: Metadata
    public var operations: [String: Operation]
    public var shapes: [String: Shape]

    public var signingName: String { metadata.signingName ?? metadata.endpointPrefix }

    public func operation(_ name: String) throws -> Operation {
        guard let operation = operations[name] else { throw AWSModelError.unknownOperation(metadata.endpointPrefix, name) }
        return operation
    }
}

public enum WireProtocol: String, Sendable, Decodable {
    case ec2
    case query
    case restXML = "rest-xml"
    case json
    case restJSON = "rest-json"
}

public enum AWSModelError: Error, CustomStringConvertible, Sendable {
    case unknownService(String)
    case unknownOperation(String, String)

    public var description: String {
        switch self {
        case .unknownService(let s): "no API model bundled for service '\(s)' (run Scripts/generate-shapes.py)"
        case .unknownOperation(let s, let o): "operation \(o) of '\(s)' is not in the bundled model (add it to Scripts/generate-shapes.py)"
        }
    }
}

/// The bundled models, read once on first use. They are immutable data, like a compiled-in table.
public enum ServiceModels {
    private static let loaded: [String: ServiceModel] = {
        var models: [String: ServiceModel] = [:]
        let directory = Bundle.module.resourceURL?.appendingPathComponent("shapes")
        let urls = directory.flatMap { try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil) } ?? []
        for url in urls where url.pathExtension == "json" {
            guard let data = try? Data(contentsOf: url),
                let model = try? JSONDecoder().decode(ServiceModel.self, from: data)
            else { continue }
            models[url.deletingPathExtension().lastPathComponent] = model
        }
        return models
    }()

    /// The model for a service by its botocore name (`ec2`, `s3`, `elbv2`).
    public static func model(_ service: String) throws -> ServiceModel {
        guard let model = loaded[service] else { throw AWSModelError.unknownService(service) }
        return model
    }
}
