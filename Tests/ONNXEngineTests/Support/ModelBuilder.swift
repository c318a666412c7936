import Foundation
@testable import ONNXEngine

/// Builds small models in tests without going through Python.
enum ModelBuilder {
    static func tensorInfo(_ name: String, _ type: ElementType, _ shape: [Int]) -> Onnx_ValueInfoProto {
        var value = Onnx_ValueInfoProto()
        value.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = type.rawValue
        tensor.shape.dim = shape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if d < 0 { dim.dimParam = "N" } else { dim.dimValue = Int64(d) }
            return dim
        }
        value.type.tensorType = tensor
        return value
    }

    static func node(
        _ op: String, _ inputs: [String], _ outputs: [String], domain: String = "",
        attributes: [Onnx_AttributeProto] = []
    ) -> Onnx_NodeProto {
        var node = Onnx_NodeProto()
        node.opType = op
        node.input = inputs
        node.output = outputs
        node.domain = domain
        node.attribute = attributes
        return node
    }

    static func intAttribute(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func intsAttribute(_ name: String, _ values: [Int64]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values
        return a
    }

    static func floatsAttribute(_ name: String, _ values: [Float]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .floats
        a.floats = values
        return a
    }

    static func stringAttribute(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    static func stringsAttribute(_ name: String, _ values: [String]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .strings
        a.strings = values.map { Data($0.utf8) }
        return a
    }

    /// A float initializer with the given dimensions and no data, e.g. a zero beside huge ones.
    static func emptyInitializer(_ name: String, dims: [Int64]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ElementType.float.rawValue
        t.dims = dims
        return t
    }

    static func floatInitializer(_ name: String, _ shape: [Int], _ values: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ElementType.float.rawValue
        t.dims = shape.map { Int64($0) }
        t.floatData = values
        return t
    }

    static func model(
        nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto],
        initializers: [Onnx_TensorProto] = [], opsets: [String: Int] = ["": 13, "ai.onnx.ml": 3]
    ) throws -> Data {
        var graph = Onnx_GraphProto()
        graph.name = "test"
        graph.node = nodes
        graph.input = inputs
        graph.output = outputs
        graph.initializer = initializers
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.graph = graph
        model.opsetImport = opsets.map { domain, version in
            var o = Onnx_OperatorSetIdProto()
            o.domain = domain
            o.version = Int64(version)
            return o
        }
        return try model.serializedData()
    }
}
