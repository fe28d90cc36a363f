import CanopyModel
import Foundation

/// Turns a response body into the JSON boto3 would return for the same call, guided by the model.
///
/// The decoder chooses by the service's protocol, never by `Content-Type` (moto labels JSON as
/// `text/html`).
public struct ShapeDecoder: Sendable {
    public let model: ServiceModel

    public init(model: ServiceModel) {
        self.model = model
    }

    public func decodeResponse(operation: String, response: AWSHTTPResponse) throws -> JSONValue {
        let op = try model.operation(operation)
        guard let outputName = op.output, let output = model.shapes[outputName] else { return [:] }
        switch model.metadata.protocol {
        case .ec2, .query:
            let root = try XMLElementNode.parse(response.body)
            // Query responses wrap the result (`<ListUsersResponse><ListUsersResult>`); EC2's do not.
            let container = op.resultWrapper.flatMap { root.child($0) } ?? root
            return decodeXML(container, shape: output)
        case .restXML:
            var result: [String: JSONValue] = [:]
            if let payload = output.payload, let ref = output.members?[payload], let shape = model.shapes[ref.shape] {
                if ["blob", "string"].contains(shape.type) {
                    result[payload] = .string(String(decoding: response.body, as: UTF8.self))
                } else if !response.body.isEmpty {
                    result[payload] = decodeXML(try XMLElementNode.parse(response.body), shape: shape)
                }
            } else if !response.body.isEmpty {
                let root = try XMLElementNode.parse(response.body)
                if case .object(let members) = decodeRootStructure(root, shape: output) {
                    result.merge(members) { _, new in new }
                }
            }
            addHeaderMembers(output, response, into: &result)
            return .object(result)
        case .json, .restJSON:
            var result: [String: JSONValue] = [:]
            if !response.body.isEmpty, case .object(let members) = convertJSON(try JSONValue.parse(response.body), shape: output) {
                result = members
            }
            addHeaderMembers(output, response, into: &result)
            return .object(result)
        }
    }

    /// A REST-XML root is the output structure itself, except for the odd response whose root
    /// element *is* the single member's value (`<LocationConstraint>EU</LocationConstraint>`).
    private func decodeRootStructure(_ root: XMLElementNode, shape: ServiceModel.Shape) -> JSONValue {
        if root.children.isEmpty, let members = shape.members,
            let (name, _) = members.first(where: { ($0.value.locationName ?? $0.key) == root.name })
        {
            // An empty constraint (`<LocationConstraint/>`) means "no value", as boto3 reports it.
            return root.text.isEmpty ? [:] : .object([name: .string(root.text)])
        }
        return decodeXML(root, shape: shape)
    }

    private func addHeaderMembers(_ shape: ServiceModel.Shape, _ response: AWSHTTPResponse, into result: inout [String: JSONValue]) {
        for (name, ref) in shape.members ?? [:] where ref.location == "header" {
            if let value = response.header(ref.locationName ?? name) {
                result[name] = scalar(value, shape: model.shapes[ref.shape])
            }
        }
    }

    // MARK: XML

    func decodeXML(_ node: XMLElementNode, shape: ServiceModel.Shape) -> JSONValue {
        switch shape.type {
        case "structure":
            var result: [String: JSONValue] = [:]
            for (name, ref) in shape.members ?? [:] {
                if ref.location != nil { continue }
                guard let memberShape = model.shapes[ref.shape] else { continue }
                let wireName = ref.locationName ?? name
                if ref.xmlAttribute == true {
                    if let value = node.attributes[wireName] { result[name] = scalar(value, shape: memberShape) }
                    continue
                }
                let flattened = ref.flattened == true || memberShape.flattened == true
                if flattened, memberShape.type == "list" {
                    let items = node.children(named: wireName)
                    if !items.isEmpty, let itemShape = memberShape.member.flatMap({ model.shapes[$0.shape] }) {
                        result[name] = .array(items.map { decodeXML($0, shape: itemShape) })
                    }
                } else if flattened, memberShape.type == "map" {
                    let entries = node.children(named: wireName)
                    if !entries.isEmpty { result[name] = decodeMapEntries(entries, shape: memberShape) }
                } else if let child = node.child(wireName) {
                    result[name] = decodeXML(child, shape: memberShape)
                }
            }
            return .object(result)
        case "list":
            guard let memberRef = shape.member, let itemShape = model.shapes[memberRef.shape] else { return [] }
            let itemName = memberRef.locationName ?? "member"
            return .array(node.children(named: itemName).map { decodeXML($0, shape: itemShape) })
        case "map":
            return decodeMapEntries(node.children(named: "entry"), shape: shape)
        default:
            return scalar(node.text, shape: shape)
        }
    }

    private func decodeMapEntries(_ entries: [XMLElementNode], shape: ServiceModel.Shape) -> JSONValue {
        let keyName = shape.key?.locationName ?? "key"
        let valueName = shape.value?.locationName ?? "value"
        let valueShape = shape.value.flatMap { model.shapes[$0.shape] }
        var result: [String: JSONValue] = [:]
        for entry in entries {
            guard let key = entry.child(keyName)?.text else { continue }
            if let valueNode = entry.child(valueName), let valueShape {
                result[key] = decodeXML(valueNode, shape: valueShape)
            } else {
                result[key] = .null
            }
        }
        return .object(result)
    }

    func scalar(_ text: String, shape: ServiceModel.Shape?) -> JSONValue {
        switch shape?.type {
        case "integer", "long":
            return Int64(text.trimmingCharacters(in: .whitespaces)).map(JSONValue.int) ?? .string(text)
        case "float", "double":
            return Double(text.trimmingCharacters(in: .whitespaces)).map(JSONValue.double) ?? .string(text)
        case "boolean":
            return .bool(text.trimmingCharacters(in: .whitespaces).lowercased() == "true")
        case "timestamp":
            return .string(Timestamps.normalize(text))
        default:
            return .string(text)
        }
    }

    // MARK: JSON

    /// JSON responses already use member names; only timestamps (epoch seconds on the wire) change.
    func convertJSON(_ value: JSONValue, shape: ServiceModel.Shape?) -> JSONValue {
        guard let shape else { return value }
        switch (shape.type, value) {
        case ("structure", .object(let members)):
            // REST-JSON bodies may use a member's wire name (`detectorIds` for `DetectorIds`).
            var byWireName: [String: (String, ServiceModel.MemberRef)] = [:]
            for (name, ref) in shape.members ?? [:] { byWireName[ref.locationName ?? name] = (name, ref) }
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                let (name, ref) = byWireName[key] ?? (key, shape.members?[key])
                result[name] = convertJSON(member, shape: ref.flatMap { model.shapes[$0.shape] })
            }
            return .object(result)
        case ("list", .array(let items)):
            let itemShape = shape.member.flatMap { model.shapes[$0.shape] }
            return .array(items.map { convertJSON($0, shape: itemShape) })
        case ("map", .object(let members)):
            let valueShape = shape.value.flatMap { model.shapes[$0.shape] }
            return .object(members.mapValues { convertJSON($0, shape: valueShape) })
        case ("timestamp", .int(let seconds)):
            return .string(Timestamps.iso8601(Date(timeIntervalSince1970: Double(seconds))))
        case ("timestamp", .double(let seconds)):
            return .string(Timestamps.iso8601(Date(timeIntervalSince1970: seconds)))
        case ("timestamp", .string(let text)):
            return .string(Timestamps.normalize(text))
        default:
            return value
        }
    }
}
