#!/usr/bin/env bash
# Starts a one-node Slurm on loopback for the Slurm test: munged, slurmctld and slurmd, each with
# its state, sockets, logs and pid files in DIR (made if missing), and slurm.conf in DIR too, so
# that nothing outside DIR is touched and the machine's own Slurm, if any, is left alone. Use it
# with SLURM_CONF=DIR/slurm.conf; stop it with tests/slurm/stop-slurm.sh DIR. Returns once the
# node takes jobs (polled, up to 30 s); on failure prints the daemons' logs and stops what started.
# Runs as root (SlurmUser=root), as a test machine's user is; MaxArraySize is left at its default.
set -euo pipefail
dir=$(realpath -m "${1:?usage: start-slurm.sh DIR}")
mkdir -p "$dir/state" "$dir/spool"
chmod 700 "$dir"
# Ports of our own, so that two test runs (or a real Slurm) on one machine do not meet.
port=$((20000 + RANDOM % 20000))

dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge.key"
cat >"$dir/slurm.conf" <<CONF
ClusterName=dlxtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

fail() {
  echo "start-slurm.sh: $1" >&2
  tail -n 20 "$dir"/*.log >&2 || true
  "$(dirname "$0")/stop-slurm.sh" "$dir" || true
  exit 1
}

/usr/sbin/munged --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" \
  --force || fail "munged did not start"
/usr/sbin/slurmctld -c -f "$dir/slurm.conf" || fail "slurmctld did not start"
/usr/sbin/slurmd -f "$dir/slurm.conf" -N localhost || fail "slurmd did not start"

deadline=$((SECONDS + 30))
until [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ]; do
  [ $SECONDS -lt $deadline ] || fail "the node is not idle after 30 s"
  sleep 0.2
done
