#!/usr/bin/env bash
# Runs examples/embed-hub from BUILD_DIR with that tree's echo-agent and checks what it prints:
# the echo's reply to "@echo hi", then both agents' replies to "@channel status" (in either
# order), then "done". Exits non-zero, showing the difference, when the output is otherwise.
set -euo pipefail
build=${1:?usage: check.sh BUILD_DIR}
hub=$build/examples/embed-hub
echo_agent=$build/server/echo-agent
[[ -x $echo_agent ]] || echo_agent=$build/examples/echo-agent
out=$(timeout 60 "$hub" "$echo_agent" 2>"$build/embed-hub.log") || {
  echo "embed-hub failed; its output:" >&2
  printf '%s\n' "$out" >&2
  tail -n 20 "$build/embed-hub.log" >&2
  exit 1
}
first=$(head -n 1 <<<"$out")
rest=$(sed -n '2,3p' <<<"$out" | sort)
last=$(sed -n '4,$p' <<<"$out")
expected_rest=$'@echo: echo: Message from @alice: @channel status\n@status: all systems nominal'
if [[ $first != "@echo: echo: Message from @alice: @echo hi" || $rest != "$expected_rest" ||
      $last != done ]]; then
  echo "embed-hub printed something else:" >&2
  printf '%s\n' "$out" >&2
  exit 1
fi
printf '%s\n' "$out"
