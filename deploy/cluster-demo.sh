#!/usr/bin/env bash
# make cluster-demo: the job as it runs in production, on one machine. A Kafka broker, a Flink
# session cluster of two TaskManagers (deploy/flink-cluster.sh) and a real Prometheus (Debian's
# package, on 127.0.0.1:9090, scraping the JobManager and both TaskManagers); the job submitted at
# parallelism 2, exactly-once; Elec2 streamed through it; the job upgraded by savepoint halfway;
# then every query of the Grafana dashboard asked of Prometheus. Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export ORT_DISABLE_TELEMETRY=1
source deploy/pidfile.sh
source deploy/prometheus/ensure.sh
out=build/cluster-demo
model=$PWD/${DEMO_MODEL:-build/models/elec}
csv=${DEMO_CSV:-${ELEC_CSV:?set ELEC_CSV (make cluster-demo does)}}
rows=${DEMO_ROWS:-20000}
rm -rf "$out" build/prometheus-data
mkdir -p "$out"
ensure_prometheus
[ -f "$model/manifest.pb" ] || make model

cleanup() {
  stop_pidfile "$out/demo.pid"
  stop_pidfile "$out/prometheus.pid"
  deploy/flink-cluster.sh stop > /dev/null 2>&1 || true
  deploy/kafka.sh stop build/kafka > /dev/null 2>&1 || true
}
trap cleanup EXIT

deploy/kafka.sh start build/kafka 9092
deploy/flink-cluster.sh start
prometheus --config.file=deploy/prometheus/prometheus.yml --storage.tsdb.path=build/prometheus-data \
  --web.listen-address=127.0.0.1:9090 > "$out/prometheus.log" 2>&1 &
echo $! > "$out/prometheus.pid"

job_args=(--kafka.bootstrap 127.0.0.1:9092 --model.dir "$model" --parallelism 2 --kafka.delivery exactly-once
          --kafka.topic.in cluster-records --kafka.topic.out cluster-predictions --kafka.topic.dead-letter cluster-dead-letters
          --kafka.group cluster-demo --kafka.transactional-id-prefix cluster-demo --checkpoint.interval.ms 2000)
# The demo driver without its own job: creates the topics, produces, follows the output, prints the figures.
bin/npt-stream demo --job external --csv "$csv" --limit "$rows" --rate 1000 "${job_args[@]}" > "$out/demo.log" 2>&1 &
echo $! > "$out/demo.pid"
for _ in $(seq 240); do grep -q "topics ready" "$out/demo.log" && break; sleep 0.5; done
grep -q "topics ready" "$out/demo.log" || { cat "$out/demo.log"; echo "cluster-demo: the demo driver did not start" >&2; exit 1; }

job=$(bin/npt-stream submit "${job_args[@]}" 2>&1 | tee "$out/submit.log" | sed -n 's/.*JobID \([0-9a-f]*\).*/\1/p')
[ -n "$job" ] || { cat "$out/submit.log"; echo "cluster-demo: the job was not submitted" >&2; exit 1; }
echo "cluster-demo: job $job submitted at parallelism 2"

# Halfway through the stream, the upgrade: stop with a savepoint, submit again from it.
half=$((rows / 2))
for _ in $(seq 240); do
  done_so_far=$(grep -o 'predictions [0-9]*' "$out/demo.log" | tail -1 | cut -d' ' -f2)
  [ "${done_so_far:-0}" -ge "$half" ] && break
  sleep 0.5
done
upgrade=failed
new_job=$(deploy/flink-cluster.sh upgrade "$job" "${job_args[@]}" 2>&1 | tee "$out/upgrade.log" | sed -n 's/.*JobID \([0-9a-f]*\).*/\1/p')
[ -n "$new_job" ] && upgrade=ok
echo "cluster-demo: upgrade by savepoint $upgrade (job $job -> ${new_job:-none})"

wait "$(cat "$out/demo.pid")" || true
rm -f "$out/demo.pid"
sed -n '/final figures/,$p' "$out/demo.log"
accounted=no
grep -q "accounted for     all" "$out/demo.log" && accounted=yes

# Every dashboard query, asked of Prometheus while the job still runs (two scrapes at least into the
# rates' 1-minute windows). A classification model has no RMSE series: that query is not counted.
sleep 12
classification=$(grep -q '"CLASSIFICATION"' "$model/manifest.json" && echo yes || echo no)
total=0
with_data=0
while IFS= read -r expr; do
  if [ "$classification" = yes ] && [[ "$expr" == *prequentialRmse* ]]; then continue; fi
  total=$((total + 1))
  if curl -sf http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$expr" | grep -q '"result":\[{'; then
    with_data=$((with_data + 1))
  else
    echo "cluster-demo: no data for $expr" >&2
  fi
done < <(python3 -c 'import json,sys; [print(t["expr"]) for p in json.load(open(sys.argv[1]))["panels"] for t in p.get("targets", [])]' deploy/grafana/npt-stream.json)
taskmanagers=$(curl -sf http://127.0.0.1:8081/taskmanagers | grep -o '"id"' | wc -l)
echo "cluster-demo: taskmanagers $taskmanagers, parallelism 2, dashboard queries with data $with_data/$total, upgrade by savepoint: $upgrade, records = predictions + dead letters: $accounted"
[ "$with_data" -eq "$total" ] && [ "$upgrade" = ok ] && [ "$accounted" = yes ]
