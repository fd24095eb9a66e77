#!/usr/bin/env bash
# make demo: a real Kafka broker (separate JVM), the NPT job on a local Flink, Elec2 through Kafka.
# Variables: DEMO_ROWS (default all: the whole stream after the model's training rows),
# DEMO_RATE (records/s, 0 = as fast as the job goes), DEMO_KEYS (the rows dealt to this many keys, 1),
# DEMO_MODEL (build/models/elec; `prior`: the shipped prior model bound to the stream, no training),
# DEMO_CSV (the Makefile's ELEC_CSV), DEMO_KAFKA_PORT (9092), DEMO_ARGS (more job keys),
# DEMO_RETRAIN=1 (serve from a model store, retrain from the topic mid-stream and swap;
# DEMO_RETRAIN_AFTER rows, 15000; DEMO_RETRAIN_STEPS, 100), DEMO_RETRAIN=drift (serve from a model
# store with `bin/npt-stream retrain --on-drift` beside the job; give the stream a DEMO_RATE slow
# enough for its fine-tunes, a minute or two each on these cores).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${DEMO_ROWS:-all}
[ "$rows" = all ] && rows=1000000000
model=${DEMO_MODEL:-build/models/elec}
csv=${DEMO_CSV:-${ELEC_CSV:-}}
[ -n "$csv" ] || { echo "demo: no stream: set DEMO_CSV (make demo sets ELEC_CSV)" >&2; exit 1; }
port=${DEMO_KAFKA_PORT:-9092}
export ORT_DISABLE_TELEMETRY=1

if [ "$model" = prior ]; then
  # The prior model serves Elec2 zero-shot: bound to its schema (rows 0:9062 give the names), each key standardised by its own first rows.
  model=build/models/elec-prior
  [ -f "$model/manifest.pb" ] || bin/npt-stream train --csv "$csv" --target target --rows 0:9062 \
    --init models/prior/checkpoint.pt --steps 0 --out "$model"
fi
if [ ! -f "$model/manifest.pb" ]; then
  make -n model > /dev/null 2>&1 || { echo "demo: no model at $model and no 'make model' target: export one with model-export (npt_export.train) or set DEMO_MODEL" >&2; exit 1; }
  make model
fi
[ -f "$csv" ] || { echo "demo: no stream at $csv; set DEMO_CSV" >&2; exit 1; }
model_args=(--model.dir "$model")
case "${DEMO_RETRAIN:-0}" in
  0) ;;
  1|drift)
    store=$PWD/build/demo/store
    rm -rf "$store"
    bin/npt-stream publish "$model" "$store"
    if [ "$DEMO_RETRAIN" = drift ]; then
      model_args=(--model.store "file://$store" --retrain-on-drift "$store")
    else
      model_args=(--model.store "file://$store" --retrain "$store" --retrain-after "${DEMO_RETRAIN_AFTER:-15000}"
                  --retrain-steps "${DEMO_RETRAIN_STEPS:-100}")
    fi ;;
  *) echo "demo: DEMO_RETRAIN=$DEMO_RETRAIN: use 1 (one retrain mid-stream) or drift (retrain --on-drift beside the job)" >&2; exit 2 ;;
esac
mkdir -p build/demo/tmp
if [ ! -s build/demo/classpath.txt ] || [ demo/pom.xml -nt build/demo/classpath.txt ] || [ flink-job/pom.xml -nt build/demo/classpath.txt ]; then
  mvn -B -ntp -q -pl demo dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$PWD/build/demo/classpath.txt"
fi

trap 'deploy/kafka.sh stop build/kafka' EXIT
deploy/kafka.sh start build/kafka "$port"
rm -rf build/demo/checkpoints
# shellcheck disable=SC2086
java -Xmx3g -Djava.io.tmpdir="$PWD/build/demo/tmp" \
  -cp "demo/target/classes:$(cat build/demo/classpath.txt)" io.nptstream.demo.Demo \
  --kafka.bootstrap "127.0.0.1:$port" "${model_args[@]}" --csv "$csv" --limit "$rows" --rate "${DEMO_RATE:-0}" --keys "${DEMO_KEYS:-1}" \
  --checkpoint.dir "file://$PWD/build/demo/checkpoints" ${DEMO_ARGS:-}
