import Foundation
import MeshCore

extension MeshTime {
    /// The wall clock now.
    static var now: MeshTime {
        MeshTime(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
    }
}
