import CanopyModel
import CanopyStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Security headers on every response; the CSP allows no inline script or style.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = CanopyRequestContext
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.frameOptions] = "DENY"
        response.headers[Self.referrerPolicy] = "same-origin"
        return response
    }
}

/// Picks the language: `?lang=` (remembered in a cookie), then the cookie, then Accept-Language.
struct LanguageMiddleware: RouterMiddleware {
    typealias Context = CanopyRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let asked = request.uri.queryParameters.get("lang"), let language = Language(rawValue: asked) {
            context.language = language
            context.setLanguageCookie = true
        } else if let remembered = request.cookies["canopy_lang"].flatMap({ Language(rawValue: $0.value) }) {
            context.language = remembered
        } else {
            context.language = Language.negotiate(request.headers[.acceptLanguage])
        }
        var response = try await next(request, context)
        if context.setLanguageCookie {
            response.setCookie(Cookie(name: "canopy_lang", value: context.language.rawValue, maxAge: 365 * 86_400, path: "/", httpOnly: true, sameSite: .strict))
        }
        return response
    }
}

/// Every change a request makes is audited with where it came from: the socket's peer address
/// (Canopy binds to loopback or sits behind the operator's own proxy; a client-supplied
/// X-Forwarded-For is not trusted, since anyone can write one).
struct AuditAddressMiddleware: RouterMiddleware {
    typealias Context = CanopyRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await AuditContext.$address.withValue(context.remoteAddress ?? "unknown") {
            try await next(request, context)
        }
    }
}

/// Finds the user: a session cookie (console) or an `Authorization: Bearer` API token. Whether a
/// route needs one is the route's decision (`requireUser`).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = CanopyRequestContext
    let dependencies: ServerDependencies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let now = Date()
        if let cookie = request.cookies["canopy_session"]?.value,
            let session = try await dependencies.store.session(tokenHash: Secrets.hash(cookie), at: now)
        {
            context.session = session
            context.user = session.user
        } else if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
            let hash = Secrets.hash(token)
            context.user = try await dependencies.store.apiTokenUser(tokenHash: hash, at: now)
            context.apiTokenHash = context.user == nil ? nil : hash
        }
        return try await next(request, context)
    }
}

/// Random tokens and their stored form.
public enum Secrets {
    /// 32 random bytes as URL-safe base64.
    public static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// What the database keeps of a session or API token.
    public static func hash(_ token: String) -> String {
        Array(SHA256.hash(data: Data(token.utf8))).hexEncoded
    }

    /// Equal-time comparison for CSRF tokens.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// What a user may see: every account, or those of their business units (bu-owner). Passed into
/// store queries, so out-of-scope objects are never read.
struct AccessScope: Sendable {
    /// Whether a budget concerns this scope: a bu-owner sees their units', their applications'
    /// and their accounts' budgets.
    func mayRead(_ budget: Budget, ownership: Ownership) -> Bool {
        guard let units else { return true }
        switch budget.scope {
        case .businessUnit: return units.contains(budget.target)
        case .account: return allows(budget.target)
        case .application: return ownership.application(budget.target).map { units.contains($0.businessUnit) } ?? false
        }
    }

    /// nil: every account.
    let accounts: Set<String>?
    /// The business units listed as the user's own; nil: every unit.
    var units: Set<String>? = nil

    static func of(_ user: User, store: any CanopyStore) async throws -> AccessScope {
        guard user.role == .buOwner else { return AccessScope(accounts: nil) }
        let units = Set(user.businessUnits)
        let ownership = try await store.ownership()
        let accounts = try await store.accounts().filter { ownership.businessUnitID(of: $0).map(units.contains) ?? false }.map(\.id)
        return AccessScope(accounts: Set(accounts), units: units)
    }

    var accountList: [String]? { accounts.map { Array($0).sorted() } }

    /// Identifies the scope in cache keys.
    var key: String { (accountList?.joined(separator: ",") ?? "*") + "|" + (units.map { $0.sorted().joined(separator: ",") } ?? "*") }

    func allows(_ account: String) -> Bool { accounts?.contains(account) ?? true }

    /// Whether a suppression rule concerns this scope: one naming an account (or a resource ARN
    /// with an account) outside it is another unit's business.
    func mayRead(_ suppression: FindingSuppression) -> Bool {
        guard accounts != nil else { return true }
        if let account = suppression.account { return allows(account) }
        if let resource = suppression.resourceUID, resource.hasPrefix("arn:") {
            let account = resource.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first.map(String.init) ?? ""
            return account.isEmpty || allows(account)
        }
        return true
    }

    /// A scan as this user may see it: only their accounts in its scope and its errors.
    func visible(_ scan: Scan) -> Scan {
        guard accounts != nil else { return scan }
        var narrowed = scan
        narrowed.scope.accounts = scan.scope.accounts.filter(allows)
        narrowed.errors = scan.errors.filter { allows($0.unit.account) }
        return narrowed
    }
}

/// Unknown paths get a real 404: a page for the console, the error shape for the API; a known
/// API path asked with another method gets 405.
struct NotFoundMiddleware: RouterMiddleware {
    typealias Context = CanopyRequestContext

    /// The API's paths (`*` is one path segment) and the methods each offers, for 405 + Allow.
    static let apiRoutes: [(pattern: [Substring], methods: String)] = [
        ("openapi.yaml", "GET"), ("scans", "GET"), ("resources", "GET"), ("resource", "GET"), ("findings", "GET"), ("frameworks", "GET"),
        ("compliance/*", "GET"), ("audit-log", "GET"), ("business-units", "GET"), ("business-units/*", "GET, PUT, DELETE"),
        ("applications", "GET"), ("applications/*", "GET, PUT, DELETE"), ("policies", "GET"), ("exceptions", "GET, POST"),
        ("exceptions/*/decision", "POST"), ("changes", "GET"), ("users", "GET, POST"), ("tokens", "GET, POST"), ("tokens/*", "DELETE"),
        ("webhooks", "GET, POST"), ("webhooks/*", "DELETE"), ("costs", "GET"), ("costs/forecast", "GET"), ("costs/anomalies", "GET"), ("costs/recommendations", "GET"), ("cost-allocation", "GET, PUT"),
        ("cost-allocation/preview", "POST"), ("budgets", "GET"), ("budgets/*", "PUT, DELETE"), ("carbon", "GET"), ("carbon/whatif", "GET"),
        ("carbon/report", "GET"), ("carbon/settings", "GET, PUT"), ("lake/events", "GET"), ("lake/verify", "GET"), ("lake/sql", "POST"), ("lake/queries", "GET"),
        ("security/findings", "GET"), ("security/findings/*", "GET"), ("security/findings/*/triage", "POST"), ("security/suppressions", "GET, POST"),
        ("security/suppressions/*", "DELETE"), ("detections/rules", "GET"), ("hosts", "GET"), ("hosts/inventory", "POST"),
        ("hosts/enrollments", "GET, POST"), ("hosts/enrollments/*", "DELETE"), ("patch/compliance", "GET"), ("patch/baseline", "GET, PUT"),
    ].map { (pattern: $0.0.split(separator: "/", omittingEmptySubsequences: false), methods: $0.1) }

    /// The methods an API path offers, or nil when it is no API path.
    static func allowedMethods(_ path: String) -> String? {
        guard path.hasPrefix("/api/v1/") else { return nil }
        let parts = path.dropFirst("/api/v1/".count).split(separator: "/", omittingEmptySubsequences: false)
        return apiRoutes.first { route in
            route.pattern.count == parts.count && zip(route.pattern, parts).allSatisfy { $0 == "*" ? !$1.isEmpty : $0 == $1 }
        }?.methods
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            if let allowed = Self.allowedMethods(request.uri.path), !allowed.contains(request.method.rawValue) {
                var response = try APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "this path offers \(allowed)")
                    .response(from: request, context: context)
                response.headers[.allow] = allowed
                return response
            }
            if request.uri.path.hasPrefix("/api/") {
                return try APIError.notFound("endpoint at \(request.uri.path)").response(from: request, context: context)
            }
            let t = Localizer(language: context.language)
            return try PageError(status: .notFound, titleKey: "error.notFound", detail: t("error.notFoundDetail"), language: context.language)
                .response(from: request, context: context)
        }
    }
}
