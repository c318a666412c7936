import FuzzDriver
import FuzzTargets

@main
enum Main {
    static func main() {
        FuzzDriver.run { FuzzDriver.call(.grpc, $0, $1) }
    }
}
