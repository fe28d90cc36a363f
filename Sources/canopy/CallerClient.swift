import CanopyAWS
import Foundation
import Logging

/// The AWS client acting with the caller's credentials (environment, profile, role chain),
/// with endpoint overrides from the flag or AWS_ENDPOINT_URL*: what `scan` and `run --apply` share.
enum CallerClient {
    static func resolve(
        transport: any HTTPTransport, environment: [String: String], profile: String?, endpoint: String?,
        budget: RetryBudget = RetryBudget(), timeout: Duration = .seconds(30), logger: Logger = Logger(label: "canopy.aws")
    ) async throws -> (client: AWSClient, chain: CredentialChain) {
        let endpoints = EndpointResolver.fromEnvironment(environment, explicit: endpoint.flatMap(URL.init(string:)))
        let bootstrap = AWSClient(
            transport: transport, credentials: StaticCredentialProvider(.init(accessKeyID: "", secretAccessKey: "")),
            endpoints: endpoints, budget: budget, timeout: timeout, logger: logger)
        let chain = CredentialChain(
            environment: environment, homeDirectory: FileManager.default.homeDirectoryForCurrentUser.path, transport: transport)
        return (bootstrap.with(credentials: try await chain.resolve(profile: profile, stsClient: bootstrap)), chain)
    }
}
