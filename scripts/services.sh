# shellcheck shell=bash
# Functions that make sure a local service is installed, running and reachable the way the tests
# expect it. Sourced by scripts/test; each function is idempotent and quick when all is well.

warn() { printf '[services] %s\n' "$*" >&2; }

apt_updated=""
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "apt-get not found: install $* by hand"
    return 1
  fi
  if [ -z "$apt_updated" ]; then
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# MariaDB on 127.0.0.1:3306, root over TCP with an empty password.
ensure_mariadb() {
  if ! [ -x /usr/sbin/mariadbd ]; then
    warn "installing mariadb-server"
    apt_install mariadb-server mariadb-client || return 1
  fi
  if ! mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1 \
     && ! mariadb-admin -uroot ping >/dev/null 2>&1; then
    warn "starting MariaDB"
    install -d -o mysql -g mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 60); do
      mariadb-admin -uroot ping >/dev/null 2>&1 && break
      sleep 0.5
    done
  fi
  if ! mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
    # A fresh Debian MariaDB lets root in only by socket: add root over TCP, empty password.
    warn "giving root an empty password over TCP"
    mariadb -uroot <<'SQL' || return 1
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'root'@'::1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'::1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  fi
  mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -e 'SELECT 1' >/dev/null 2>&1
}

# PostgreSQL on 127.0.0.1:5432 with trust authentication for local TCP.
ensure_postgres() {
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    warn "installing postgresql"
    apt_install postgresql postgresql-client || return 1
  fi
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    warn "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 60); do
      pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
      sleep 0.5
    done
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
    warn "allowing trust authentication on 127.0.0.1"
    local hba
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main reload || true
    sleep 1
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1
}

# Python 3 with venv and pip, for the tests that run the official Python SDK (they make their
# own virtualenv from pinned requirements; see crates/starkeep/tests/it/sdk.rs).
ensure_python_venv() {
  if python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    return 0
  fi
  warn "installing python3-venv"
  apt_install python3 python3-venv python3-pip || return 1
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1
}
