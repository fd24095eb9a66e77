#!/usr/bin/env bash
# make check-alerts: the alert rules parse and fire when they should (promtool test rules), and
# every PromQL expression of the Grafana dashboard parses. Installs Debian's prometheus package
# (for promtool) when promtool is missing.
set -euo pipefail
cd "$(dirname "$0")"
source ./ensure.sh
ensure_prometheus
promtool check config prometheus.yml
promtool check rules rules.yml
promtool test rules rules.test.yml
# The dashboard's queries, as recording rules, so that promtool parses each one.
dashboard_rules=$(mktemp --suffix=.yml)
trap 'rm -f "$dashboard_rules"' EXIT
python3 - ../grafana/npt-stream.json > "$dashboard_rules" <<'PY'
import json, sys
panels = json.load(open(sys.argv[1]))["panels"]
exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs):
    print(f"      - record: npt_dashboard_query_{i}\n        expr: {json.dumps(e)}")
PY
promtool check rules "$dashboard_rules" > /dev/null
echo "check-alerts: rules parse, their tests pass, $(grep -c 'record:' "$dashboard_rules") dashboard queries parse"
