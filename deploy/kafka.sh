#!/usr/bin/env bash
# A real, single-node Kafka broker (KRaft, combined broker + controller) from Maven Central jars.
#   deploy/kafka.sh start [DIR] [PORT]   format DIR, start the broker on 127.0.0.1:PORT, wait until it listens
#   deploy/kafka.sh stop  [DIR]          stop it (SIGTERM, then SIGKILL after 30 s)
# DIR defaults to build/kafka, PORT to 9092 (the controller listens on PORT+1).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:?usage: deploy/kafka.sh start|stop [DIR] [PORT]}
dir=$(mkdir -p "${2:-build/kafka}" && cd "${2:-build/kafka}" && pwd)
port=${3:-9092}
pidfile=$dir/broker.pid

source deploy/pidfile.sh
stop() { stop_pidfile "$pidfile"; }

case "$cmd" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: deploy/kafka.sh start|stop [DIR] [PORT]" >&2; exit 2 ;;
esac

stop
if [ ! -s "$dir/classpath.txt" ] || [ deploy/kafka/pom.xml -nt "$dir/classpath.txt" ]; then
  mvn -B -ntp -q -f deploy/kafka/pom.xml dependency:build-classpath -Dmdep.outputFile="$dir/classpath.txt"
fi
cp=$(cat "$dir/classpath.txt")
rm -rf "$dir/data" && mkdir -p "$dir/data" "$dir/tmp"
cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$((port + 1))
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$((port + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
java_opts=(-Xmx768m -Djava.io.tmpdir="$dir/tmp" -Dlog4j2.configurationFile="$PWD/deploy/kafka/log4j2.properties" -cp "$cp")
cluster_id=$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid)
java "${java_opts[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$dir/server.properties" > "$dir/format.log"
ORT_DISABLE_TELEMETRY=1 nohup java "${java_opts[@]}" kafka.Kafka "$dir/server.properties" > "$dir/broker.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 120); do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "kafka broker exited at start; its log:" >&2; tail -20 "$dir/broker.log" >&2; rm -f "$pidfile"; exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "kafka broker on 127.0.0.1:$port (pid $(cat "$pidfile"), data in $dir)"; exit 0
  fi
  sleep 0.5
done
echo "kafka broker did not listen on 127.0.0.1:$port within 60 s; its log: $dir/broker.log" >&2
stop; exit 1
