# A throwaway single-node Slurm cluster for one test file: slurm_start in
# setup_file, slurm_stop in teardown_file.  No systemd, no TTY, loopback
# only: munged runs as the munge user with its own key, socket, pid and log
# under a private temporary directory; slurmctld and slurmd run with a
# generated slurm.conf there (ports picked free on 127.0.0.1).  slurm_start
# exports SLURM_CONF, so that sbatch, squeue, srun and sacct talk to this
# cluster and no other.  Needs the packages of build-aux/packages/scaleout.list.

# slurm_port_free PORT: no TCP socket of this machine uses PORT (read from
# /proc: iproute2 may be missing on a minimal machine).
slurm_port_free() {
	local hex
	hex=$(printf '%04X' "$1")
	! awk 'FNR > 1 { print $2 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		grep -q ":$hex\$"
}

# slurm_fail MESSAGE: prints the daemons' logs and fails.
slurm_fail() {
	echo "slurm_start: $1" >&2
	local f
	for f in "$SLURM_DIR"/log/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 30 "$f" >&2
	done
	slurm_stop
	return 1
}

slurm_start() {
	local p cpus mem port i
	for p in munged slurmctld slurmd sbatch squeue srun scancel; do
		command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
		command -v "$p" >/dev/null || {
			echo "slurm_start: $p not found (make deps: build-aux/packages/scaleout.list)" >&2
			return 1
		}
	done
	# Not under $BATS_RUN_TMPDIR: that is 0700 root, closed to munge.
	SLURM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cdr-slurm.XXXXXX") || return 1
	chmod 755 "$SLURM_DIR"
	export SLURM_DIR
	mkdir -p "$SLURM_DIR"/{munge,state,spool,run,log} || return 1
	mkdir -p "$SLURM_DIR"/munge/{etc,run,log,lib} || return 1
	head -c 1024 /dev/urandom > "$SLURM_DIR/munge/etc/munge.key" || return 1
	chmod 700 "$SLURM_DIR"/munge/{etc,log,lib}
	chmod 755 "$SLURM_DIR/munge" "$SLURM_DIR/munge/run"
	chmod 600 "$SLURM_DIR/munge/etc/munge.key"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R munge: "$SLURM_DIR/munge" || return 1
	fi
	SLURM_MUNGE_SOCKET=$SLURM_DIR/munge/run/munge.socket
	local munged_cmd=(munged --socket="$SLURM_MUNGE_SOCKET"
		--key-file="$SLURM_DIR/munge/etc/munge.key"
		--pid-file="$SLURM_DIR/munge/run/munged.pid"
		--log-file="$SLURM_DIR/munge/log/munged.log"
		--seed-file="$SLURM_DIR/munge/lib/munged.seed")
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u munge -- "${munged_cmd[@]}" </dev/null >/dev/null 2>&1 3>&- ||
			slurm_fail "munged did not start: $(cat "$SLURM_DIR/munge/log/munged.log" 2>/dev/null)" || return 1
	else
		"${munged_cmd[@]}" </dev/null >/dev/null 2>&1 3>&- ||
			slurm_fail "munged did not start" || return 1
	fi

	cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -n 1)
	mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$cpus" ] && [ -n "$mem" ] || slurm_fail "slurmd -C said nothing useful" || return 1
	# Two free neighbouring ports; not the defaults, so that a cluster of the
	# machine itself or of another test run is left alone.
	port=
	for i in $(seq 0 50); do
		p=$((20000 + (RANDOM % 20000) * 2))
		if slurm_port_free "$p" && slurm_port_free $((p + 1)); then
			port=$p
			break
		fi
	done
	[ -n "$port" ] || slurm_fail "no free port" || return 1

	export SLURM_CONF=$SLURM_DIR/slurm.conf
	cat > "$SLURM_CONF" <<EOF
ClusterName=cdrtest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_MUNGE_SOCKET
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/run/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/run/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
	slurmctld -f "$SLURM_CONF" </dev/null >"$SLURM_DIR/log/slurmctld.out" 2>&1 3>&- ||
		slurm_fail "slurmctld did not start" || return 1
	slurmd -f "$SLURM_CONF" -N localhost </dev/null >"$SLURM_DIR/log/slurmd.out" 2>&1 3>&- ||
		slurm_fail "slurmd did not start" || return 1

	# A run that dies before teardown_file must not leave the daemons
	# behind: a watchdog in a session of its own stops them once the runner
	# is gone (see tests/helpers/pg.bash).
	setsid bash -c '
		runner=$1 dir=$2
		while kill -0 "$runner" 2>/dev/null && [ -f "$dir/slurm.conf" ]; do
			sleep 1
		done
		[ -f "$dir/slurm.conf" ] || exit 0
		for f in "$dir/run/slurmd.pid" "$dir/run/slurmctld.pid" "$dir/munge/run/munged.pid"; do
			[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
		done
		sleep 2
		rm -rf "$dir"' slurm-watchdog "$$" "$SLURM_DIR" </dev/null >/dev/null 2>&1 3>&- &

	# sinfo may say idle before the node takes jobs: wait for a real step.
	for i in $(seq 1 120); do
		if timeout 20 srun -N1 -t 1 true </dev/null >/dev/null 2>&1 3>&-; then
			return 0
		fi
		sleep 0.5
	done
	slurm_fail "srun true never succeeded"
}

# slurm_stop_pid FILE: stops the process of pid FILE and waits for it.
slurm_stop_pid() {
	local pid i
	[ -f "$1" ] || return 0
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

slurm_stop() {
	[ -n "${SLURM_DIR:-}" ] || return 0
	# Jobs still queued or running (a failed test) go first.
	if [ -f "$SLURM_DIR/slurm.conf" ] && [ -f "$SLURM_DIR/run/slurmctld.pid" ]; then
		timeout 10 scancel --full -u "$(id -un)" >/dev/null 2>&1 || true
	fi
	slurm_stop_pid "$SLURM_DIR/run/slurmd.pid"
	slurm_stop_pid "$SLURM_DIR/run/slurmctld.pid"
	slurm_stop_pid "$SLURM_DIR/munge/run/munged.pid"
	rm -rf "$SLURM_DIR"
	unset SLURM_DIR SLURM_CONF
}
