import CanopyAWS
import Foundation
import Testing

/// Vectors from AWS's published Signature Version 4 test suite (service `service`, us-east-1,
/// 2015-08-30T12:36:00Z, key AKIDEXAMPLE).
@Suite struct SigV4SignerTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var path: String
        var query: [(String, String)] = []
        var headers: [(String, String)] = []
        var body: String = ""
        var signedHeaders: String
        var signature: String
        var testDescription: String { name }
    }

    static let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    static let vectors: [Vector] = [
        Vector(
            name: "get-vanilla", method: "GET", path: "/", signedHeaders: "host;x-amz-date",
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        Vector(
            name: "post-vanilla", method: "POST", path: "/", signedHeaders: "host;x-amz-date",
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        Vector(
            name: "get-vanilla-query-order-key-case", method: "GET", path: "/",
            query: [("Param2", "value2"), ("Param1", "value1")], signedHeaders: "host;x-amz-date",
            signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        Vector(
            name: "post-header-value-case", method: "POST", path: "/", headers: [("My-Header1", "VALUE1")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        Vector(
            name: "get-header-value-trim", method: "GET", path: "/",
            headers: [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
            signedHeaders: "host;my-header1;my-header2;x-amz-date",
            signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        Vector(
            name: "get-unreserved", method: "GET", path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            signedHeaders: "host;x-amz-date", signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        Vector(
            name: "normalize-path/get-special-character", method: "GET", path: "/example/$delete",
            signedHeaders: "host;x-amz-date", signature: "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27"),
        Vector(
            name: "get-header-key-duplicate", method: "GET", path: "/",
            headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
            signedHeaders: "host;my-header1;x-amz-date",
            signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
    ]

    @Test("matches the AWS test suite", arguments: vectors)
    func matchesTestSuite(_ vector: Vector) {
        var request = AWSHTTPRequest(
            method: vector.method, endpoint: URL(string: "https://example.amazonaws.com")!, encodedPath: vector.path,
            query: vector.query.map { (name: $0.0, value: $0.1) }, headers: vector.headers.map { (name: $0.0, value: $0.1) },
            body: Data(vector.body.utf8))
        SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service").sign(&request, at: Self.date)
        #expect(request.header("X-Amz-Date") == "20150830T123600Z")
        #expect(
            request.header("Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
    }

    @Test func canonicalRequestSortsQueryAndLowercasesHeaders() {
        let request = AWSHTTPRequest(
            method: "GET", endpoint: URL(string: "https://example.amazonaws.com")!, encodedPath: "/",
            query: [("Param2", "value2"), ("Param1", "value1")], headers: [("X-Amz-Date", "20150830T123600Z")])
        let (canonical, signed) = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
            .canonicalRequest(request, payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(signed == "host;x-amz-date")
        #expect(
            canonical == """
                GET
                /
                Param1=value1&Param2=value2
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
    }

    @Test func sessionTokenIsSentAndSigned() {
        var request = AWSHTTPRequest(method: "POST", endpoint: URL(string: "https://sts.amazonaws.com")!)
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token-1")
        SigV4Signer(credentials: credentials, region: "us-east-1", service: "sts").sign(&request, at: Self.date)
        #expect(request.header("X-Amz-Security-Token") == "token-1")
        #expect(request.header("Authorization")?.contains("x-amz-security-token") == true)
    }

    @Test func hostHeaderKeepsNonDefaultPort() {
        let request = AWSHTTPRequest(method: "GET", endpoint: URL(string: "http://127.0.0.1:5055")!)
        #expect(request.hostHeader == "127.0.0.1:5055")
        #expect(AWSHTTPRequest(method: "GET", endpoint: URL(string: "https://ec2.amazonaws.com:443")!).hostHeader == "ec2.amazonaws.com")
    }

    @Test func credentialsNeverPrintTheirSecret() {
        let credentials = AWSCredentials(accessKeyID: "AKIAEXAMPLEKEY", secretAccessKey: "very-secret-value", sessionToken: "tok")
        #expect(!"\(credentials)".contains("very-secret-value"))
        #expect(!"\(credentials)".contains("tok\""))
    }
}
