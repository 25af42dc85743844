# Shared by scripts/bench-load and scripts/soak (sourced, not run): the
# tools, a scratch directory, the database (created, migrated, loaded with
# the demo data and the synthetic dataset unless present), the real ids the
# request mixes ask for, the release server on a free port with the rate
# limit out of the way, tokens, and request bodies from examples/.
#
# Expects: SCRIPT (the caller's name), DATABASE_URL, SCALE, SEED. Sets:
# WORK, BIN, URL, SERVER_PID, LEADER_TOKEN, PROVIDER_TOKEN, the ids below,
# and the functions say, die, sql, gid, token, body. Removes WORK and stops
# the server on exit.
say() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

case "$DATABASE_URL" in
  postgres://* | postgresql://*) ;;
  *) die "expected a postgres:// URL, got ${DATABASE_URL%%:*}:…" ;;
esac

# --- tools -------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
command -v psql >/dev/null || missing+=(postgresql-client)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt-get install -y "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; } ||
    die "cannot install ${missing[*]}"
fi

WORK="$(mktemp -d -t "kompetanse-$SCRIPT.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- database ----------------------------------------------------------------
base="${DATABASE_URL%%\?*}"
db_name="${base##*/}"
[[ "$db_name" =~ ^[A-Za-z0-9_]+$ ]] || die "unexpected database name: $db_name"
admin_url="${base%/*}/postgres"
if [[ "$(psql "$admin_url" -XAtqc "SELECT 1 FROM pg_database WHERE datname = '$db_name'")" != 1 ]]; then
  say "creating database $db_name"
  psql "$admin_url" -Xqc "CREATE DATABASE \"$db_name\"" >/dev/null
fi
sql() { psql "$DATABASE_URL" -XAtq -F $'\t' -c "$1"; }

# --- build and data ----------------------------------------------------------
say "cargo build --release"
cargo build --release --quiet
BIN="$PWD/target/release/kompetanse"

export KOMPETANSE_DATABASE_URL="$DATABASE_URL"
# A secret for this run only: the tokens minted below die with it.
KOMPETANSE_JWT_SECRET="$(openssl rand -hex 32)"
export KOMPETANSE_JWT_SECRET
export RUST_LOG="${RUST_LOG:-warn}"

say "migrating and loading the demo data (if the database is empty)"
"$BIN" migrate >/dev/null
"$BIN" seed >/dev/null
present="$(sql "SELECT count(*) FROM service WHERE slug LIKE 'syn-$SEED-%'")"
if [[ "$present" == 0 ]]; then
  say "loading the synthetic dataset (scale $SCALE, seed $SEED); this takes a while"
  started=$SECONDS
  "$BIN" seed --synthetic "$SCALE" --seed "$SEED" >/dev/null
  say "loaded in $((SECONDS - started)) s"
else
  say "synthetic dataset for seed $SEED already loaded ($present services)"
fi
say "rows: $(sql "SELECT (SELECT count(*) FROM person) || ' persons, ' || (SELECT count(*) FROM participation) || ' participations, ' || (SELECT count(*) FROM attendance) || ' attendance rows, ' || (SELECT count(*) FROM programme_run) || ' runs'")"

# --- what the mix asks for (real ids) ----------------------------------------
gid() { printf '%s:%s' "$1" "${2//-/}" | base64 -w0 | tr '+/' '-_' | tr -d '='; }

# The programme of the synthetic dataset with the most runs.
IFS=$'\t' read -r programme_uuid programme_runs < <(sql "
  SELECT p.id, count(r.id) FROM programme p JOIN programme_run r ON r.programme_id = p.id
  WHERE p.slug LIKE 'syn-$SEED-%' GROUP BY p.id ORDER BY count(r.id) DESC, p.id LIMIT 1")
[[ -n "${programme_uuid:-}" ]] || die "no synthetic programme found"
# A run of it, for the node lookup.
run_uuid="$(sql "SELECT id FROM programme_run WHERE programme_id = '$programme_uuid' ORDER BY id LIMIT 1")"
# The synthetic service with the most staff, for the leader.
IFS=$'\t' read -r leader_service leader_staff < <(sql "
  SELECT s.slug, count(p.id) FROM service s JOIN person p ON p.service_id = s.id
  WHERE s.slug LIKE 'syn-$SEED-%' GROUP BY s.slug ORDER BY count(p.id) DESC, s.slug LIMIT 1")
# An all-staff session of a running (or planned) run with the most active
# participants, and the lead provider of the run's programme.
IFS=$'\t' read -r session_uuid session_run provider_slug < <(sql "
  SELECT se.id, r.id, pv.slug
  FROM session se
  JOIN programme_run r ON r.id = se.run_id
  JOIN programme_provider pp ON pp.programme_id = r.programme_id AND pp.role = 'LEAD'
  JOIN provider pv ON pv.id = pp.provider_id
  JOIN participation pa ON pa.run_id = r.id AND pa.status = 'ACTIVE'
  WHERE se.audience = 'ALL_STAFF' AND r.status IN ('RUNNING', 'PLANNED')
  GROUP BY se.id, r.id, pv.slug
  ORDER BY count(pa.id) DESC, se.id LIMIT 1")
[[ -n "${session_uuid:-}" ]] || die "no session of a running or planned run with participants"
# Its attendance list: every active participant, every fifth one absent.
entries="$(sql "SELECT person_id FROM participation WHERE run_id = '$session_run' AND status = 'ACTIVE' ORDER BY person_id" |
  while read -r person; do gid Person "$person"; echo; done |
  jq -Rsc 'split("\n") | map(select(length > 0)) | to_entries | map({person: .value, present: (.key % 5 != 0)})')"
say "mix: programme with $programme_runs runs; leader of a service with $leader_staff staff; attendance list of $(jq length <<<"$entries") people"

# --- the server --------------------------------------------------------------
say "starting the release server"
KOMPETANSE_BIND=127.0.0.1:0 \
  KOMPETANSE_NO_SEED=true \
  KOMPETANSE_RATE_LIMIT_PER_MINUTE=1000000 \
  KOMPETANSE_LOG_FORMAT=json \
  RUST_LOG=info \
  "$BIN" serve 2>"$WORK/server.log" >/dev/null &
SERVER_PID=$!
address=""
for _ in $(seq 1 600); do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$WORK/server.log" >&2; die "the server stopped"; }
  address="$(grep -m1 'kompetanse listening' "$WORK/server.log" | jq -r '.fields.address // empty' 2>/dev/null || true)"
  [[ -n "$address" ]] && break
  sleep 0.2
done
[[ -n "$address" ]] || die "the server did not start listening"
URL="http://$address"
for _ in $(seq 1 100); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" == 200 ]] && break
  sleep 0.2
done
say "server pid $SERVER_PID at $URL, pool ${KOMPETANSE_DB_MAX_CONNECTIONS:-10} connections"

token() { "$BIN" token --ttl 2h "$@" | tail -n 1; }
LEADER_TOKEN="$(token --role leader --service "$leader_service")"
PROVIDER_TOKEN="$(token --role provider --provider "$provider_slug")"

# A request body: a document of examples/, its variables, its operation.
body() { # body FILE VARIABLES-JSON OPERATION
  jq -nc --rawfile q "examples/$1.graphql" --argjson v "$2" --arg op "$3" \
    '{query: $q, variables: $v, operationName: $op}'
}
