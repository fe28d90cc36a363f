import CanopyModel
import Foundation
import Hummingbird

/// The API's one error shape: `{"error": {"code", "message", "field"}}`.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var field: String?

    static func badParameter(_ field: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: "bad_parameter", message: message, field: field)
    }
    static let unauthenticated = APIError(status: .unauthorized, code: "unauthenticated", message: "sign in, or send Authorization: Bearer <token>")
    static let forbidden = APIError(status: .forbidden, code: "forbidden", message: "your role does not allow this")
    static func notFound(_ what: String) -> APIError { APIError(status: .notFound, code: "not_found", message: "no \(what) here") }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let field { error["field"] = .string(field) }
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(["error": .object(error)]).canonicalJSON())))
    }
}

/// An error shown as a console page.
struct PageError: HTTPResponseError {
    var status: HTTPResponse.Status
    var titleKey: String
    var detail: String
    var language: Language

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let t = Localizer(language: language)
        let body = "<h1>\(HTML.escape(t(titleKey)))</h1><p>\(HTML.escape(detail))</p><p><a href=\"/\">\(HTML.escape(t("nav.overview")))</a></p>"
        return Layout.response(Layout.page(title: t(titleKey), body: body, t: t, user: nil, active: nil, path: request.uri.path), status: status)
    }
}

extension Request {
    /// A query parameter that must parse as an integer within bounds, or a 400 naming it.
    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = uri.queryParameters.get(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badParameter(name, "'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A query parameter as a GET form sends it (`application/x-www-form-urlencoded`: `+` is a
    /// space), for free text such as the lake's filter.
    func formQuery(_ name: String) -> String? {
        Self.formFields(uri.query ?? "").first { $0.name == name }?.value
    }

    /// The fields of `application/x-www-form-urlencoded` text, in order (`+` is a space).
    static func formFields(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        }
    }

    /// Form fields of an `application/x-www-form-urlencoded` body.
    func form(context: CanopyRequestContext) async throws -> [String: String] {
        let buffer: ByteBuffer
        do { buffer = try await body.collect(upTo: context.maxUploadSize) } catch {
            throw HTTPError(.contentTooLarge, message: "the form is larger than \(context.maxUploadSize) bytes")
        }
        var fields: [String: String] = [:]
        for field in Self.formFields(String(buffer: buffer)) { fields[field.name] = field.value }
        return fields
    }
}
