#!/bin/bash
# Starts the compose shape's Kafka (deploy/kafka/server.properties). On the first start it formats the
# storage with the admin's SCRAM credential (KAFKA_ADMIN_PASSWORD): in KRaft mode the first user
# must exist before the broker runs, since every client listener requires SASL. Later starts reuse
# the formatted storage (the admin's password is then changed with kafka-configs.sh, not here).
set -euo pipefail
: "${KAFKA_CLUSTER_ID:?set KAFKA_CLUSTER_ID}" "${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD}"
config=/tidemark/server.properties
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format --config "$config" --cluster-id "$KAFKA_CLUSTER_ID" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
