# A throwaway sshd on 127.0.0.1 for one test file, so that GNU parallel's
# --sshlogin runs for real: sshd_start in setup_file, sshd_stop in
# teardown_file.  No systemd: the host key, a client key, authorized_keys,
# sshd_config and an ssh_config are generated under a private temporary
# directory; sshd runs in the foreground (-D) in the background of the test,
# on a free high port, loopback only, key login only.  As root (CI) it
# needs /run/sshd (privilege separation) and PermitRootLogin
# prohibit-password; as another user it runs unprivileged and accepts only
# that user.  sshd_start exports SSHD_CONFIG (an ssh_config whose host
# "cdr-test-sshd" is that server) and SSHD_LOGIN, a parallel --sshlogin
# ("ssh -F SSHD_CONFIG cdr-test-sshd").  Needs build-aux/packages/scaleout.list.

# sshd_port_free PORT: no TCP socket of this machine uses PORT.
sshd_port_free() {
	local hex
	hex=$(printf '%04X' "$1")
	! awk 'FNR > 1 { print $2 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		grep -q ":$hex\$"
}

sshd_fail() {
	echo "sshd_start: $1" >&2
	[ -f "${SSHD_DIR:-/nonexistent}/sshd.log" ] && tail -n 20 "$SSHD_DIR/sshd.log" >&2
	sshd_stop
	return 1
}

sshd_start() {
	local sshd p port user
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	[ -x "$sshd" ] || { echo "sshd_start: sshd not found (openssh-server, build-aux/packages/scaleout.list)" >&2; return 1; }
	command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
		{ echo "sshd_start: ssh not found (openssh-client)" >&2; return 1; }
	SSHD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cdr-sshd.XXXXXX") || return 1
	export SSHD_DIR
	user=$(id -un)
	ssh-keygen -q -t ed25519 -N '' -C cdr-test-host -f "$SSHD_DIR/host_ed25519" ||
		sshd_fail "ssh-keygen (host key)" || return 1
	ssh-keygen -q -t ed25519 -N '' -C cdr-test-client -f "$SSHD_DIR/id_ed25519" ||
		sshd_fail "ssh-keygen (client key)" || return 1
	cp "$SSHD_DIR/id_ed25519.pub" "$SSHD_DIR/authorized_keys"
	chmod 600 "$SSHD_DIR/authorized_keys"
	if [ "$(id -u)" -eq 0 ]; then
		# Privilege separation directory, made by the service unit
		# that does not run here.
		mkdir -p /run/sshd && chmod 755 /run/sshd || sshd_fail "cannot make /run/sshd" || return 1
	fi
	port=
	for _ in $(seq 0 50); do
		p=$((20000 + RANDOM % 40000))
		if sshd_port_free "$p"; then
			port=$p
			break
		fi
	done
	[ -n "$port" ] || sshd_fail "no free port" || return 1
	SSHD_PORT=$port
	export SSHD_PORT
	cat > "$SSHD_DIR/sshd_config" <<-EOF
	Port $port
	ListenAddress 127.0.0.1
	HostKey $SSHD_DIR/host_ed25519
	PidFile $SSHD_DIR/sshd.pid
	AuthorizedKeysFile $SSHD_DIR/authorized_keys
	AllowUsers $user
	PermitRootLogin prohibit-password
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	StrictModes no
	PrintMotd no
	LogLevel VERBOSE
	MaxStartups 30
	MaxSessions 30
	EOF
	cat > "$SSHD_DIR/ssh_config" <<-EOF
	Host cdr-test-sshd
	    HostName 127.0.0.1
	    Port $port
	    User $user
	    IdentityFile $SSHD_DIR/id_ed25519
	    IdentitiesOnly yes
	    UserKnownHostsFile /dev/null
	    StrictHostKeyChecking no
	    LogLevel ERROR
	    BatchMode yes
	    ConnectTimeout 5
	EOF
	"$sshd" -t -f "$SSHD_DIR/sshd_config" 2> "$SSHD_DIR/sshd.log" ||
		sshd_fail "bad sshd_config: $(cat "$SSHD_DIR/sshd.log")" || return 1
	# -D: stays in the foreground, so that $! is its pid; fd 3 is bats's.
	"$sshd" -D -f "$SSHD_DIR/sshd_config" -p "$port" -o ListenAddress=127.0.0.1 \
	    -E "$SSHD_DIR/sshd.log" </dev/null >/dev/null 2>&1 3>&- &
	SSHD_PID=$!
	export SSHD_PID
	SSHD_CONFIG=$SSHD_DIR/ssh_config
	SSHD_LOGIN="ssh -F $SSHD_CONFIG cdr-test-sshd"
	export SSHD_CONFIG SSHD_LOGIN
	for _ in $(seq 1 50); do
		if ssh -F "$SSHD_CONFIG" cdr-test-sshd true </dev/null 2>/dev/null; then
			return 0
		fi
		kill -0 "$SSHD_PID" 2>/dev/null || sshd_fail "sshd exited" || return 1
		sleep 0.1
	done
	sshd_fail "no key login to 127.0.0.1:$port within 5 s"
}

sshd_stop() {
	if [ -n "${SSHD_PID:-}" ]; then
		kill "$SSHD_PID" 2>/dev/null || true
		wait "$SSHD_PID" 2>/dev/null || true
		SSHD_PID=
	fi
	[ -n "${SSHD_DIR:-}" ] && rm -rf "$SSHD_DIR"
	SSHD_DIR=
	return 0
}
