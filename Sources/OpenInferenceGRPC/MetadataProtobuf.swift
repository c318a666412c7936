import OpenInference

extension Inference_ModelMetadataResponse {
    public init(_ metadata: ModelMetadata) {
        self.init()
        name = metadata.name
        versions = metadata.versions
        platform = metadata.platform
        inputs = metadata.inputs.map(TensorMetadata.init)
        outputs = metadata.outputs.map(TensorMetadata.init)
    }
}

extension Inference_ModelMetadataResponse.TensorMetadata {
    public init(_ tensor: OpenInference.TensorMetadata) {
        self.init()
        name = tensor.name
        datatype = tensor.datatype.rawValue
        shape = tensor.shape.map(Int64.init)
    }
}

extension Inference_ServerMetadataResponse {
    public init(_ metadata: ServerMetadata) {
        self.init()
        name = metadata.name
        version = metadata.version
        extensions = metadata.extensions
    }
}
