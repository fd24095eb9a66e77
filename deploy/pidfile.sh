# Sourced by the deploy scripts: stop_pidfile FILE stops the process whose pid FILE holds
# (SIGTERM, then SIGKILL after 30 s) and removes FILE; nothing to do when FILE is absent.
stop_pidfile() {
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
  fi
  rm -f "$1"
}
