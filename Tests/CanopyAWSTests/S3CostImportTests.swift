import CanopyAWS
import CanopyIngest
import CanopyModel
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

/// Cost exports read from an S3 prefix on moto: listed, downloaded in ranges, imported like files.
extension MotoIntegrationTests {
    @Test func costExportsImportFromAnS3PrefixWithTheSameTotals() async throws {
        let sample = Moto.sharedDirectory.appendingPathComponent("corpus/focus/focus-1.0-sample.csv")
        try #require(FileManager.default.fileExists(atPath: sample.path), "needs ../shared/corpus")
        let bucket = "canopy-cost-\(UUID().uuidString.prefix(8).lowercased())"
        try Moto.boto3("""
            import gzip
            s3 = client("s3")
            s3.create_bucket(Bucket="\(bucket)")
            data = open("\(sample.path)", "rb").read()
            s3.put_object(Bucket="\(bucket)", Key="exports/2024/focus.csv.gz", Body=gzip.compress(data))
            s3.put_object(Bucket="\(bucket)", Key="exports/readme.txt", Body=b"not a cost file")
            s3.put_object(Bucket="\(bucket)", Key="elsewhere/focus.csv", Body=data)
            """)
        let client = Self.client()
        let parsed = try #require(S3Objects.parse("s3://\(bucket)/exports/"))
        let objects = try await S3Objects.list(client: client, bucket: parsed.bucket, prefix: parsed.prefix, region: "us-east-1")
        #expect(objects.map(\.key).sorted() == ["exports/2024/focus.csv.gz", "exports/readme.txt"])
        // Ranged in small pieces: the same bytes as the object.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let copy = folder.appendingPathComponent("focus.csv")
        let written = try await S3Objects.download(client: client, bucket: bucket, key: "elsewhere/focus.csv", region: "us-east-1", to: copy, chunk: 64 * 1024)
        #expect(try Data(contentsOf: copy) == Data(contentsOf: sample) && written > 64 * 1024 * 10)
        let zipped = folder.appendingPathComponent("focus.csv.gz")
        try await S3Objects.download(client: client, bucket: bucket, key: "exports/2024/focus.csv.gz", region: "us-east-1", to: zipped, chunk: 50_000)
        // Imported from S3 or from disk, the ledger is the same.
        let fromS3 = try SQLiteStore()
        let fromDisk = try SQLiteStore()
        _ = try await fromS3.importCosts(file: "s3://\(bucket)/exports/2024/focus.csv.gz", sha256: "s3", format: .focus10, rows: try CostFile.open(zipped.path), actor: "t")
        _ = try await fromDisk.importCosts(file: sample.path, sha256: "disk", format: .focus10, rows: try CostFile.open(sample.path), actor: "t")
        let s3Days = try await fromS3.costDays(CostQuery())
        let diskDays = try await fromDisk.costDays(CostQuery())
        #expect(s3Days.reduce(Decimal(0)) { $0 + $1.billedCost } == diskDays.reduce(Decimal(0)) { $0 + $1.billedCost })
        #expect(s3Days.count == diskDays.count)
    }
}
