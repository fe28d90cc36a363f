import CanopyModel
import Foundation

/// An error answer from an AWS API, with the code scripts and retry logic key on.
public struct AWSServiceError: Error, Sendable, CustomStringConvertible {
    public var service: String
    public var operation: String
    public var status: Int
    public var code: String
    public var message: String
    public var requestID: String?
    /// The server's `Retry-After` hint, in seconds.
    public var retryAfterSeconds: Double?

    public init(
        service: String, operation: String, status: Int, code: String, message: String, requestID: String? = nil,
        retryAfterSeconds: Double? = nil
    ) {
        self.service = service
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String {
        "\(service) \(operation) failed: \(code) (HTTP \(status))" + (message.isEmpty ? "" : ": \(message)")
    }

    /// Reads the code and message from any protocol's error body; an HTML page (moto's answer to an
    /// operation it has not implemented) becomes `NotImplemented`/`InternalFailure` with its title.
    public static func parse(service: String, operation: String, response: AWSHTTPResponse) -> AWSServiceError {
        var code = ""
        var message = ""
        var requestID = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        let body = response.body
        if let json = try? JSONValue.parse(body), case .object = json {
            code = json["__type"]?.stringValue ?? json["code"]?.stringValue ?? json["Code"]?.stringValue ?? ""
            message = json["message"]?.stringValue ?? json["Message"]?.stringValue ?? ""
        } else if let root = try? XMLElementNode.parse(body) {
            // Query: <ErrorResponse><Error>; EC2: <Response><Errors><Error>; REST-XML: <Error>.
            let error = root.name == "Error" ? root : (root.child("Error") ?? root.child("Errors")?.child("Error"))
            code = error?.child("Code")?.text ?? ""
            message = error?.child("Message")?.text ?? ""
            requestID = requestID ?? root.child("RequestId")?.text ?? root.child("RequestID")?.text
        } else {
            let text = String(decoding: body.prefix(2048), as: UTF8.self)
            if let start = text.range(of: "<title>"), let end = text.range(of: "</title>", range: start.upperBound..<text.endIndex) {
                message = String(text[start.upperBound..<end.lowerBound])
            } else {
                message = String(text.prefix(200))
            }
        }
        // JSON codes may carry a namespace (`com.amazon.coral.service#ThrottlingException`) or a suffix (`:http://…`).
        if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
        if let colon = code.firstIndex(of: ":") { code = String(code[..<colon]) }
        if code.isEmpty {
            code = response.status == 501 || message.contains("not yet implemented") ? "NotImplemented"
                : response.status >= 500 ? "InternalFailure" : "HTTP\(response.status)"
        }
        return AWSServiceError(
            service: service, operation: operation, status: response.status, code: code,
            message: message.trimmingCharacters(in: .whitespacesAndNewlines), requestID: requestID)
    }
}
