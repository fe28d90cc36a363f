import CanopyAWS
import CanopyLake
import CanopyModel
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

/// CloudTrail as S3 delivers it (gzip under AWSLogs/…), read from moto into the lake.
extension MotoIntegrationTests {
    @Test func cloudTrailLogsImportFromAnS3PrefixIntoAVerifiedLake() async throws {
        let sample = Moto.sharedDirectory.appendingPathComponent("corpus/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json")
        let bucket = "canopy-trail-\(UUID().uuidString.prefix(8).lowercased())"
        let key = "AWSLogs/143434273843/CloudTrail/us-east-1/2024/07/31/143434273843_CloudTrail_us-east-1_20240731T1305Z_a.json.gz"
        try Moto.boto3("""
            import gzip, json
            s3 = client("s3")
            s3.create_bucket(Bucket="\(bucket)")
            records = json.load(open("\(sample.path)"))
            s3.put_object(Bucket="\(bucket)", Key="\(key)", Body=gzip.compress(json.dumps({"Records": records}).encode()))
            """)
        let client = Self.client()
        let objects = try await S3Objects.list(client: client, bucket: bucket, prefix: "AWSLogs/", region: "us-east-1")
        #expect(objects.map(\.key) == [key])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).json.gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try await S3Objects.download(client: client, bucket: bucket, key: key, region: "us-east-1", to: file)
        let read = try CloudTrailReader.read(path: file.path, name: "s3://\(bucket)/\(key)")
        let store = try SQLiteStore()
        let signer = try await LakeSigner.load(store: store, box: .ephemeral())
        let appended = try await store.appendLakeEvents(read.events, source: "s3://\(bucket)/\(key)", actor: "t") { try signer.sign($0) }
        #expect(appended.added == read.events.count && appended.added > 0)
        #expect(try await store.lakeEvents(try LakeQuery.parse("eventName=StopLogging"), limit: nil).count == 1)
        #expect(try await LakeVerifier.verify(store: store, publicKey: signer.publicKey).intact)
    }
}
