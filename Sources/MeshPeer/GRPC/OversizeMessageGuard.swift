import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Refuses a gRPC request message larger than the limit as soon as its 5-byte length prefix
/// arrives: the client gets RESOURCE_EXHAUSTED with a message naming the limit, and the peer
/// never buffers the message. (The transport's own bound would reset the stream without a
/// status.) Sits first in each HTTP/2 stream's pipeline and only reads; frames pass unchanged.
final class OversizeMessageGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    let limit: Int
    let peer: String
    /// The current message's length prefix, while it is incomplete.
    private var prefix: [UInt8] = []
    /// Bytes of the current message still to come.
    private var bodyRemaining = 0
    private var refused = false

    init(limit: Int, peer: String) {
        self.limit = limit
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard case .data(let frame) = unwrapInboundIn(data), case .byteBuffer(var bytes) = frame.data else {
            context.fireChannelRead(data)
            return
        }
        while bytes.readableBytes > 0 {
            if bodyRemaining > 0 {
                let skipped = min(bodyRemaining, bytes.readableBytes)
                bytes.moveReaderIndex(forwardBy: skipped)
                bodyRemaining -= skipped
                continue
            }
            let taken = bytes.readBytes(length: min(5 - prefix.count, bytes.readableBytes)) ?? []
            prefix += taken
            guard prefix.count == 5 else { break }
            let length = Int(prefix[1]) << 24 | Int(prefix[2]) << 16 | Int(prefix[3]) << 8 | Int(prefix[4])
            prefix.removeAll()
            if length > limit {
                refuse(context: context, length: length)
                return
            }
            bodyRemaining = length
        }
        context.fireChannelRead(data)
    }

    /// Answers with a trailers-only response and ends the stream (gRPC over HTTP/2: a server
    /// that answers before the request ended resets the stream with NO_ERROR).
    private func refuse(context: ChannelHandlerContext, length: Int) {
        refused = true
        let message = "the request message is \(length) bytes; this peer accepts at most \(limit) (--max-body-bytes)"
        var metadata = Metadata()
        metadata.addString(peer, forKey: MeshHeaders.servedBy)
        let trailers = GRPCStreamReply.trailersOnly(RPCError(code: .resourceExhausted, message: message, metadata: metadata))
        context.write(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        // The client has not finished sending: NO_ERROR tells it to stop and keep the status.
        context.writeAndFlush(wrapOutboundOut(.rstStream(.noError)), promise: nil)
        context.close(promise: nil)
    }
}
