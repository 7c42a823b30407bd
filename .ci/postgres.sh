#!/usr/bin/env bash
# Starts a local PostgreSQL (Debian's) for the store's PostgreSQL tests and prints the URL.
# Prints nothing (and the tests skip PostgreSQL) where it cannot be had.
set -u
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 || exit 0
fi
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$ver" ] || exit 0
pg_lsclusters -h 2>/dev/null | grep -q "^$ver main" || pg_createcluster "$ver" main >/dev/null 2>&1
pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='askdesk'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role askdesk login createdb password 'askdesk'\"" >/dev/null
su postgres -c "psql -qAtc \"select 1 from pg_database where datname='askdesk_test'\"" | grep -q 1 ||
  su postgres -c "createdb -O askdesk askdesk_test" >/dev/null
echo "postgresql+psycopg://askdesk:askdesk@127.0.0.1:5432/askdesk_test"
