#!/bin/bash
# One-shot Kafka set-up, as the admin (docker-compose.yml's `kafka-setup`, Kubernetes' Job
# `tidemark-kafka-setup`): each service's SCRAM-SHA-512 user (its password from
# KAFKA_<SERVICE>_PASSWORD), every topic of topics.txt, and the ACLs of acls.txt. The services
# themselves create nothing (KAFKA_CREATE_TOPICS=false: they have no right to). Idempotent: run it
# again after changing a password or upgrading Tidemark.
set -euo pipefail
: "${KAFKA_BOOTSTRAP_SERVERS:?}" "${KAFKA_ADMIN_PASSWORD:?}"
here=$(dirname "$0")
bin=/opt/kafka/bin
partitions=${KAFKA_TOPIC_PARTITIONS:-6}
replication=${KAFKA_REPLICATION_FACTOR:-1}

config=$(mktemp)
trap 'rm -f "$config"' EXIT
{
  echo "security.protocol=${KAFKA_SECURITY_PROTOCOL:-SASL_PLAINTEXT}"
  echo "sasl.mechanism=SCRAM-SHA-512"
  echo "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"${KAFKA_ADMIN_USERNAME:-admin}\" password=\"$KAFKA_ADMIN_PASSWORD\";"
  if [ -n "${KAFKA_SSL_CAFILE:-}" ]; then
    echo "ssl.truststore.type=PEM"
    echo "ssl.truststore.location=$KAFKA_SSL_CAFILE"
  fi
} > "$config"
admin=(--bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --command-config "$config")

for service in ingest metrics statutory; do
  variable="KAFKA_${service^^}_PASSWORD"
  password="${!variable:?set $variable}"
  echo "user tidemark-$service"
  "$bin/kafka-configs.sh" "${admin[@]}" --alter --entity-type users --entity-name "tidemark-$service" \
    --add-config "SCRAM-SHA-512=[password=$password]"
done

grep -v '^#' "$here/topics.txt" | while read -r topic count; do
  [ -n "$topic" ] || continue
  "$bin/kafka-topics.sh" "${admin[@]}" --create --if-not-exists --topic "$topic" \
    --partitions "${count:-$partitions}" --replication-factor "$replication"
done

# One kafka-acls.sh per user, operation and resource type (each call starts a JVM).
declare -A names
while read -r user operation resource name; do
  [ -n "$user" ] && [ "${user:0:1}" != "#" ] || continue
  names["$user $operation $resource"]+=" --$resource $name"
done < "$here/acls.txt"
for grant in "${!names[@]}"; do
  read -r user operation _resource <<< "$grant"
  # shellcheck disable=SC2086  # the --topic/--group options are split on purpose
  "$bin/kafka-acls.sh" "${admin[@]}" --add --allow-principal "User:$user" --operation "$operation" ${names[$grant]}
done
echo "Kafka users, topics and ACLs are in place."
