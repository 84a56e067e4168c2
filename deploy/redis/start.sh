#!/bin/sh
# Starts Redis with the ACL users of deploy/redis/users.acl (docker-compose.yml's `redis`): each
# ${NAME} in the template is replaced with this container's environment, comment lines are dropped,
# and the result (readable by Redis only, never on the data volume) is Redis's --aclfile. The
# arguments are Redis's own (persistence, ...).
set -eu
for name in REDIS_PREFIX REDIS_ADMIN_PASSWORD REDIS_METRICS_PASSWORD REDIS_STATUTORY_PASSWORD REDIS_GATEWAY_PASSWORD; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "deploy/redis/start.sh: $name is not set" >&2
    exit 1
  fi
done
umask 077
awk '/^#/ || /^[[:space:]]*$/ { next }
     { while (match($0, /\$\{[A-Z_]+\}/)) {
         name = substr($0, RSTART + 2, RLENGTH - 3)
         $0 = substr($0, 1, RSTART - 1) ENVIRON[name] substr($0, RSTART + RLENGTH)
       }
       print }' /tidemark/users.acl > /tmp/users.acl
chown redis:redis /tmp/users.acl
exec docker-entrypoint.sh redis-server --aclfile /tmp/users.acl "$@"
