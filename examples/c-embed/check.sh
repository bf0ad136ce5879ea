#!/usr/bin/env bash
# Runs examples/c-embed from BUILD_DIR and checks what it prints, line for line (the version
# line aside). Exits non-zero, showing the difference, when the output is otherwise.
set -euo pipefail
build=${1:?usage: check.sh BUILD_DIR}
log=$build/c-embed.log
out=$(timeout 60 "$build/examples/c-embed" 2>"$log") || {
  echo "c-embed failed; its output:" >&2
  printf '%s\n' "$out" >&2
  tail -n 20 "$log" >&2
  exit 1
}
expected='transcript: line 4 is not a frame
transcript: echo: Hello, world
transcript: alice: thanks
routing: addressed bob carol dan, invoked bob carol, text "can you check this with and ?"
run: queued -> planning -> building -> succeeded, cancel refused (conflict: cannot cancel run in state "succeeded")
hub: bot online: yes
live: @alice: @bot status?
hub: posted seq 2 to 1 agent(s): bot
live: @bot: all systems nominal
hub: not_found: Channel not found or has no roster
done'
if [[ $(head -n 1 <<<"$out") != "agentcore "* ]] || ! diff <(printf '%s\n' "$expected") \
    <(tail -n +2 <<<"$out") >&2; then
  echo "c-embed printed something else (above: - expected, + printed)" >&2
  exit 1
fi
printf '%s\n' "$out"
