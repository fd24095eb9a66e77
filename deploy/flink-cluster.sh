#!/usr/bin/env bash
# A standalone Flink 2.2 session cluster from Maven Central jars (no distribution download):
#   deploy/flink-cluster.sh start          JobManager + TASKMANAGERS TaskManagers (default 2), each its own JVM,
#                                          REST on 127.0.0.1:8081, Prometheus reporters on 9250-9260
#   deploy/flink-cluster.sh submit ARGS..  flink run -d the shaded job jar with the job's --key value ARGS
#   deploy/flink-cluster.sh upgrade JOB ARGS..
#                                          stop JOB with a savepoint, then submit the (new) jar with ARGS from it
#   deploy/flink-cluster.sh stop           stop them all
# Logs and pids in build/flink. The TaskManager gets ORT_DISABLE_TELEMETRY=1 and its own java.io.tmpdir.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$PWD/build/flink
conf=$PWD/deploy/flink
jar=flink-job/target/npt-stream-flink-job-0.1.0-SNAPSHOT-job.jar
mkdir -p "$dir/tmp"
export ORT_DISABLE_TELEMETRY=1 FLINK_CONF_DIR=$conf

# What Flink's own scripts pass on Java 17 (env.java.opts.all of the distribution's config.yaml).
opens=()
for m in java.lang java.net java.io java.nio sun.nio.ch java.lang.reflect java.text java.time java.util \
         java.util.concurrent java.util.concurrent.atomic java.util.concurrent.locks; do
  opens+=("--add-opens=java.base/$m=ALL-UNNAMED")
done
opens+=(--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED)

classpath() {
  if [ ! -s "$dir/classpath.txt" ] || [ flink-job/pom.xml -nt "$dir/classpath.txt" ]; then
    # Flink itself (runtime, clients, Prometheus reporter, log4j): the job module's classpath less
    # what the job jar brings (Kafka, ONNX Runtime, Protobuf) and test libraries; a class both in
    # the cluster and in the job jar breaks Flink's child-first class loading.
    mvn -B -ntp -q -pl flink-job dependency:build-classpath -Dmdep.includeScope=provided -Dmdep.outputFile="$dir/classpath.all"
    tr ':' '\n' < "$dir/classpath.all" \
      | grep -vE '/(org/apache/kafka|com/microsoft/onnxruntime|com/google/protobuf|io/nptstream|junit|org/junit|org/hamcrest|org/assertj|org/apache/curator)/|flink-connector-kafka|flink-test-utils|-tests?\.jar$' \
      | paste -sd: > "$dir/classpath.txt"
  fi
  cat "$dir/classpath.txt"
}

start_jvm() {  # name main-class [jvm options] [-- dynamic properties]
  local name=$1 main=$2; shift 2
  local jvm=() dyn=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do jvm+=("$1"); shift; done
  [ $# -gt 0 ] && shift && dyn=("$@")
  java "${opens[@]}" "${jvm[@]}" -Djava.io.tmpdir="$dir/tmp" -Dlog.file="$dir/$name.log" -Dlog4j.configurationFile="$PWD/deploy/kafka/log4j2.properties" \
    -cp "$(classpath)" "$main" --configDir "$conf" "${dyn[@]}" > "$dir/$name.out" 2>&1 &
  echo $! > "$dir/$name.pid"
}

# The TaskManager's memory and CPU settings, worked out from config.yaml the way Flink's own
# scripts do (BashJavaUtils): a line of JVM options, then a line of -D dynamic properties.
tm_params() {
  java -cp "$(classpath)" org.apache.flink.runtime.util.bash.BashJavaUtils GET_TM_RESOURCE_PARAMS --configDir "$conf" 2>/dev/null \
    | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p'
}

source deploy/pidfile.sh
stop_jvm() { stop_pidfile "$dir/$1.pid"; }

case "${1:-}" in
  start)
    start_jvm jobmanager org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint -Xmx768m
    mapfile -t params < <(tm_params)
    taskmanagers=${TASKMANAGERS:-2}
    for i in $(seq "$taskmanagers"); do
      # shellcheck disable=SC2086
      start_jvm "taskmanager-$i" org.apache.flink.runtime.taskexecutor.TaskManagerRunner ${params[0]} -- ${params[1]}
    done
    for _ in $(seq 120); do
      if [ "$(curl -sf http://127.0.0.1:8081/taskmanagers 2>/dev/null | grep -o '"id"' | wc -l)" -ge "$taskmanagers" ]; then
        echo "flink session cluster on http://127.0.0.1:8081, $taskmanagers TaskManagers (logs in $dir)"; exit 0
      fi
      sleep 0.5
    done
    echo "flink cluster did not come up; see $dir/*.out" >&2; exit 1 ;;
  submit)
    shift
    [ -f "$jar" ] || { echo "no $jar: run mvn install -DskipTests" >&2; exit 1; }
    java "${opens[@]}" -Djava.io.tmpdir="$dir/tmp" -cp "$(classpath)" org.apache.flink.client.cli.CliFrontend run -d -m 127.0.0.1:8081 "$jar" "$@" ;;
  upgrade)
    shift
    job=${1:?usage: deploy/flink-cluster.sh upgrade JOB_ID ARGS...}; shift
    [ -f "$jar" ] || { echo "no $jar: run mvn install -DskipTests" >&2; exit 1; }
    savepoints="file://$dir/savepoints"
    trigger=$(curl -sf -X POST -H 'Content-Type: application/json' -d "{\"targetDirectory\": \"$savepoints\", \"drain\": false}" \
      "http://127.0.0.1:8081/jobs/$job/stop" | sed -n 's/.*"request-id":"\([^"]*\)".*/\1/p')
    [ -n "$trigger" ] || { echo "upgrade: job $job did not accept stop-with-savepoint" >&2; exit 1; }
    location=
    for _ in $(seq 240); do
      status=$(curl -sf "http://127.0.0.1:8081/jobs/$job/savepoints/$trigger")
      location=$(echo "$status" | sed -n 's/.*"location":"\([^"]*\)".*/\1/p')
      [ -n "$location" ] && break
      if echo "$status" | grep -q '"failure-cause"'; then echo "upgrade: the savepoint failed: $status" >&2; exit 1; fi
      sleep 0.5
    done
    [ -n "$location" ] || { echo "upgrade: no savepoint of job $job after 2 min" >&2; exit 1; }
    echo "upgrade: job $job stopped with savepoint $location"
    java "${opens[@]}" -Djava.io.tmpdir="$dir/tmp" -cp "$(classpath)" org.apache.flink.client.cli.CliFrontend run -d -m 127.0.0.1:8081 \
      -s "$location" "$jar" "$@" ;;
  stop)
    for pid in "$dir"/taskmanager*.pid; do
      [ -e "$pid" ] && stop_jvm "$(basename "$pid" .pid)"
    done
    stop_jvm jobmanager ;;
  *) echo "usage: deploy/flink-cluster.sh start|submit ARGS...|upgrade JOB_ID ARGS...|stop" >&2; exit 2 ;;
esac
