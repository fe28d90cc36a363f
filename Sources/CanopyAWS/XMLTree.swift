import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A parsed XML element: enough structure to decode AWS responses by shape.
public struct XMLElementNode: Sendable {
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLElementNode]
    public var text: String

    public func children(named name: String) -> [XMLElementNode] { children.filter { $0.name == name } }
    public func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }

    /// Parses a whole document; throws with the parser's line and column on malformed input.
    public static func parse(_ data: Data) throws -> XMLElementNode {
        let builder = TreeBuilder()
        let parser = XMLParser(data: data)
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw XMLDecodeError.malformed(
                line: parser.lineNumber, column: parser.columnNumber,
                reason: parser.parserError.map { "\($0.localizedDescription)" } ?? "empty document")
        }
        return root
    }
}

public enum XMLDecodeError: Error, CustomStringConvertible, Sendable {
    case malformed(line: Int, column: Int, reason: String)

    public var description: String {
        switch self {
        case .malformed(let line, let column, let reason): "malformed XML at line \(line), column \(column): \(reason)"
        }
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLElementNode] = []
    var root: XMLElementNode?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        // Namespace prefixes (xsi:type) are kept on attributes; element names are local names.
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLElementNode(name: local, attributes: attributeDict, children: [], text: ""))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?
    ) {
        guard let done = stack.popLast() else { return }
        if stack.isEmpty {
            root = done
        } else {
            stack[stack.count - 1].children.append(done)
        }
    }
}
