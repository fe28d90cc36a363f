import CanopyModel
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The moto server the integration tests talk to (started by `.ci/run`, or by hand:
/// `moto_server -H 127.0.0.1 -p 5055`), and the shared seeding script.
public enum Moto {
    public static let endpoint = URL(string: ProcessInfo.processInfo.environment["CANOPY_MOTO_ENDPOINT"] ?? "http://127.0.0.1:5055")!

    /// The team's shared folder: `CANOPY_SHARED`, or `../shared` beside the repository.
    public static let sharedDirectory: URL = {
        if let path = ProcessInfo.processInfo.environment["CANOPY_SHARED"] { return URL(fileURLWithPath: path) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var seedScript: URL { sharedDirectory.appendingPathComponent("tools/moto/seed_estate.py") }

    /// True when a moto server answers and the seeding script is present.
    public static let isAvailable: Bool = {
        FileManager.default.fileExists(atPath: seedScript.path) && portIsOpen(host: endpoint.host ?? "127.0.0.1", port: endpoint.port ?? 80)
    }()

    public static let unavailableReason =
        "needs moto on \(endpoint.absoluteString) and \(seedScript.path) (run .ci/run, or start moto_server)"

    /// Resets moto and seeds the GridCo estate deterministically; returns the manifest.
    @discardableResult
    public static func seed(scale: Int = 0) throws -> JSONValue {
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-estate-\(UUID().uuidString).json")
        var arguments = [seedScript.path, "--endpoint", endpoint.absoluteString, "--reset", "--quiet", "--manifest", manifest.path]
        if scale > 0 { arguments += ["--scale", String(scale)] }
        try python(arguments)
        defer { try? FileManager.default.removeItem(at: manifest) }
        return try JSONValue.parse(Data(contentsOf: manifest))
    }

    /// Runs a short boto3 script against moto (for changes the read-only client cannot make).
    public static func boto3(_ script: String) throws {
        let prelude = """
            import boto3
            def client(service, region="us-east-1", account=None):
                session = boto3.session.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
                if account:
                    sts = session.client("sts", region_name=region, endpoint_url="\(endpoint.absoluteString)")
                    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test")["Credentials"]
                    session = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
                return session.client(service, region_name=region, endpoint_url="\(endpoint.absoluteString)")

            """
        try python(["-c", prelude + script])
    }

    /// Posts to moto's control API (`/moto-api/reset-auth`, …).
    public static func control(_ path: String, body: String) throws {
        try python([
            "-c",
            "import urllib.request; urllib.request.urlopen(urllib.request.Request('\(endpoint.absoluteString)\(path)', data=b'\(body)', method='POST', headers={'Content-Type': 'text/plain'}), timeout=30).read()",
        ])
    }

    static func python(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw MotoError(message: String(decoding: stderr, as: UTF8.self))
        }
    }

    public struct MotoError: Error, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { "python helper failed: \(message)" }
    }

    static func portIsOpen(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
