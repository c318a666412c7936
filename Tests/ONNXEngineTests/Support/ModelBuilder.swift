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
