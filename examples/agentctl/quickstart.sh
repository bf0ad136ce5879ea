#!/usr/bin/env bash
# agentctl from a terminal: the server's URL and an API key come from the environment
# (AGENTCORE_URL, AGENTCORE_API_KEY) or ~/.config/agentctl/config. docs/embedding.md shows this
# script; the agentctl tests run it against a real server.
set -euo pipefail

agentctl status
agentctl channels create quickstart --tagline "made from a terminal"
agentctl agents add quickstart echo --type echo --wait
agentctl messages post quickstart "@echo hello from a terminal"
agentctl messages list quickstart --json | grep -q "hello from a terminal"
agentctl agents list quickstart
agentctl agents dismiss quickstart echo
