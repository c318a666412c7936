# Shared helpers for the scripts in tools/. Source it; do not run it.

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages whose command or file is missing.
# Usage: ensure_apt <package>:<command-or-path> ...
ensure_apt() {
    local missing=()
    for spec in "$@"; do
        local package=${spec%%:*} probe=${spec#*:}
        if [[ $probe == /* ]]; then
            [ -e "$probe" ] || missing+=("$package")
        else
            command -v "$probe" >/dev/null 2>&1 || missing+=("$package")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
        as_root apt-get update -q >/dev/null
        as_root apt-get install -y -q "${missing[@]}" >/dev/null
    }
}

# Installs PyPI packages whose import is missing.
# Usage: ensure_pip <requirement>:<module> ...
ensure_pip() {
    local missing=()
    for spec in "$@"; do
        local requirement=${spec%%:*} module=${spec#*:}
        python3 -c "import $module" >/dev/null 2>&1 || missing+=("$requirement")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing PyPI packages: ${missing[*]}"
    python3 -m pip install -q "${missing[@]}"
}

repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

# Prints N free TCP ports on 127.0.0.1, space-separated (held open together, so all differ).
free_ports() {
    python3 -c '
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))' "$1"
}
