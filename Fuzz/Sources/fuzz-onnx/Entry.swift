import FuzzDriver
import FuzzTargets

@main
enum Main {
    static func main() {
        FuzzDriver.run { FuzzDriver.call(.onnx, $0, $1) }
    }
}
