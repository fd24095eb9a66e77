# Sourced: ensure_prometheus installs Debian's prometheus package (prometheus and promtool) when missing.
ensure_prometheus() {
  command -v promtool > /dev/null && command -v prometheus > /dev/null && return 0
  echo "installing Prometheus (Debian package prometheus)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) > /dev/null \
    || { echo "cannot install Prometheus: apt-get install prometheus" >&2; return 1; }
}
