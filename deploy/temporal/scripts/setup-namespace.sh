#!/bin/sh
# One-shot: once the Temporal server answers, create slaflow's namespace and register the search
# attributes tickets carry (runs in temporalio/admin-tools, which has the `temporal` CLI).
#
# SEARCH_ATTRIBUTES is a space-separated list of Name=Type; it must match
# slaflow/search_attributes.py (tests/test_compose.py checks that it does).
set -eu

TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${NAMESPACE:-default}"
NAMESPACE_RETENTION="${NAMESPACE_RETENTION:-720h}"
: "${SEARCH_ATTRIBUTES:?SEARCH_ATTRIBUTES (Name=Type ...) is required}"

# Resolve the host to IPv4: the CLI may otherwise try an IPv6 address the server does not bind.
host="${TEMPORAL_ADDRESS%%:*}"
port="${TEMPORAL_ADDRESS##*:}"
ip=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }') || true
export TEMPORAL_ADDRESS="${ip:-$host}:${port}"

# retry <what> <command...>: the server needs a moment before it serves a new namespace.
retry() {
  what=$1
  shift
  attempt=0
  until "$@"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 30 ]; then
      echo "gave up: $what" >&2
      exit 1
    fi
    echo "not yet: $what (attempt $attempt)"
    sleep 2
  done
}

retry "Temporal server health at $TEMPORAL_ADDRESS" temporal operator cluster health

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "Namespace $NAMESPACE exists."
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION"
fi

for pair in $SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  existing=$(temporal operator search-attribute list --namespace "$NAMESPACE" 2>/dev/null || true)
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "Search attribute $name exists."
  else
    retry "search attribute $name" temporal operator search-attribute create \
      --namespace "$NAMESPACE" --name "$name" --type "$type"
  fi
done
echo "Namespace $NAMESPACE is ready for slaflow."
