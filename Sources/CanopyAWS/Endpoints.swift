import Foundation

/// Where each service's requests go: AWS's public endpoints, or overrides (moto, VPC endpoints)
/// following the AWS convention `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`.
public struct EndpointResolver: Sendable {
    public var globalOverride: URL?
    /// Keyed by botocore service name (`ec2`, `elbv2`).
    public var serviceOverrides: [String: URL]

    public init(globalOverride: URL? = nil, serviceOverrides: [String: URL] = [:]) {
        self.globalOverride = globalOverride
        self.serviceOverrides = serviceOverrides
    }

    /// The environment variable suffix AWS's SDKs use for each service (its service id, upper snake case).
    public static let environmentNames: [String: String] = [
        "ec2": "EC2", "s3": "S3", "iam": "IAM", "rds": "RDS", "dynamodb": "DYNAMODB", "kms": "KMS",
        "lambda": "LAMBDA", "elbv2": "ELASTIC_LOAD_BALANCING_V2", "autoscaling": "AUTO_SCALING",
        "cloudtrail": "CLOUDTRAIL", "config": "CONFIG_SERVICE", "backup": "BACKUP", "route53": "ROUTE_53",
        "organizations": "ORGANIZATIONS", "sts": "STS", "cloudwatch": "CLOUDWATCH", "guardduty": "GUARDDUTY",
    ]

    /// Reads the overrides from an environment; `--endpoint` on the command line wins over both.
    public static func fromEnvironment(_ environment: [String: String], explicit: URL? = nil) -> EndpointResolver {
        var overrides: [String: URL] = [:]
        for (service, suffix) in environmentNames {
            if let text = environment["AWS_ENDPOINT_URL_\(suffix)"], let url = URL(string: text) {
                overrides[service] = url
            }
        }
        let global = explicit ?? environment["AWS_ENDPOINT_URL"].flatMap(URL.init(string:))
        return EndpointResolver(globalOverride: global, serviceOverrides: explicit == nil ? overrides : [:])
    }

    public var isOverridden: Bool { globalOverride != nil || !serviceOverrides.isEmpty }

    /// The endpoint and the region to sign with. Global services (IAM, Route 53, Organizations)
    /// live in us-east-1 whatever region the caller is working in.
    public func endpoint(service: String, model: ServiceModel, region: String) -> (url: URL, signingRegion: String) {
        let signingRegion = Self.globalServices[service] ?? (region == "global" ? "us-east-1" : region)
        if let url = serviceOverrides[service] ?? globalOverride { return (url, signingRegion) }
        let host: String
        switch service {
        case "iam": host = "iam.amazonaws.com"
        case "route53": host = "route53.amazonaws.com"
        case "organizations": host = "organizations.us-east-1.amazonaws.com"
        case "s3" where signingRegion == "us-east-1": host = "s3.amazonaws.com"
        default: host = "\(model.metadata.endpointPrefix).\(signingRegion).amazonaws.com"
        }
        return (URL(string: "https://\(host)")!, signingRegion)
    }

    static let globalServices: [String: String] = [
        "iam": "us-east-1", "route53": "us-east-1", "organizations": "us-east-1",
    ]
}
