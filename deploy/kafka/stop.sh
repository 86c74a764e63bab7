#!/usr/bin/env bash
# Stops the broker deploy/kafka/start.sh started. KAFKA_KEEP_DATA=1 keeps its data for the next start.
set -euo pipefail
port="${KAFKA_PORT:-9092}"
state="${KAFKA_STATE_DIR:-/tmp/lottery-kafka-$port}"
if [ -f "$state/pid" ]; then
	pid="$(cat "$state/pid")"
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$state/pid"
fi
if [ "${KAFKA_KEEP_DATA:-0}" != "1" ]; then rm -rf "$state"; fi
echo "Kafka on 127.0.0.1:$port stopped"
