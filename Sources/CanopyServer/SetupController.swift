import CanopyModel
import CanopyStore
import Foundation
import Hummingbird

/// The one-time token that lets the first administrator be created in the browser: printed by
/// `canopy serve` when the database has no users, kept only as a hash, good for one use.
public final class BootstrapToken: @unchecked Sendable {
    private let lock = NSLock()
    private var hash: String?

    /// A fresh token; its secret is returned once, for the operator's terminal.
    public static func make() -> (BootstrapToken, secret: String) {
        let secret = Secrets.token()
        let token = BootstrapToken()
        token.hash = Secrets.hash(secret)
        return (token, secret)
    }

    var isPending: Bool {
        lock.lock()
        defer { lock.unlock() }
        return hash != nil
    }

    /// Uses the token up if `secret` is it.
    func redeem(_ secret: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let hash, Secrets.equal(Secrets.hash(secret), hash) else { return false }
        self.hash = nil
        return true
    }

    /// Gives the token back when creating the administrator failed after redeeming it.
    func restore(_ secret: String) {
        lock.lock()
        defer { lock.unlock() }
        hash = Secrets.hash(secret)
    }
}

/// `/setup`: exists only while the bootstrap token is unused and the database has no users.
struct SetupController {
    let dependencies: ServerDependencies

    func addRoutes(to router: Router<CanopyRequestContext>) {
        router.get("setup", use: form)
        router.post("setup", use: create)
    }

    func available() async throws -> Bool {
        guard let token = dependencies.bootstrap, token.isPending else { return false }
        return try await dependencies.store.users().isEmpty
    }

    func page(_ context: CanopyRequestContext, error: String?, name: String = "") -> Response {
        let t = Localizer(language: context.language, catalogue: dependencies.catalogue)
        var body = "<h1>\(HTML.escape(t("setup.title")))</h1><p>\(HTML.escape(t("setup.help")))</p>"
        body += HTML.alert(error)
        body += """
            <form method="post" action="/setup" class="login">
            <label>\(HTML.escape(t("setup.token"))) <input name="token" autocomplete="off" required></label>
            <label>\(HTML.escape(t("login.name"))) <input name="name" autocomplete="username" value="\(HTML.escape(name))" required></label>
            <label>\(HTML.escape(t("login.password"))) <input name="password" type="password" autocomplete="new-password" minlength="\(Administration.minimumPasswordLength)" required></label>
            <button type="submit">\(HTML.escape(t("setup.submit")))</button></form>
            """
        return Layout.response(
            Layout.page(title: t("setup.title"), body: body, t: t, user: nil, active: nil, path: "/setup"), status: error == nil ? .ok : .badRequest)
    }

    @Sendable func form(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        guard try await available() else { throw HTTPError(.notFound) }
        return page(context, error: nil)
    }

    @Sendable func create(_ request: Request, context: CanopyRequestContext) async throws -> Response {
        guard try await available(), let bootstrap = dependencies.bootstrap else { throw HTTPError(.notFound) }
        let t = Localizer(language: context.language, catalogue: dependencies.catalogue)
        let form = try await request.form(context: context)
        let secret = form["token"] ?? ""
        guard bootstrap.redeem(secret) else {
            _ = try await dependencies.store.appendAudit(actor: "bootstrap", action: "setup.refused", target: "setup", details: [:], at: Date())
            return page(context, error: t("setup.wrongToken"), name: form["name"] ?? "")
        }
        do {
            _ = try await Administration.createUser(
                name: form["name"] ?? "", role: .admin, businessUnits: [], password: form["password"] ?? "", actor: "bootstrap",
                store: dependencies.store, bcryptCost: dependencies.configuration.bcryptCost)
        } catch let error as AdministrationError {
            bootstrap.restore(secret)
            return page(context, error: "\(error.field): \(error)", name: form["name"] ?? "")
        }
        return Layout.redirect("/login")
    }
}
