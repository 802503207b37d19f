# stack.sh: start, stop and inspect a whole Sluice stack on loopback.
#
# Sourced (bash) by scripts/dev, which serves the developer's stack under
# var/, and by tests/integration/with-stack, which makes a private stack on
# free ports for each test program. Before sourcing, set:
#
#   SLUICE_SRC    the source tree (sql/, nginx/, scripts/)
#   SLUICE_BUILD  the build tree (fcgi-app/sluice-api, ...)
#   SLUICE_VAR    the state directory of this stack
#
# Everything else has a default (stack_defaults) and, once a stack has been
# brought up, is remembered in $SLUICE_VAR/stack.env so that later commands
# (status, stop, restart of one service) find the same ports.
#
# Services: postgres, nats, api, runner, hub, nginx. PostgreSQL refuses to
# run as root: when we are root it runs as the postgres user, its data
# directory under $SLUICE_VAR/pg (or, if the postgres user cannot reach
# that path, under /var/tmp with var/pg a symbolic link to it).

STACK_SERVICES="postgres nats api runner hub nginx"
STACK_ENV_KEYS="SLUICE_BIND SLUICE_HTTP_PORT SLUICE_HTTPS_PORT SLUICE_PG_PORT
SLUICE_NATS_PORT SLUICE_HUB_PORT SLUICE_API_WORKERS SLUICE_RATE_ANON
SLUICE_BURST_ANON SLUICE_RATE_AUTH SLUICE_BURST_AUTH SLUICE_RATE_CRED_IP
SLUICE_BURST_CRED_IP SLUICE_RATE_WS SLUICE_BURST_WS SLUICE_WS_CONN_PER_IP
SLUICE_MAX_BODY
SLUICE_PG_FAST SLUICE_LOG_LEVEL SLUICE_PASSWORD_COST SLUICE_NGINX_WORKERS
SLUICE_NGINX_CONNECTIONS"

say() { printf '%s\n' "$*" >&2; }
die() { say "stack: $*"; exit 1; }

# Loads remembered settings for keys the environment does not set, then
# fills in defaults.
stack_defaults() {
    local line key
    if [ -f "$SLUICE_VAR/stack.env" ]; then
        while IFS= read -r line; do
            key=${line%%=*}
            case " $(echo $STACK_ENV_KEYS) " in *" $key "*) ;; *) continue ;; esac
            [ -n "${!key+x}" ] || export "$line"
        done <"$SLUICE_VAR/stack.env"
    fi
    : "${SLUICE_BIND:=127.0.0.1}"
    : "${SLUICE_HTTP_PORT:=8080}"
    : "${SLUICE_HTTPS_PORT:=8443}"
    : "${SLUICE_PG_PORT:=15432}"
    : "${SLUICE_NATS_PORT:=14222}"
    : "${SLUICE_HUB_PORT:=18090}"
    : "${SLUICE_API_WORKERS:=0}"
    : "${SLUICE_NGINX_WORKERS:=1}"
    # Connections per nginx worker; each proxied WebSocket holds two.
    : "${SLUICE_NGINX_CONNECTIONS:=4096}"
    : "${SLUICE_RATE_ANON:=20r/m}"
    : "${SLUICE_BURST_ANON:=20}"
    : "${SLUICE_RATE_AUTH:=100r/m}"
    : "${SLUICE_BURST_AUTH:=100}"
    : "${SLUICE_RATE_CRED_IP:=1000r/m}"
    : "${SLUICE_BURST_CRED_IP:=500}"
    # WebSocket handshakes per address, and sockets one address holds.
    : "${SLUICE_RATE_WS:=60r/m}"
    : "${SLUICE_BURST_WS:=30}"
    : "${SLUICE_WS_CONN_PER_IP:=1000}"
    : "${SLUICE_MAX_BODY:=1m}"
    : "${SLUICE_PG_FAST:=0}"
    : "${SLUICE_LOG_LEVEL:=info}"
    : "${SLUICE_PASSWORD_COST:=17}"
    local k
    for k in $STACK_ENV_KEYS; do export "$k"; done
    stack_paths
}

stack_save_env() {
    local k
    for k in $STACK_ENV_KEYS; do printf '%s=%s\n' "$k" "${!k}"; done \
        >"$SLUICE_VAR/stack.env"
}

# A short directory for sockets when $SLUICE_VAR is too deep for the
# 107-byte limit of a unix socket path.
short_dir() {
    printf '/tmp/sluice-%s' "$(printf '%s' "$SLUICE_VAR" | sha256sum | cut -c1-12)"
}

stack_paths() {
    RUN=$SLUICE_VAR/run
    LOGDIR=$SLUICE_VAR/log
    SECRETS=$SLUICE_VAR/secrets
    NGX=$SLUICE_VAR/nginx
    CONF=$SLUICE_VAR/sluice.conf
    SOCKDIR=$RUN
    [ ${#SOCKDIR} -le 80 ] || SOCKDIR=$(short_dir)/run
    API_SOCK=$SOCKDIR/api.sock
    if [ "$(id -u)" = 0 ]; then PGUSER_OS=postgres; else PGUSER_OS=$(id -un); fi
    PGSUPER=$PGUSER_OS
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    PGBASE=$SLUICE_VAR/pg
    if [ -L "$PGBASE" ]; then PGBASE=$(readlink "$PGBASE"); fi
    PGDATA=$PGBASE/data
    PGRUN=$PGBASE/run
    API_BIN=$SLUICE_BUILD/fcgi-app/sluice-api
    RUNNER_BIN=$SLUICE_BUILD/runner/sluice-runner
    HUB_BIN=$SLUICE_BUILD/ws-hub/sluice-hub
    MIGRATE=$SLUICE_BUILD/scripts/sluice-migrate
}

# Runs a command as the user PostgreSQL runs as, from /, which that user
# may not be able to enter otherwise.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Waits up to $1 seconds for the command to succeed.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# A killed daemon whose parent has not reaped it yet (a zombie) is dead.
pid_alive() {
    local pid
    [ -f "$1" ] && pid=$(cat "$1" 2>/dev/null) && kill -0 "$pid" 2>/dev/null &&
        ! grep -qs '^[0-9]* (.*) Z ' "/proc/$pid/stat"
}

# Sends TERM to the process in pid file $1 and waits up to $2 seconds for
# it to exit, then KILLs it.
stop_pidfile() {
    local pidfile=$1 grace=${2:-30} pid
    pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null
    if ! wait_for "$grace" sh -c "! kill -0 $pid"; then
        say "stack: pid $pid did not stop in ${grace}s; killing it"
        kill -KILL "$pid" 2>/dev/null
        wait_for 5 sh -c "! kill -0 $pid"
    fi
    rm -f "$pidfile"
}

random_secret() { head -c "${1:-32}" /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "${2:-43}"; }

# Secrets are made once and kept (mode 0600) under $SLUICE_VAR/secrets.
stack_secrets() {
    mkdir -p "$SECRETS"
    chmod 700 "$SECRETS"
    umask 077
    [ -s "$SECRETS/jwt_secret" ] || random_secret 48 64 >"$SECRETS/jwt_secret"
    # Signs the API's WebSocket handshake tickets for the hubs.
    [ -s "$SECRETS/hub_ticket_key" ] || random_secret 48 64 >"$SECRETS/hub_ticket_key"
    if [ -n "${SLUICE_ADMIN_KEY:-}" ]; then
        printf '%s' "$SLUICE_ADMIN_KEY" >"$SECRETS/admin_key"
    elif [ ! -s "$SECRETS/admin_key" ]; then
        printf 'admin_%s' "$(random_secret 32 40)" >"$SECRETS/admin_key"
    fi
    [ -s "$SECRETS/pg_owner" ] || random_secret 24 32 >"$SECRETS/pg_owner"
    [ -s "$SECRETS/pg_app" ] || random_secret 24 32 >"$SECRETS/pg_app"
    [ -s "$SECRETS/pg_runner" ] || random_secret 24 32 >"$SECRETS/pg_runner"
    [ -s "$SECRETS/pg_login" ] || random_secret 24 32 >"$SECRETS/pg_login"
    [ -s "$SECRETS/pg_hub" ] || random_secret 24 32 >"$SECRETS/pg_hub"
    [ -s "$SECRETS/pg_wh" ] || random_secret 24 32 >"$SECRETS/pg_wh"
    # Seals connector credentials (AES-256-GCM): 32 random bytes, in hex.
    [ -s "$SECRETS/secret_key" ] ||
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SECRETS/secret_key"
    local r
    for r in owner app runner login hub wh; do
        printf '*:*:*:sluice_%s:%s\n' "$r" "$(cat "$SECRETS/pg_$r")"
    done >"$SECRETS/pgpass"
    umask 022
}

app_dburl() {
    printf 'host=%s port=%s dbname=sluice user=sluice_app passfile=%s' \
        "$PGRUN" "$SLUICE_PG_PORT" "$SECRETS/pgpass"
}

# The runner's own role (sql/016): what only the runner may do.
runner_dburl() {
    printf 'host=%s port=%s dbname=sluice user=sluice_runner passfile=%s' \
        "$PGRUN" "$SLUICE_PG_PORT" "$SECRETS/pgpass"
}

# The API's login statements' own role (sql/018): password hashes.
login_dburl() {
    printf 'host=%s port=%s dbname=sluice user=sluice_login passfile=%s' \
        "$PGRUN" "$SLUICE_PG_PORT" "$SECRETS/pgpass"
}

# The hub's deliverer's own role (sql/021): claiming deliveries.
hub_dburl() {
    printf 'host=%s port=%s dbname=sluice user=sluice_hub passfile=%s' \
        "$PGRUN" "$SLUICE_PG_PORT" "$SECRETS/pgpass"
}

# The warehouse: pipeline data, in a database of its own (DESIGN.md).
wh_dburl() {
    printf 'host=%s port=%s dbname=sluice_warehouse user=sluice_wh passfile=%s' \
        "$PGRUN" "$SLUICE_PG_PORT" "$SECRETS/pgpass"
}

owner_dburl() {
    printf 'host=%s port=%s dbname=sluice user=sluice_owner passfile=%s' \
        "$PGRUN" "$SLUICE_PG_PORT" "$SECRETS/pgpass"
}

# --- PostgreSQL ------------------------------------------------------------

pg_choose_base() {
    [ -e "$SLUICE_VAR/pg" ] && return 0
    if [ "$(id -u)" = 0 ] && { [ ${#SLUICE_VAR} -gt 60 ] ||
        ! runuser -u postgres -- test -x "$SLUICE_VAR"; }; then
        # The postgres user cannot reach $SLUICE_VAR (a private temporary
        # directory, say) or the socket path would be too long.
        local base
        base=/var/tmp/sluice-pg-$(printf '%s' "$SLUICE_VAR" | sha256sum | cut -c1-12)
        mkdir -p "$base"
        ln -s "$base" "$SLUICE_VAR/pg"
    else
        mkdir -p "$SLUICE_VAR/pg"
    fi
    stack_paths
}

pg_init() {
    [ -n "$PGBIN" ] || die "PostgreSQL server binaries not found (apt-get install postgresql-15)"
    pg_choose_base
    mkdir -p "$PGBASE"
    [ "$(id -u)" != 0 ] || chown postgres: "$PGBASE"
    chmod 700 "$PGBASE"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        as_pg "$PGBIN/initdb" -D "$PGDATA" -U "$PGSUPER" -E UTF8 --locale=C \
            --auth-local=peer --auth-host=scram-sha-256 >"$LOGDIR/initdb.log" 2>&1 ||
            { cat "$LOGDIR/initdb.log" >&2; die "initdb failed"; }
        echo "include_if_exists = 'sluice.conf'" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
    fi
    as_pg mkdir -p "$PGRUN"
    # Regenerated at every start, so that a changed port takes effect.
    {
        echo "listen_addresses = '$SLUICE_BIND'"
        echo "port = $SLUICE_PG_PORT"
        echo "unix_socket_directories = '$PGRUN'"
        echo "max_connections = 300"
        # Runs commit their loads with two-phase commit (operator guide).
        echo "max_prepared_transactions = 100"
        echo "shared_buffers = 128MB"
        echo "password_encryption = 'scram-sha-256'"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        if [ "$SLUICE_PG_FAST" = 1 ]; then
            # Test stacks are thrown away: durability buys nothing there.
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | as_pg tee "$PGDATA/sluice.conf" >/dev/null
    {
        echo "local all $PGSUPER peer"
        echo "local all all scram-sha-256"
        echo "host all all 127.0.0.1/32 scram-sha-256"
        echo "host all all ::1/128 scram-sha-256"
    } | as_pg tee "$PGDATA/pg_hba.conf" >/dev/null
    ln -sfn "$PGBASE/postgres.log" "$LOGDIR/postgres.log"
}

pg_running() { as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start_postgres() {
    pg_init
    pg_running && return 0
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGBASE/postgres.log" -w -t 60 \
        start >/dev/null || { tail -n 20 "$PGBASE/postgres.log" >&2; die "PostgreSQL did not start"; }
}

stop_postgres() {
    [ -n "$PGBIN" ] && [ -d "$PGDATA" ] || return 0
    pg_running || return 0
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
}

psql_super() {
    as_pg psql -X -q -h "$PGRUN" -p "$SLUICE_PG_PORT" -U "$PGSUPER" \
        -d "${1:-postgres}" -v ON_ERROR_STOP=1
}

# Roles and the database; safe to run again.
pg_setup() {
    psql_super postgres <<SQL >/dev/null
\\set owner_pw '$(cat "$SECRETS/pg_owner")'
\\set app_pw '$(cat "$SECRETS/pg_app")'
\\set runner_pw '$(cat "$SECRETS/pg_runner")'
\\set login_pw '$(cat "$SECRETS/pg_login")'
\\set hub_pw '$(cat "$SECRETS/pg_hub")'
\\set wh_pw '$(cat "$SECRETS/pg_wh")'
SELECT 'CREATE ROLE sluice_owner'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_owner') \\gexec
ALTER ROLE sluice_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
    NOBYPASSRLS PASSWORD :'owner_pw';
SELECT 'CREATE ROLE sluice_app'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_app') \\gexec
ALTER ROLE sluice_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    NOINHERIT PASSWORD :'app_pw';
SELECT 'CREATE DATABASE sluice OWNER sluice_owner ENCODING ''UTF8'''
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'sluice') \\gexec
REVOKE ALL ON DATABASE sluice FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE sluice TO sluice_app;
SELECT 'CREATE ROLE sluice_runner'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_runner') \\gexec
ALTER ROLE sluice_runner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    NOINHERIT PASSWORD :'runner_pw';
GRANT CONNECT ON DATABASE sluice TO sluice_runner;
SELECT 'CREATE ROLE sluice_login'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_login') \\gexec
ALTER ROLE sluice_login LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    NOINHERIT PASSWORD :'login_pw';
GRANT CONNECT ON DATABASE sluice TO sluice_login;
SELECT 'CREATE ROLE sluice_hub'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_hub') \\gexec
ALTER ROLE sluice_hub LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    NOINHERIT PASSWORD :'hub_pw';
GRANT CONNECT ON DATABASE sluice TO sluice_hub;
SELECT 'CREATE ROLE sluice_wh'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_wh') \\gexec
ALTER ROLE sluice_wh LOGIN NOSUPERUSER NOCREATEDB CREATEROLE NOBYPASSRLS
    PASSWORD :'wh_pw';
SELECT 'CREATE DATABASE sluice_warehouse OWNER sluice_wh ENCODING ''UTF8'''
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'sluice_warehouse') \\gexec
REVOKE ALL ON DATABASE sluice_warehouse FROM PUBLIC;
-- The runner gives each organisation's role its temp_file_limit.
GRANT SET ON PARAMETER temp_file_limit TO sluice_wh;
SQL
    # Nobody but the runner may change a setting in the warehouse, so that
    # an organisation's SQL cannot raise its role's limits.
    psql_super sluice_warehouse <<SQL >/dev/null
REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) TO sluice_wh;
SQL
}

stack_migrate() {
    PGPASSFILE=$SECRETS/pgpass "$MIGRATE" --dir "$SLUICE_SRC/sql" \
        --db "$(owner_dburl)" >>"$LOGDIR/migrate.log" 2>&1 ||
        { tail -n 20 "$LOGDIR/migrate.log" >&2; die "migrations failed"; }
}

# --- NATS ------------------------------------------------------------------

start_nats() {
    pid_alive "$RUN/nats.pid" && return 0
    command -v nats-server >/dev/null || die "nats-server not found (apt-get install nats-server)"
    mkdir -p "$SLUICE_VAR/nats"
    setsid nats-server -a "$SLUICE_BIND" -p "$SLUICE_NATS_PORT" -js \
        -sd "$SLUICE_VAR/nats" -n "sluice-$SLUICE_NATS_PORT" \
        -P "$RUN/nats.pid" -l "$LOGDIR/nats.log" </dev/null >/dev/null 2>&1 &
    wait_for 20 port_open "$SLUICE_BIND" "$SLUICE_NATS_PORT" ||
        { tail -n 20 "$LOGDIR/nats.log" >&2; die "nats-server did not start"; }
    wait_for 5 test -s "$RUN/nats.pid"
}

stop_nats() { stop_pidfile "$RUN/nats.pid" 30; }

# --- the Sluice daemons ----------------------------------------------------

write_conf() {
    cat >"$CONF" <<EOF
# Written by scripts/lib/stack.sh for the stack in $SLUICE_VAR.
db_url = "$(app_dburl)"
runner_db_url = "$(runner_dburl)"
auth_db_url = "$(login_dburl)"
hub_db_url = "$(hub_dburl)"
nats_url = nats://$SLUICE_BIND:$SLUICE_NATS_PORT
api_listen = $API_SOCK
api_workers = $SLUICE_API_WORKERS
jwt_secret_file = $SECRETS/jwt_secret
admin_key_file = $SECRETS/admin_key
hub_listen = $SLUICE_BIND
hub_port = $SLUICE_HUB_PORT
hub_ticket_key_file = $SECRETS/hub_ticket_key
log_level = $SLUICE_LOG_LEVEL
password_cost = $SLUICE_PASSWORD_COST
secret_key_file = $SECRETS/secret_key
data_dir = $SLUICE_VAR/data
warehouse_url = "$(wh_dburl)"
# A dev stack's connectors may reach its own PostgreSQL on loopback.
connector_allow_private = true
# ...and its webhooks may reach receivers on loopback.
webhook_allow_private = true
EOF
    mkdir -p "$SLUICE_VAR/data"
}

# start_daemon NAME BINARY: runs BINARY -c CONF --pid-file RUN/NAME.pid in
# the background, logging to LOGDIR/NAME.log.
start_daemon() {
    local name=$1 bin=$2
    pid_alive "$RUN/$name.pid" && return 0
    [ -x "$bin" ] || die "$bin is not built (run make)"
    rm -f "$RUN/$name.pid"
    setsid "$bin" -c "$CONF" --pid-file "$RUN/$name.pid" </dev/null \
        >>"$LOGDIR/$name.log" 2>&1 &
    wait_for 10 test -s "$RUN/$name.pid" ||
        { tail -n 20 "$LOGDIR/$name.log" >&2; die "$name did not start"; }
}

start_api() {
    mkdir -p "$SOCKDIR"
    start_daemon api "$API_BIN"
    wait_for 10 test -S "$API_SOCK" ||
        { tail -n 20 "$LOGDIR/api.log" >&2; die "api did not open $API_SOCK"; }
}
stop_api() { stop_pidfile "$RUN/api.pid" 40; }
start_runner() { start_daemon runner "$RUNNER_BIN"; }
stop_runner() { stop_pidfile "$RUN/runner.pid" 40; }
start_hub() { start_daemon hub "$HUB_BIN"; }
stop_hub() { stop_pidfile "$RUN/hub.pid" 20; }

# --- nginx -----------------------------------------------------------------

nginx_cert() {
    [ -s "$NGX/tls/cert.pem" ] && return 0
    mkdir -p "$NGX/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$NGX/tls/key.pem" -out "$NGX/tls/cert.pem" >/dev/null 2>&1 ||
        die "openssl could not make a certificate"
    chmod 600 "$NGX/tls/key.pem"
}

# limit_req lines, or nothing when the rate is "off".
limit_line() {
    [ "$2" = off ] && return 0
    printf 'limit_req zone=%s burst=%s nodelay;' "$1" "$3"
}

# A limit_conn line, or nothing when the count is "off".
limit_conn_line() {
    [ "$2" = off ] && return 0
    printf 'limit_conn %s %s;' "$1" "$2"
}

nginx_render() {
    local user=""
    [ "$(id -u)" = 0 ] && user="user root root;"
    mkdir -p "$NGX/tmp"
    sed -e "s|@USER_DIRECTIVE@|$user|" \
        -e "s|@WORKER_PROCESSES@|$SLUICE_NGINX_WORKERS|" \
        -e "s|@WORKER_CONNECTIONS@|$SLUICE_NGINX_CONNECTIONS|" \
        -e "s|@PREFIX@|$NGX|g" \
        -e "s|@LOG_DIR@|$LOGDIR|g" \
        -e "s|@RUN_DIR@|$RUN|g" \
        -e "s|@BIND@|$SLUICE_BIND|g" \
        -e "s|@HTTP_PORT@|$SLUICE_HTTP_PORT|g" \
        -e "s|@HTTPS_PORT@|$SLUICE_HTTPS_PORT|g" \
        -e "s|@TLS_CERT@|$NGX/tls/cert.pem|g" \
        -e "s|@TLS_KEY@|$NGX/tls/key.pem|g" \
        -e "s|@API_SOCKET@|$API_SOCK|g" \
        -e "s|@API_KEEPALIVE@|${SLUICE_NGINX_KEEPALIVE:-32}|g" \
        -e "s|@HUB_ADDR@|$SLUICE_BIND:$SLUICE_HUB_PORT|g" \
        -e "s|@MAX_BODY@|$SLUICE_MAX_BODY|g" \
        -e "s|@RATE_ANON@|${SLUICE_RATE_ANON/off/1000r/s}|g" \
        -e "s|@RATE_AUTH@|${SLUICE_RATE_AUTH/off/1000r/s}|g" \
        -e "s|@RATE_CRED_IP@|${SLUICE_RATE_CRED_IP/off/1000r/s}|g" \
        -e "s|@RATE_WS@|${SLUICE_RATE_WS/off/1000r/s}|g" \
        -e "s|@LIMIT_WS@|$(limit_line sluice_ws "$SLUICE_RATE_WS" "$SLUICE_BURST_WS")|g" \
        -e "s|@LIMIT_WS_CONN@|$(limit_conn_line sluice_ws_conn "$SLUICE_WS_CONN_PER_IP")|g" \
        -e "s|@LIMIT_ANON@|$(limit_line sluice_anon "$SLUICE_RATE_ANON" "$SLUICE_BURST_ANON")|g" \
        -e "s|@LIMIT_IP@|$(limit_line sluice_ip "$SLUICE_RATE_ANON" "$SLUICE_BURST_ANON")|g" \
        -e "s|@LIMIT_AUTH@|$(limit_line sluice_auth "$SLUICE_RATE_AUTH" "$SLUICE_BURST_AUTH")|g" \
        -e "s|@LIMIT_CRED_IP@|$(limit_line sluice_cred_ip "$SLUICE_RATE_CRED_IP" "$SLUICE_BURST_CRED_IP")|g" \
        -e "s|@DOCS_DIR@|$SLUICE_SRC/docs|g" \
        "$SLUICE_SRC/nginx/sluice.conf.in" >"$NGX/nginx.conf"
}

start_nginx() {
    pid_alive "$RUN/nginx.pid" && return 0
    command -v nginx >/dev/null || die "nginx not found (apt-get install nginx)"
    nginx_cert
    nginx_render
    nginx -q -t -c "$NGX/nginx.conf" -p "$NGX" 2>"$LOGDIR/nginx-test.log" ||
        { cat "$LOGDIR/nginx-test.log" >&2; die "nginx configuration is invalid"; }
    # UTC, so that error bodies' timestamps end in Z like the API's.
    TZ=UTC nginx -c "$NGX/nginx.conf" -p "$NGX" ||
        { tail -n 20 "$LOGDIR/nginx-error.log" >&2; die "nginx did not start"; }
    wait_for 10 port_open "$SLUICE_BIND" "$SLUICE_HTTP_PORT" ||
        die "nginx is not listening on $SLUICE_HTTP_PORT"
}

stop_nginx() { stop_pidfile "$RUN/nginx.pid" 20; }

# --- the whole stack -------------------------------------------------------

stack_prepare() {
    mkdir -p "$SLUICE_VAR" "$RUN" "$LOGDIR" "$SOCKDIR"
    chmod 755 "$SLUICE_VAR"
    stack_secrets
    stack_save_env
    write_conf
}

# stack_up [SERVICE...]: starts the named services (default: all) in order.
stack_up() {
    local services=${*:-$STACK_SERVICES} s
    stack_prepare
    for s in $services; do
        case $s in
        postgres) start_postgres; pg_setup; stack_migrate ;;
        *) "start_$s" ;;
        esac
    done
}

stack_down() {
    local s
    for s in nginx api runner hub nats postgres; do "stop_$s"; done
}

stack_status() {
    local s pidfile state rc=0
    for s in $STACK_SERVICES; do
        if [ "$s" = postgres ]; then
            if [ -n "$PGBIN" ] && [ -d "$PGDATA" ] && pg_running; then
                state="running (port $SLUICE_PG_PORT)"
            else
                state=stopped; rc=1
            fi
        else
            pidfile=$RUN/$s.pid
            if pid_alive "$pidfile"; then
                state="running (pid $(cat "$pidfile"))"
            else
                state=stopped; rc=1
            fi
        fi
        printf '  %-9s %s\n' "$s" "$state"
    done
    return $rc
}
