import CanopyModel
import CanopyStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt

/// Sign-in and sign-out. The login form carries a CSRF token bound to a short-lived cookie
/// (double submit), failures count towards a lockout, and every attempt is audited.
struct AuthController {
    let dependencies: ServerDependencies

    func addRoutes(to router: Router<CanopyRequestContext>) {
        router.get("login", use: loginPage)
        router.post("login", use: login)
        router.post("logout", use: logout)
    }

    @Sendable func loginPage(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        render(request, context, error: nil, next: request.uri.queryParameters.get("next") ?? "/")
    }

    func render(_ request: Request, _ context: CanopyRequestContext, error: String?, next: String) -> Response {
        let t = Localizer(language: context.language, catalogue: dependencies.catalogue)
        let token = Secrets.token()
        var body = "<h1>\(HTML.escape(t("login.title")))</h1>"
        body += HTML.alert(error)
        body += """
            <form method="post" action="/login" class="login">
            <input type="hidden" name="csrf" value="\(token)"><input type="hidden" name="next" value="\(HTML.escape(Self.safeNext(next)))">
            <label>\(HTML.escape(t("login.name"))) <input name="name" autocomplete="username" required></label>
            <label>\(HTML.escape(t("login.password"))) <input name="password" type="password" autocomplete="current-password" required></label>
            <button type="submit">\(HTML.escape(t("login.submit")))</button></form>
            """
        var response = Layout.response(Layout.page(title: t("login.title"), body: body, t: t, user: nil, active: nil, path: "/login"), status: error == nil ? .ok : .unauthorized)
        response.setCookie(Cookie(name: "canopy_login", value: token, maxAge: 900, path: "/login", secure: dependencies.configuration.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    /// Only local paths: a login link cannot send the user elsewhere.
    static func safeNext(_ next: String) -> String {
        next.hasPrefix("/") && !next.hasPrefix("//") && !next.contains("\\") ? next : "/"
    }

    @Sendable func login(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        let t = Localizer(language: context.language, catalogue: dependencies.catalogue)
        let form = try await request.form(context: context)
        let next = Self.safeNext(form["next"] ?? "/")
        guard let cookie = request.cookies["canopy_login"]?.value, let token = form["csrf"], Secrets.equal(cookie, token) else {
            return render(request, context, error: t("login.expired"), next: next)
        }
        let name = form["name"] ?? ""
        let password = form["password"] ?? ""
        let now = Date()
        let address = context.remoteAddress ?? "unknown"
        let configuration = dependencies.configuration
        guard let user = try await dependencies.store.user(named: name) else {
            _ = Bcrypt.verify(password, hash: Self.decoyHash)  // the same work whether or not the user exists
            return render(request, context, error: t("login.failed"), next: next)
        }
        if let locked = user.lockedUntil, locked > now {
            return render(request, context, error: t("login.locked"), next: next)
        }
        let valid = Bcrypt.verify(password, hash: user.passwordHash)
        try await dependencies.store.recordLogin(
            userID: user.id, succeeded: valid, limit: configuration.loginAttempts, lockUntil: now.addingTimeInterval(configuration.lockout),
            from: address, at: now)
        guard valid else { return render(request, context, error: t("login.failed"), next: next) }
        let session = Secrets.token()
        try await dependencies.store.createSession(
            userID: user.id, tokenHash: Secrets.hash(session), csrfToken: Secrets.token(), expiresAt: now.addingTimeInterval(configuration.sessionLifetime))
        var response = Layout.redirect(next)
        response.setCookie(Cookie(name: "canopy_session", value: session, path: "/", secure: configuration.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func logout(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        guard let session = context.session, let cookie = request.cookies["canopy_session"]?.value else { return Layout.redirect("/login") }
        let form = try await request.form(context: context)
        guard Secrets.equal(form["csrf"] ?? "", session.csrfToken) else { throw HTTPError(.forbidden, message: "missing or wrong CSRF token") }
        try await dependencies.store.deleteSession(tokenHash: Secrets.hash(cookie))
        var response = Layout.redirect("/login")
        response.setCookie(Cookie(name: "canopy_session", value: "", maxAge: 0, path: "/", secure: dependencies.configuration.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    /// A bcrypt hash of nothing anyone types, verified when the user does not exist.
    static let decoyHash = Bcrypt.hash("canopy-decoy-\(UUID().uuidString)", cost: 4)
}

extension CanopyRequestContext {
    /// The signed-in user of a console page, or a redirect to the login page that remembers it.
    func consoleUser(_ request: Request) throws -> User {
        guard let user else { throw RedirectToLogin(path: request.uri.description) }
        return user
    }

    /// The user of an API call, or 401.
    func apiUser() throws -> User {
        guard let user else { throw APIError.unauthenticated }
        return user
    }
}

/// Thrown by console routes when nobody is signed in (or the session expired).
struct RedirectToLogin: HTTPResponseError {
    var path: String
    var status: HTTPResponse.Status { .seeOther }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Layout.redirect("/login" + HTML.query([("next", AuthController.safeNext(path))]))
    }
}
