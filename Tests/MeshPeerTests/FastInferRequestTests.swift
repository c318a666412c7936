import HTTPTypes
@testable import MeshPeer
import Testing

/// Which requests ``InferFastPath`` answers on the channel; the rest go to the router.
@Suite struct FastInferRequestTests {
    func head(_ path: String, method: HTTPRequest.Method = .post, _ fields: [(HTTPField.Name, String)] = [(.contentLength, "40")]) -> HTTPRequest {
        var head = HTTPRequest(method: method, scheme: nil, authority: "peer", path: path)
        for (name, value) in fields { head.headerFields.append(HTTPField(name: name, value: value)) }
        return head
    }

    @Test func plainInferRequestsAreTakenWithTheModelName() throws {
        let plain = try #require(FastInferRequest(head("/v2/models/iris-2/infer"), maxBodyBytes: 100))
        #expect(plain.name == "iris-2")
        let versioned = try #require(FastInferRequest(head("/v2/models/iris/versions/3/infer"), maxBodyBytes: 100))
        #expect(versioned.name == "iris")
        #expect(FastInferRequest(head("/v2/models/m/infer", [(.contentLength, "0")]), maxBodyBytes: 100) != nil)
    }

    @Test(arguments: [
        "/v2/models/m/infer?x=1", "/v2/models/..%2Fetc/infer", "/v2/models//infer", "/v2/models/m/infer/", "/v2/models/m/ready",
        "/v2/models/m/versions//infer", "/v2/models/m/version/1/infer", "/v1/models/m/infer", "//v2/models/m/infer", "/v2/models/m",
        "/v2/models/infer", "/v2/models/a/b/infer", "/v2/models/m/versions/1/2/infer", "/v2/models//versions/1/infer", "/v2/models/m/versions/",
    ])
    func otherPathsGoToTheRouter(_ path: String) {
        #expect(FastInferRequest(head(path), maxBodyBytes: 100) == nil)
    }

    @Test func otherMethodsAndBodiesGoToTheRouter() {
        #expect(FastInferRequest(head("/v2/models/m/infer", method: .get), maxBodyBytes: 100) == nil)
        // No length (chunked), over the limit, or not a number.
        #expect(FastInferRequest(head("/v2/models/m/infer", []), maxBodyBytes: 100) == nil)
        #expect(FastInferRequest(head("/v2/models/m/infer", [(.contentLength, "101")]), maxBodyBytes: 100) == nil)
        #expect(FastInferRequest(head("/v2/models/m/infer", [(.contentLength, "-1")]), maxBodyBytes: 100) == nil)
        #expect(FastInferRequest(head("/v2/models/m/infer", [(.contentLength, "4"), (.transferEncoding, "chunked")]), maxBodyBytes: 100) == nil)
        #expect(FastInferRequest(head("/v2/models/m/infer", [(.contentLength, "4"), (.expect, "100-continue")]), maxBodyBytes: 100) == nil)
        #expect(FastInferRequest(head("/v2/models/m/infer", [(.contentLength, "4"), (.connection, "Close")]), maxBodyBytes: 100) == nil)
        #expect(FastInferRequest(head("/v2/models/m/infer", [(.contentLength, "4"), (.connection, "keep-alive")]), maxBodyBytes: 100) != nil)
    }

    @Test func headersAreReadByCanonicalName() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("MM-Hop")!, value: "forward"))
        fields.append(HTTPField(name: .contentType, value: "application/json"))
        fields.append(HTTPField(name: HTTPField.Name("x-tag")!, value: "a"))
        fields.append(HTTPField(name: HTTPField.Name("X-Tag")!, value: "b"))
        #expect(fields.value("mm-hop") == "forward")
        #expect(fields.value("Content-Type") == "application/json")
        #expect(fields.value("x-tag") == "a, b")
        #expect(fields.value("mm-excluded") == nil)
        #expect(fields.value("not a name") == nil)
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.now.hasSuffix(" GMT"))
    }
}
