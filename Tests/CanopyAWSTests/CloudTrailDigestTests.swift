import CanopyAWS
import CanopyLake
import CanopyModel
import CanopySecurity
import CanopyTestSupport
import Foundation
import Testing

/// CloudTrail's log file integrity validation, against a trail bucket in moto written the way
/// CloudTrail writes it: gzip log files, hourly digest files chained by hash and signature,
/// each signed SHA256withRSA by an independent implementation (Python `cryptography`, over the
/// string the AWS CLI's `validate-logs` checks), the signature in `x-amz-meta-signature`.
extension MotoIntegrationTests {
    static func writeTrail(bucket: String, tamper: String) throws -> String {
        let stratus = Moto.sharedDirectory.appendingPathComponent("corpus/cloudtrail/stratus-red-team").path
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-ct-key-\(UUID().uuidString).txt")
        try Moto.boto3("""
            import gzip, hashlib, json, os, base64
            from cryptography.hazmat.primitives.asymmetric import rsa, padding
            from cryptography.hazmat.primitives import hashes, serialization
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
            fingerprint = hashlib.md5(der).hexdigest()
            open("\(keyFile.path)", "w").write(f"{fingerprint}={base64.b64encode(der).decode()}\\n")
            s3 = client("s3")
            s3.create_bucket(Bucket="\(bucket)")
            files = sorted(f for f in os.listdir("\(stratus)") if f.endswith(".json"))[:6]
            account, region = "111122223333", "us-east-1"
            previous = None
            for hour in range(3):
                logs = []
                for n, f in enumerate(files[hour * 2: hour * 2 + 2]):
                    body = json.dumps({"Records": json.load(open(os.path.join("\(stratus)", f)))}).encode()
                    k = f"AWSLogs/{account}/CloudTrail/{region}/2024/08/01/{account}_CloudTrail_{region}_20240801T0{hour}0{n}Z_{hashlib.md5(f.encode()).hexdigest()[:16]}.json.gz"
                    s3.put_object(Bucket="\(bucket)", Key=k, Body=gzip.compress(body))
                    logs.append({"s3Bucket": "\(bucket)", "s3Object": k, "hashValue": hashlib.sha256(body).hexdigest(), "hashAlgorithm": "SHA-256",
                                 "newestEventTime": f"2024-08-01T0{hour}:50:00Z", "oldestEventTime": f"2024-08-01T0{hour}:10:00Z"})
                end = f"2024-08-01T0{hour + 1}:00:00Z"
                dk = f"AWSLogs/{account}/CloudTrail-Digest/{region}/2024/08/01/{account}_CloudTrail-Digest_{region}_trail_{region}_20240801T0{hour + 1}0000Z.json.gz"
                digest = {"awsAccountId": account, "digestStartTime": f"2024-08-01T0{hour}:00:00Z", "digestEndTime": end,
                          "digestS3Bucket": "\(bucket)", "digestS3Object": dk, "digestPublicKeyFingerprint": fingerprint,
                          "digestSignatureAlgorithm": "SHA256withRSA", "newestEventTime": None, "oldestEventTime": None,
                          "previousDigestS3Bucket": previous and "\(bucket)", "previousDigestS3Object": previous and previous["key"],
                          "previousDigestHashValue": previous and previous["hash"], "previousDigestHashAlgorithm": previous and "SHA-256",
                          "previousDigestSignature": previous and previous["signature"], "logFiles": logs}
                content = json.dumps(digest).encode()
                to_sign = f"{end}\\n\(bucket)/{dk}\\n{hashlib.sha256(content).hexdigest()}\\n{previous['signature'] if previous else 'null'}".encode()
                signature = key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256()).hex()
                s3.put_object(Bucket="\(bucket)", Key=dk, Body=gzip.compress(content), Metadata={"signature": signature, "signature-algorithm": "SHA256withRSA"})
                previous = {"key": dk, "hash": hashlib.sha256(content).hexdigest(), "signature": signature}
            tamper = "\(tamper)"
            objects = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="\(bucket)")["Contents"])
            if tamper == "log":
                k = [o for o in objects if "/CloudTrail/" in o][2]
                body = json.loads(gzip.decompress(s3.get_object(Bucket="\(bucket)", Key=k)["Body"].read()))
                body["Records"][0]["sourceIPAddress"] = "203.0.113.66"
                s3.put_object(Bucket="\(bucket)", Key=k, Body=gzip.compress(json.dumps(body).encode()))
            elif tamper == "delete-log":
                s3.delete_object(Bucket="\(bucket)", Key=[o for o in objects if "/CloudTrail/" in o][0])
            elif tamper == "delete-digest":
                s3.delete_object(Bucket="\(bucket)", Key=[o for o in objects if "CloudTrail-Digest" in o][1])
            elif tamper == "forge-digest":
                k = [o for o in objects if "CloudTrail-Digest" in o][2]
                head = s3.head_object(Bucket="\(bucket)", Key=k)
                digest = json.loads(gzip.decompress(s3.get_object(Bucket="\(bucket)", Key=k)["Body"].read()))
                digest["logFiles"] = digest["logFiles"][:1]
                s3.put_object(Bucket="\(bucket)", Key=k, Body=gzip.compress(json.dumps(digest).encode()), Metadata=head["Metadata"])
            """)
        defer { try? FileManager.default.removeItem(at: keyFile) }
        return try String(contentsOf: keyFile, encoding: .utf8)
    }

    @Test func cloudTrailDigestsVerifyAndEveryKindOfTamperingIsNamed() async throws {
        let client = Self.client()
        var reports: [String: CloudTrailDigests.Report] = [:]
        var intactBucket = ""
        for tamper in ["none", "log", "delete-log", "delete-digest", "forge-digest"] {
            let bucket = "canopy-ct-\(tamper)-\(UUID().uuidString.prefix(6).lowercased())"
            if tamper == "none" { intactBucket = bucket }
            let keys = try CloudTrailDigests.publicKeys(try Self.writeTrail(bucket: bucket, tamper: tamper))
            let loaded = try await CloudTrailIntegrity.load(client: client, bucket: bucket, prefix: "AWSLogs/", region: "us-east-1")
            reports[tamper] = CloudTrailDigests.verify(digests: loaded.digests, logFiles: loaded.logs, publicKeys: keys)
        }
        let intact = try #require(reports["none"])
        #expect(intact.intact && intact.digests == 3 && intact.logFiles == 6 && intact.validLogFiles == 6, "\(intact.problems)")
        let changed = try #require(reports["log"])
        #expect(!changed.intact && changed.problems.count == 1 && changed.problems[0].contains("INVALID hash"))
        let missingLog = try #require(reports["delete-log"])
        #expect(missingLog.problems.count == 1 && missingLog.problems[0].contains("MISSING"))
        let missingDigest = try #require(reports["delete-digest"])
        #expect(missingDigest.problems.contains { $0.contains("a digest is missing") } && missingDigest.digests == 2)
        let forged = try #require(reports["forge-digest"])
        #expect(forged.problems.contains { $0.contains("INVALID signature") })
        // With another key (a forger's), nothing verifies.
        let otherKeys = try CloudTrailDigests.publicKeys(try Self.writeTrail(bucket: "canopy-ct-other-\(UUID().uuidString.prefix(6).lowercased())", tamper: "none"))
        let original = try await CloudTrailIntegrity.load(client: client, bucket: intactBucket, prefix: "AWSLogs/", region: "us-east-1")
        let foreign = CloudTrailDigests.verify(digests: original.digests, logFiles: original.logs, publicKeys: otherKeys)
        #expect(foreign.problems.filter { $0.contains("no public key with fingerprint") }.count == 3)
    }
}
