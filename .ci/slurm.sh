#!/usr/bin/env bash
# A single-node SLURM cluster on loopback, for the tests that submit through
# snakemake-executor-plugin-slurm (tests/test_slurm.py).
#
#   bash .ci/slurm.sh start   install slurm + munge from Debian if missing, start the daemons
#   bash .ci/slurm.sh stop    stop the daemons this script started (by their PIDs)
#   bash .ci/slurm.sh status  exit 0 when the cluster answers and its node is usable
#
# The node has this machine's CPUs, or SVD_SLURM_CPUS if that is more (SLURM then believes
# the configuration, not the hardware: for trying profiles/slurm as written, whose jobs ask
# for up to 8 CPUs). It offers one GPU as a generic resource, so that jobs asking for
# `--gpus=1` are scheduled; there is no device behind it, and they run on the CPU.
#
# Everything lives in $SVD_SLURM_DIR (default /tmp/svd-explain-slurm): slurm.conf, gres.conf,
# state, spool, logs and pid files. /etc/slurm/{slurm,gres}.conf link to them while the
# cluster is up: jobs must find the configuration at the default path, because
# snakemake-executor-plugin-slurm deletes every SLURM_* variable (SLURM_CONF too) from the
# environment it submits with, and the job's own srun then finds no cluster.
# No systemd: the daemons are started directly.
# Why each slurm.conf setting is there: shared/notes/slurm.md.
set -euo pipefail

DIR="${SVD_SLURM_DIR:-/tmp/svd-explain-slurm}"
CONF="$DIR/slurm.conf"
DEFAULT_DIR=/etc/slurm
DEFAULT_CONF=$DEFAULT_DIR/slurm.conf
CONF_FILES=(slurm.conf gres.conf)
PACKAGES=(slurmctld slurmd slurm-client munge)

log() { echo "slurm.sh: $*" >&2; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return
  log "installing ${missing[*]}"
  apt-get update -qq
  # The packages' scripts try to start services and are refused (no systemd); that is expected.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Alive and not a zombie: PID 1 here reaps slowly, so `kill -0` alone says "alive" too long.
alive() {
  [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "munged already running; leaving it alone"
    return
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  runuser -u munge -- munged
  wait_for 10 "munged" bash -c 'munge -n | unmunge'
  # Only a munged that this script started is stopped by `stop`.
  cp /run/munge/munged.pid "$DIR/started.munged"
}

write_conf() {
  local cpus mem_mb overrides=""
  cpus=$(nproc)
  if ((${SVD_SLURM_CPUS:-0} > cpus)); then
    cpus=$SVD_SLURM_CPUS
    overrides="SlurmdParameters=config_overrides"
  fi
  # A little under the machine's memory: slurmd drains a node that has less than configured.
  mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10))
  mkdir -p "$DIR/state" "$DIR/spool"
  # The GPU plugin wants a device file; /dev/null stands in for the GPU that is not there.
  echo "NodeName=localhost Name=gpu File=/dev/null" >"$DIR/gres.conf"
  cat >"$CONF" <<EOF
ClusterName=svdexplain
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
ReturnToService=2
# Finished jobs stay visible to squeue this long; the plugin's squeue status checks need at
# least 3x their first interval, or it silently falls back to sacct (off here) and hangs.
MinJobAge=600
GresTypes=gpu
$overrides
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=$mem_mb Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

node_idle() {
  [[ "$(sinfo -h -N -n localhost -o %t)" =~ ^(idle|mix|alloc)$ ]]
}

link_conf() {
  local name
  for name in "${CONF_FILES[@]}"; do
    if [[ -e $DEFAULT_DIR/$name || -L $DEFAULT_DIR/$name ]] &&
      [[ "$(readlink "$DEFAULT_DIR/$name")" != "$DIR/$name" ]]; then
      log "$DEFAULT_DIR/$name belongs to another cluster; not replacing it"
      return 1
    fi
  done
  mkdir -p "$DEFAULT_DIR"
  for name in "${CONF_FILES[@]}"; do
    ln -sfn "$DIR/$name" "$DEFAULT_DIR/$name"
  done
}

start() {
  if status 2>/dev/null; then
    log "a cluster is already up at $DIR"
    return
  fi
  # Daemons of an earlier start that is no longer healthy.
  stop
  install_packages
  mkdir -p "$DIR"
  link_conf
  start_munge
  write_conf
  slurmctld -c
  wait_for 30 "slurmctld" bash -c 'scontrol ping | grep -q "is UP"'
  slurmd -N localhost
  wait_for 30 "the node to be idle" node_idle
  log "up: $DEFAULT_DIR/{slurm,gres}.conf -> $DIR ($(sinfo -h -o '%P %D nodes %c cpus %m MB'))"
}

stop_pid() {  # stop_pid NAME PID: SIGTERM, wait up to 20 s, then SIGKILL
  local name=$1 pid=$2
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$pid"; then
    log "$name ($pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
  log "stopped $name ($pid)"
}

stop() {
  local name pidfile
  for name in slurmd slurmctld; do
    pidfile="$DIR/$name.pid"
    [[ -s $pidfile ]] && stop_pid "$name" "$(cat "$pidfile")"
    rm -f "$pidfile"
  done
  if [[ -s $DIR/started.munged ]]; then
    stop_pid munged "$(cat "$DIR/started.munged")"
    rm -f "$DIR/started.munged"
  fi
  for name in "${CONF_FILES[@]}"; do
    if [[ "$(readlink "$DEFAULT_DIR/$name" 2>/dev/null)" == "$DIR/$name" ]]; then
      rm -f "$DEFAULT_DIR/$name"
    fi
  done
}

status() {
  [[ "$(readlink "$DEFAULT_CONF" 2>/dev/null)" == "$CONF" ]] && command -v scontrol >/dev/null &&
    scontrol ping 2>/dev/null | grep -q "is UP" && node_idle
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
