#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft: broker and controller in one JVM) for development and tests,
# without Docker: Maven fetches the official org.apache.kafka:kafka_2.13 jars (cached in ~/.m2 and in
# deploy/kafka/.libs), data lives in a temp folder. Stop it with deploy/kafka/stop.sh.
#   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_STATE_DIR (/tmp/lottery-kafka-$KAFKA_PORT)
#   --fetch-only: just make sure the jars are there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
state="${KAFKA_STATE_DIR:-/tmp/lottery-kafka-$port}"
libs="$here/.libs"

if [ "${1:-}" != "--fetch-only" ] && [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
	echo "Kafka already running on 127.0.0.1:$port (pid $(cat "$state/pid"))"
	exit 0
fi

if [ ! -f "$libs/.complete" ]; then
	echo "fetching the Kafka broker's jars with Maven"
	rm -rf "$libs"
	mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs"
	touch "$libs/.complete"
fi
[ "${1:-}" = "--fetch-only" ] && exit 0

mkdir -p "$state"
if [ ! -f "$state/data/meta.properties" ]; then
	rm -rf "$state/data"
	cat > "$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$state/data
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
	cluster_id="$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
	java -cp "$libs/*" -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$state" \
		kafka.tools.StorageTool format -t "$cluster_id" -c "$state/server.properties" >/dev/null
fi

: >"$state/server.log"
nohup java -Xms256m -Xmx512m -cp "$libs/*" -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$state" \
	kafka.Kafka "$state/server.properties" >"$state/stdout.log" 2>&1 &
echo $! >"$state/pid"

for _ in $(seq 1 120); do
	if grep -q "Kafka Server started\|\[KafkaRaftServer nodeId=1\] Kafka Server started" "$state/server.log" 2>/dev/null; then
		echo "Kafka is up on 127.0.0.1:$port (data in $state/data)"
		exit 0
	fi
	if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
		echo "Kafka exited; see $state/server.log and $state/stdout.log" >&2
		exit 1
	fi
	sleep 0.5
done
echo "Kafka did not start within 60 s; see $state/server.log" >&2
exit 1
