#!/usr/bin/env bash
# The main job: the dashboard on a simulated amplifier over a virtual serial port.
# The simulator emulates the board on a pseudo-terminal and the dashboard reads it
# through the real serial path (pyserial -> parser -> ring buffer -> detector).
# Extra arguments go to `twitchscope dashboard` (e.g. --port 8502, --source FILE).
set -euo pipefail
[ "${1:-}" = "--" ] && shift
exec twitchscope dashboard "$@"
