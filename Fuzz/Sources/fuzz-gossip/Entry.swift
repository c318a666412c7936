import FuzzDriver
import FuzzTargets

@main
enum Main {
    static func main() {
        FuzzDriver.run { FuzzDriver.call(.gossip, $0, $1) }
    }
}
