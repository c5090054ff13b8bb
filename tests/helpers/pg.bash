# A throwaway PostgreSQL server for one test file: pg_start in setup_file,
# pg_stop in teardown_file.  It listens only on a Unix socket in a private
# temporary directory (no TCP port, no systemd, no TTY needed).  initdb and
# postgres refuse to run as root, so as root they run as the postgres user.
# pg_start exports PGHOST, PGPORT, PGUSER and PGDATABASE, so that psql and
# pg_isready reach this server and no other.

# The newest installed server's binaries (Debian keeps them out of PATH).
pg_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || return 1
	echo "$d"
}

# pg_as CMD...: runs CMD as the owner of the cluster.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	local bin owner
	bin=$(pg_bindir) || {
		echo "pg_start: no PostgreSQL server (install the package postgresql)" >&2
		return 1
	}
	# Not under $BATS_RUN_TMPDIR: that is 0700 root, closed to postgres.
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cdr-pg.XXXXXX") || return 1
	chmod 755 "$PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		owner=postgres
		chown postgres: "$PG_DIR"
	else
		owner=$(id -un)
	fi
	export PG_DIR
	pg_as "$bin/initdb" -D "$PG_DIR/data" -U "$owner" -E UTF8 --locale=C \
	    --auth=trust >"$PG_DIR/initdb.log" 2>&1 || {
		cat "$PG_DIR/initdb.log" >&2
		return 1
	}
	pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
	    -o "-k $PG_DIR -c listen_addresses= -c port=5432 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
	    start >/dev/null || {
		cat "$PG_DIR/server.log" >&2
		return 1
	}
	export PGHOST=$PG_DIR PGPORT=5432 PGUSER=$owner PGDATABASE=postgres
	PG_BIN=$bin
	export PG_BIN
	# A run that dies before teardown_file (killed, a closed pipe) must not
	# leave the server behind: a watchdog in a session of its own (so that
	# killing the run's process group spares it) stops the server once the
	# runner is gone.
	setsid bash -c '
		runner=$1 dir=$2 bin=$3
		while kill -0 "$runner" 2>/dev/null && [ -d "$dir/data" ]; do
			sleep 1
		done
		[ -d "$dir/data" ] || exit 0
		if [ "$(id -u)" -eq 0 ]; then
			runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop
		else
			"$bin/pg_ctl" -D "$dir/data" -m immediate -w stop
		fi
		rm -rf "$dir"' pg-watchdog "$$" "$PG_DIR" "$bin" </dev/null >/dev/null 2>&1 3>&- &
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$PG_DIR"
	unset PG_DIR
}

# psql_q SQL: runs SQL quietly, stops at the first error, unaligned output.
psql_q() {
	psql -X -q -v ON_ERROR_STOP=1 -A -t "$@"
}
