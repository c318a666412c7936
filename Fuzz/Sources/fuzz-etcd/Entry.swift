import FuzzDriver
import FuzzTargets

@main
enum Main {
    static func main() {
        FuzzDriver.run { FuzzDriver.call(.etcd, $0, $1) }
    }
}
