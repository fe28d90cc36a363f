import CanopyAWS
import CanopyModel
import CanopyTestSupport
import Foundation
import Testing

@Suite struct RetryPolicyTests {
    static let success = ScriptedTransport.xml(
        200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>")
    static let throttled = ScriptedTransport.xml(
        400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>")

    func client(_ transport: ScriptedTransport, budget: Int = 100, attempts: Int = 5) -> AWSClient {
        AWSClient(
            transport: transport, credentials: StaticCredentialProvider(AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s")),
            endpoints: EndpointResolver(globalOverride: URL(string: "http://127.0.0.1:1")!),
            retryPolicy: RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5)),
            budget: RetryBudget(retries: budget))
    }

    @Test func throttlingIsRetriedUntilSuccess() async throws {
        let transport = ScriptedTransport([Self.throttled, Self.throttled, Self.success])
        let client = client(transport)
        let answer = try await client.query("sts", "GetCallerIdentity", region: "us-east-1")
        #expect(answer["Account"]?.stringValue == "123456789012")
        #expect(transport.requestCount == 3)
        #expect(await client.budget.throttledRetries == 2)
    }

    @Test func serverErrorsAndResetsAreRetried() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(503, "Service Unavailable"),
            { request in throw TransportError.connection(url: request.url, reason: "reset") },
            Self.success,
        ])
        let answer = try await client(transport).query("sts", "GetCallerIdentity", region: "us-east-1")
        #expect(answer["Account"]?.stringValue == "123456789012")
        #expect(transport.requestCount == 3)
    }

    @Test func permanentErrorsAreNotRetried() async throws {
        let transport = ScriptedTransport([
            ScriptedTransport.xml(403, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>")
        ])
        await #expect(throws: AWSServiceError.self) {
            try await client(transport).query("sts", "GetCallerIdentity", region: "us-east-1")
        }
        #expect(transport.requestCount == 1)
    }

    @Test func anEmptyBudgetStopsRetrying() async throws {
        let transport = ScriptedTransport(fallback: Self.throttled)
        let client = client(transport, budget: 2, attempts: 10)
        await #expect(throws: AWSServiceError.self) {
            try await client.query("sts", "GetCallerIdentity", region: "us-east-1")
        }
        #expect(transport.requestCount == 3)
        #expect(await client.budget.refused == 1)
    }

    @Test func attemptsAreCapped() async throws {
        let transport = ScriptedTransport(fallback: Self.throttled)
        await #expect(throws: AWSServiceError.self) {
            try await client(transport, budget: 100, attempts: 4).query("sts", "GetCallerIdentity", region: "us-east-1")
        }
        #expect(transport.requestCount == 4)
    }

    @Test func backoffIsCappedExponentialWithFullJitter() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        // The random draw is the whole range (full jitter): with the top of the range drawn we see the cap.
        #expect(policy.delay(afterAttempt: 1, random: { $0 }) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 3, random: { $0 }) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 10, random: { $0 }) == .seconds(2))
        #expect(policy.delay(afterAttempt: 3, random: { _ in 0 }) == .zero)
        for _ in 0..<100 {
            let delay = policy.delay(afterAttempt: 5)
            #expect(delay >= .zero && delay <= .milliseconds(1600))
        }
    }

    @Test func retryAfterIsHonouredAndCapped() async throws {
        let policy = RetryPolicy(maxRetryAfter: .seconds(30))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3)) == .seconds(3))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(300)) == .seconds(30))
        let transport = ScriptedTransport([
            { _ in AWSHTTPResponse(status: 429, headers: [("Retry-After", "0")], body: Data()) }, Self.success,
        ])
        _ = try await client(transport).query("sts", "GetCallerIdentity", region: "us-east-1")
        #expect(transport.requestCount == 2)
    }

    @Test func failuresAreClassified() {
        #expect(FailureClass.classify(AWSServiceError(service: "ec2", operation: "X", status: 503, code: "RequestLimitExceeded", message: "")) == .throttled)
        #expect(FailureClass.classify(AWSServiceError(service: "ec2", operation: "X", status: 500, code: "InternalError", message: "")) == .transient)
        #expect(FailureClass.classify(AWSServiceError(service: "ec2", operation: "X", status: 500, code: "NotImplemented", message: "")) == .permanent)
        #expect(FailureClass.classify(AWSServiceError(service: "ec2", operation: "X", status: 403, code: "UnauthorizedOperation", message: "")) == .permanent)
        #expect(FailureClass.classify(TransportError.timeout(url: "x", seconds: 1)) == .transient)
    }
}

@Suite struct CredentialChainTests {
    func temporaryHome(credentials: String, config: String = "") throws -> String {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        try credentials.write(to: home.appendingPathComponent(".aws/credentials"), atomically: true, encoding: .utf8)
        try config.write(to: home.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
        return home.path
    }

    var sts: AWSClient {
        AWSClient(transport: ScriptedTransport(), credentials: StaticCredentialProvider(.init(accessKeyID: "", secretAccessKey: "")))
    }

    @Test func environmentVariablesComeFirst() async throws {
        let chain = CredentialChain(
            environment: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok"],
            homeDirectory: try temporaryHome(credentials: "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n"),
            transport: ScriptedTransport())
        let credentials = try await chain.resolve(profile: nil, stsClient: sts).credentials()
        #expect(credentials.accessKeyID == "AKIAENV")
        #expect(credentials.sessionToken == "tok")
    }

    @Test func namedProfileFromTheCredentialsFile() async throws {
        let home = try temporaryHome(
            credentials: "[default]\naws_access_key_id=AKIADEFAULT\naws_secret_access_key=s\n\n[audit]\naws_access_key_id = AKIAAUDIT\naws_secret_access_key = s2\n",
            config: "[profile audit]\nregion = ap-northeast-1\n")
        let chain = CredentialChain(environment: [:], homeDirectory: home, transport: ScriptedTransport())
        #expect(try await chain.resolve(profile: "audit", stsClient: sts).credentials().accessKeyID == "AKIAAUDIT")
        #expect(try await chain.resolve(profile: nil, stsClient: sts).credentials().accessKeyID == "AKIADEFAULT")
        #expect(chain.region(profile: "audit") == "ap-northeast-1")
    }

    @Test func unknownProfileNamesTheFilesItRead() async throws {
        let chain = CredentialChain(environment: [:], homeDirectory: try temporaryHome(credentials: ""), transport: ScriptedTransport())
        do {
            _ = try await chain.resolve(profile: "nope", stsClient: sts)
            Issue.record("expected an error")
        } catch let error as CredentialError {
            #expect("\(error)".contains("'nope'"))
            #expect("\(error)".contains(".aws/credentials"))
        }
    }

    @Test func roleProfileAssumesTheRoleWithItsSourceProfile() async throws {
        let home = try temporaryHome(
            credentials: "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
            config: "[profile auditor]\nrole_arn = arn:aws:iam::111122223333:role/Audit\nsource_profile = base\nexternal_id = ext-1\n")
        let transport = ScriptedTransport([
            ScriptedTransport.xml(
                200,
                """
                <AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>
                <SecretAccessKey>rs</SecretAccessKey><SessionToken>st</SessionToken>
                <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>
                """)
        ])
        let stsClient = AWSClient(
            transport: transport, credentials: StaticCredentialProvider(.init(accessKeyID: "", secretAccessKey: "")),
            endpoints: EndpointResolver(globalOverride: URL(string: "http://127.0.0.1:1")!))
        let chain = CredentialChain(environment: [:], homeDirectory: home, transport: transport)
        let provider = try await chain.resolve(profile: "auditor", stsClient: stsClient)
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyID == "ASIAROLE")
        #expect(credentials.sessionToken == "st")
        // Cached until close to expiry: a second call does not go back to STS.
        _ = try await provider.credentials()
        #expect(transport.requestCount == 1)
        let body = String(decoding: transport.requests[0].body, as: UTF8.self)
        #expect(body.contains("Action=AssumeRole"))
        #expect(body.contains("ExternalId=ext-1"))
        #expect(transport.requests[0].header("Authorization")?.contains("Credential=AKIABASE/") == true)
    }

    @Test func instanceMetadataUsesAnIMDSv2SessionToken() async throws {
        let transport = ScriptedTransport([
            { request in
                #expect(request.method == "PUT")
                #expect(request.encodedPath == "/latest/api/token")
                return AWSHTTPResponse(status: 200, body: Data("imds-token".utf8))
            },
            { request in
                #expect(request.header("X-aws-ec2-metadata-token") == "imds-token")
                return AWSHTTPResponse(status: 200, body: Data("canopy-instance-role\n".utf8))
            },
            { request in
                #expect(request.encodedPath == "/latest/meta-data/iam/security-credentials/canopy-instance-role")
                return AWSHTTPResponse(
                    status: 200,
                    body: Data(#"{"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"x","Token":"t","Expiration":"2099-01-01T00:00:00Z"}"#.utf8))
            },
        ])
        let provider = InstanceMetadataProvider(
            transport: transport, environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"])
        #expect(try await provider.credentials().accessKeyID == "ASIAIMDS")
    }

    @Test func noCredentialsAnywhereSaysWhatWasTried() async throws {
        let chain = CredentialChain(
            environment: ["AWS_EC2_METADATA_DISABLED": "true"], homeDirectory: try temporaryHome(credentials: ""),
            transport: ScriptedTransport())
        await #expect(throws: CredentialError.self) { try await chain.resolve(profile: nil, stsClient: sts) }
    }
}

@Suite struct EndpointTests {
    @Test func serviceSpecificOverrideWinsOverTheGlobalOne() throws {
        let resolver = EndpointResolver.fromEnvironment([
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5055", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": "http://127.0.0.1:6000",
        ])
        #expect(resolver.endpoint(service: "elbv2", model: try ServiceModels.model("elbv2"), region: "us-east-1").url.absoluteString == "http://127.0.0.1:6000")
        #expect(resolver.endpoint(service: "ec2", model: try ServiceModels.model("ec2"), region: "us-east-1").url.absoluteString == "http://127.0.0.1:5055")
    }

    @Test func explicitEndpointOverridesTheEnvironment() throws {
        let resolver = EndpointResolver.fromEnvironment(
            ["AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:6000"], explicit: URL(string: "http://127.0.0.1:7000"))
        #expect(resolver.endpoint(service: "ec2", model: try ServiceModels.model("ec2"), region: "us-east-1").url.port == 7000)
    }

    @Test func awsEndpointsAndGlobalServices() throws {
        let resolver = EndpointResolver()
        let ec2 = resolver.endpoint(service: "ec2", model: try ServiceModels.model("ec2"), region: "ap-northeast-1")
        #expect(ec2.url.absoluteString == "https://ec2.ap-northeast-1.amazonaws.com")
        let iam = resolver.endpoint(service: "iam", model: try ServiceModels.model("iam"), region: "global")
        #expect(iam.url.absoluteString == "https://iam.amazonaws.com")
        #expect(iam.signingRegion == "us-east-1")
        let monitoring = resolver.endpoint(service: "cloudwatch", model: try ServiceModels.model("cloudwatch"), region: "eu-west-1")
        #expect(monitoring.url.absoluteString == "https://monitoring.eu-west-1.amazonaws.com")
    }
}

@Suite struct AccountsFileTests {
    @Test func readsC7nOrgFormat() throws {
        let targets = try AccountsFile.parse(
            """
            accounts:
              - account_id: "599006413549"
                name: gridco-generation-prod
                regions: [us-east-1, ap-northeast-1]
                role: arn:aws:iam::599006413549:role/CanopyAudit
                tags: [bu:generation, env:prod]
              - account_id: 751136107545
                name: gridco-gridops-prod
                tags: {bu: gridops}
            """, path: "accounts.yml", defaultRole: "OrganizationAccountAccessRole")
        #expect(targets.count == 2)
        #expect(targets[0].regions == ["us-east-1", "ap-northeast-1"])
        #expect(targets[0].roleARN == "arn:aws:iam::599006413549:role/CanopyAudit")
        #expect(targets[0].account.tags == ["bu": "generation", "env": "prod"])
        #expect(targets[1].roleARN == "arn:aws:iam::751136107545:role/OrganizationAccountAccessRole")
        #expect(targets[1].account.tags == ["bu": "gridops"])
    }

    @Test func badAccountIDNamesFileLineAndField() throws {
        do {
            _ = try AccountsFile.parse(
                "accounts:\n  - account_id: \"12ab\"\n    name: x\n", path: "accounts.yml", defaultRole: "r")
            Issue.record("expected an error")
        } catch let error as AccountsFileError {
            #expect("\(error)" == "accounts.yml:2: accounts[0].account_id: '12ab' is not a 12-digit AWS account id")
        }
    }

    @Test func malformedYAMLNamesLineAndColumn() throws {
        do {
            _ = try AccountsFile.parse("accounts:\n  - account_id: [unclosed\n", path: "accounts.yml", defaultRole: "r")
            Issue.record("expected an error")
        } catch let error as AccountsFileError {
            #expect("\(error)".hasPrefix("accounts.yml:"))
            #expect("\(error)".contains("not valid YAML"))
        }
    }

    @Test func missingAccountsListIsExplained() throws {
        #expect(throws: AccountsFileError.self) { try AccountsFile.parse("regions: [us-east-1]\n", path: "a.yml", defaultRole: "r") }
    }
}
