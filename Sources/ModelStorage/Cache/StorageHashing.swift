import Crypto

enum StorageHashing {
    static func sha256Hex(_ text: String) -> String {
        SigV4Signer.hex(SHA256.hash(data: Array(text.utf8)))
    }
}
