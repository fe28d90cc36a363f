# Shared by the Scripts: start a moto server on 127.0.0.1 and wait for it. Source it, then
#     start_moto PORT LOGFILE      # sets moto_pid; the caller's EXIT trap should kill it
port_open() {
    python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1).close()" "$1" 2>/dev/null
}

start_moto() {
    local port="$1" log="$2"
    python3 -m moto.server -H 127.0.0.1 -p "$port" > "$log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 1 60); do
        port_open "$port" && return 0
        sleep 0.5
    done
    echo "moto did not start on 127.0.0.1:$port (see $log)" >&2
    return 1
}
