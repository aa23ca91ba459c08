#!/usr/bin/env bash
# Stops what tests/slurm/start-slurm.sh DIR started, by the pids in DIR's pid files, and waits (up
# to 20 s) until they are gone, so that DIR can be removed and its ports taken again.
set -uo pipefail
dir=${1:?usage: stop-slurm.sh DIR}
pids=()
for name in slurmd slurmctld munged; do
  if [ -s "$dir/$name.pid" ]; then pids+=("$(cat "$dir/$name.pid")"); fi
done
[ ${#pids[@]} -gt 0 ] || exit 0
kill "${pids[@]}" 2>/dev/null
deadline=$((SECONDS + 20))
for pid in "${pids[@]}"; do
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then kill -9 "$pid" 2>/dev/null; break; fi
    sleep 0.1
  done
done
