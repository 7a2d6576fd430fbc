#!/usr/bin/env bash
# Generated hostile input (issue 7): schemathesis, pinned and installed into a venv under the
# cargo target dir on first use, runs every operation of /openapi.json against a live starkeep
# (embedded engine, fresh data dir, a valid admin token) for a bounded number of examples each,
# with every check but one (see below). Then the log must hold no panic.
#
#   scripts/schemathesis.sh                      # 30 examples per operation, as CI runs it
#   SCHEMATHESIS_EXAMPLES=500 scripts/schemathesis.sh
#   SCHEMATHESIS_SEED=1234 scripts/schemathesis.sh   # replay a run (its seed is printed)
#
# Needs python3 with venv (installed from Debian's packages when missing) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
examples=${SCHEMATHESIS_EXAMPLES:-30}
target_dir=${CARGO_TARGET_DIR:-target}
venv="$target_dir/tools/schemathesis-$version"

say() { printf '[schemathesis] %s\n' "$*" >&2; }

if ! "$venv/bin/st" --version 2>/dev/null | grep -qF "$version"; then
  say "installing schemathesis $version into $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

# The same build as the test suite's (a `-p starkeep` build would unify features differently
# and rebuild dependencies for minutes); after `cargo test --workspace` it is a no-op.
cargo test --workspace --locked --quiet --no-run
bin="$target_dir/debug/starkeep"

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --auth-failure-burst 0: the generated requests include hundreds of deliberately unauthenticated
# ones from one address; with the throttle on they would be answered 429 and the logic behind
# them left untested. The throttle has its own tests (crates/starkeep-api/tests/it/signatures.rs).
STARKEEP_ADMIN_PASSWORD="St-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')" RUST_LOG=debug \
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" --log-format json \
  --auth-failure-burst 0 \
  >"$work/welcome" 2>"$work/log" &
server=$!
for _ in $(seq 300); do
  grep -q '"starkeep listening"' "$work/log" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/log" >&2; say "starkeep did not start"; exit 1; }
  sleep 0.1
done
addr=$(grep '"starkeep listening"' "$work/log" | sed -E 's/.*"addr":"([^"]+)".*/\1/')
token=$(sed -nE "s/^ *export STARKEEP_TOKEN='([^']+)'.*/\1/p" "$work/welcome")
STARKEEP_PROJECT=$(awk '$1 == "project" { print $3 }' "$work/welcome")
STARKEEP_INSTANCE=$(awk '$1 == "instance" { print $3 }' "$work/welcome")
export STARKEEP_PROJECT STARKEEP_INSTANCE
if [ -z "$addr" ] || [ -z "$token" ] || [ -z "$STARKEEP_PROJECT" ] || [ -z "$STARKEEP_INSTANCE" ]; then
  cat "$work/welcome" "$work/log" >&2
  say "could not read the address, token, project or instance of the first start"
  exit 1
fi
say "starkeep at $addr, project $STARKEEP_PROJECT, instance $STARKEEP_INSTANCE, $examples examples per operation"

# positive_data_acceptance is the one check left out: it expects every request that fits the
# schema to be accepted, but some rules of the contract cannot be written in OpenAPI — a password
# needs three of four character classes and must not be the user name (or it reversed), the
# databases must exist on the instance, and an unknown instance answers 400 — so valid-looking
# requests are rightly refused. Every other check runs, not_a_server_error among them.
seed_args=()
[ -n "${SCHEMATHESIS_SEED:-}" ] && seed_args=(--seed "$SCHEMATHESIS_SEED")
run_schemathesis() {
  "$venv/bin/st" --no-color --config-file scripts/schemathesis.toml run "http://$addr/openapi.json" \
    -H "X-Auth-Token: $token" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples "$examples" --workers 2 "${seed_args[@]}" 2>&1 | tee "$work/st.out"
  return "${PIPESTATUS[0]}"
}
status=0
run_schemathesis || status=$?
# A run whose only problem is an error inside the tool itself (seen: CPython's "AST constructor
# recursion depth mismatch" under Hypothesis), with no failed check, is run once more; a failed
# check is never retried.
if [ "$status" -ne 0 ] && grep -q 'Runtime Error' "$work/st.out" && ! grep -q '^Failures:' "$work/st.out"; then
  say "schemathesis itself errored (no check failed): running it once more"
  status=0
  run_schemathesis || status=$?
fi

if grep -n 'panicked' "$work/log" >&2; then
  say "starkeep panicked during the run (lines above)"
  status=1
fi
kill -0 "$server" 2>/dev/null || { say "starkeep died during the run"; status=1; }
[ "$status" -eq 0 ] && say "no failure, no panic"
exit "$status"
