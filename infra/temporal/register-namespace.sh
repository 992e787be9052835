#!/bin/sh
# Makes a Temporal cluster ready for BeyondCloud: the namespace exists and carries the custom search attributes
# every run is tagged with (lib/contracts: TenantId, RunKind, CollectionId, ScheduleId, all Keyword). Idempotent.
#
# Used by temporal.docker-compose.yml (temporalio/admin-tools image); works against any self-hosted cluster:
#   TEMPORAL_ADDRESS=temporal.internal:7233 TEMPORAL_NAMESPACE=beyondcloud sh infra/temporal/register-namespace.sh
# Temporal Cloud: create the namespace in the Cloud UI/tcld and the search attributes there (this script does
# not handle Cloud authentication).
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
# Inside Docker, pin a service name to its IPv4 address (the same workaround as Temporal's own compose samples:
# the CLI may otherwise try an IPv6 address the server does not listen on). IPs and unresolvable names pass through.
HOST="${ADDRESS%:*}"
PORT="${ADDRESS##*:}"
if command -v getent >/dev/null 2>&1; then
  IPV4="$(getent ahostsv4 "$HOST" 2>/dev/null | awk 'NR == 1 { print $1 }')"
  if [ -n "$IPV4" ]; then ADDRESS="${IPV4}:${PORT}"; fi
fi
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-72h}"
ATTRIBUTES="TenantId RunKind CollectionId ScheduleId"

echo "waiting for Temporal at ${ADDRESS}"
tries=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "Temporal at ${ADDRESS} is not healthy after 120 s" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE}: exists"
else
  temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
  echo "namespace ${NAMESPACE}: created (retention ${RETENTION})"
fi

# On SQL visibility, search attributes belong to a namespace, so they are listed and created per namespace.
# A namespace created a moment ago takes a few seconds to reach every frontend's cache: retry the listing.
tries=0
until existing="$(temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" 2>/dev/null)"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "cannot list search attributes of namespace ${NAMESPACE} after 60 s" >&2
    exit 1
  fi
  sleep 2
done
for name in $ATTRIBUTES; do
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute ${name}: exists"
  else
    temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" --name "$name" --type Keyword
    echo "search attribute ${name}: created (Keyword)"
  fi
done
