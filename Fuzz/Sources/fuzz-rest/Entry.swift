import FuzzDriver
import FuzzTargets

@main
enum Main {
    static func main() {
        FuzzDriver.run { FuzzDriver.call(.rest, $0, $1) }
    }
}
