import CanopyCompliance
import CanopyModel
import CanopyRemediation
import CanopyStore
import Foundation
import Hummingbird
import Logging

/// How the server runs: read once at the edge (the CLI) and passed in.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Mark cookies `Secure` (set when served behind TLS).
    public var secureCookies: Bool
    /// bcrypt cost; tests lower it (bcrypt's minimum is 4).
    public var bcryptCost: UInt8
    public var sessionLifetime: TimeInterval
    /// Failed logins in a row before a lockout, and how long it lasts.
    public var loginAttempts: Int
    public var lockout: TimeInterval
    /// `info` logs every request (the access log); `warning` only problems.
    public var logLevel: Logger.Level

    public init(
        host: String = "127.0.0.1", port: Int = 8080, secureCookies: Bool = false, bcryptCost: UInt8 = 12,
        sessionLifetime: TimeInterval = 8 * 3_600, loginAttempts: Int = 5, lockout: TimeInterval = 15 * 60, logLevel: Logger.Level = .info
    ) {
        self.logLevel = logLevel
        self.host = host
        self.port = port
        self.secureCookies = secureCookies
        self.bcryptCost = bcryptCost
        self.sessionLifetime = sessionLifetime
        self.loginAttempts = loginAttempts
        self.lockout = lockout
    }
}

/// What every controller needs.
public struct ServerDependencies: Sendable {
    public var store: any CanopyStore
    public var engine: ComplianceEngine
    public var configuration: ServerConfiguration
    public var catalogue: Catalogue
    public var started: Date
    /// Set when the server started on a database without users (see `BootstrapToken`).
    public var bootstrap: BootstrapToken?
    /// Webhook delivery; the engine tells it what evaluations open and exceptions decide.
    public var webhooks: WebhookDispatcher? {
        didSet { engine.notifier = webhooks }
    }
    public let requests = RequestMetrics()
    let cache = ServerCache()

    public init(store: any CanopyStore, engine: ComplianceEngine, configuration: ServerConfiguration, catalogue: Catalogue = .builtIn) {
        self.store = store
        self.engine = engine
        self.configuration = configuration
        self.catalogue = catalogue
        started = Date()
    }
}

/// The request context: who is asking (set by `AuthenticationMiddleware`) and in which language.
public struct CanopyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: User?
    public var session: Session?
    /// The hash of the API token the request came with, when it came with a valid one.
    public var apiTokenHash: String?
    public var language: Language = .en
    public var setLanguageCookie = false

    /// The client's address, for the audit log (nil in router tests, which have no socket).
    public var remoteAddress: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The maximum request body the server reads (forms and JSON): larger bodies get 413.
    public var maxUploadSize: Int { 64 * 1024 }
}

public func buildRouter(_ dependencies: ServerDependencies) -> Router<CanopyRequestContext> {
    let router = Router(context: CanopyRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: dependencies.requests))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: LanguageMiddleware())
    router.add(middleware: NotFoundMiddleware())
    router.add(middleware: AuditAddressMiddleware())
    router.add(middleware: AuthenticationMiddleware(dependencies: dependencies))
    router.add(middleware: ResponseCacheMiddleware(dependencies: dependencies))
    OperationsController(dependencies: dependencies).addRoutes(to: router)
    AuthController(dependencies: dependencies).addRoutes(to: router)
    SetupController(dependencies: dependencies).addRoutes(to: router)
    ConsoleController(dependencies: dependencies).addRoutes(to: router)
    APIController(dependencies: dependencies).addRoutes(to: router.group("api/v1"))
    return router
}

public func buildApplication(_ dependencies: ServerDependencies, logger: Logger? = nil) -> some ApplicationProtocol {
    let router = buildRouter(dependencies)
    var logger = logger ?? Logger(label: "canopy.server")
    logger.logLevel = dependencies.configuration.logLevel
    return Hummingbird.Application(
        router: router,
        configuration: .init(address: .hostname(dependencies.configuration.host, port: dependencies.configuration.port), serverName: "Canopy"),
        logger: logger)
}
