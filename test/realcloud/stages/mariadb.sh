# Stage mariadb: a MariaDB on 127.0.0.1:3306, started by hand (no systemd). Keystone needs it: on
# SQLite, two uwsgi workers make Keystone fail with "database is locked".
# shellcheck shell=bash

mariadb_packages=(mariadb-server python3-pymysql)
mariadb_debconf=()
mariadb_changed=0

mariadb_configure() {
  # A drop-in, read after Debian's own files, so the package's config stays untouched.
  if write_if_changed /etc/mysql/mariadb.conf.d/99-packer-plugin-glance.cnf 0644 root:root <<EOF2; then mariadb_changed=1; fi
# Written by packer-plugin-glance test/realcloud: loopback only, tuned for a throwaway test cloud.
[mysqld]
bind-address = 127.0.0.1
skip-name-resolve
max_connections = 1000
innodb_buffer_pool_size = 256M
innodb_flush_log_at_trx_commit = 2
innodb_doublewrite = 0
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
EOF2
}

mariadb_ready() { mysqladmin --connect-timeout=2 ping >/dev/null 2>&1; }

mariadb_start() {
  if mariadb_ready; then
    if ((mariadb_changed == 0)); then return 0; fi
    log "MariaDB settings changed: restarting MariaDB"
    mariadb_stop
  fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  # mariadbd drops to user mysql itself; it stays root-started so it can read its own config.
  start_daemon mariadb root /usr/sbin/mariadbd --user=mysql --log-error="$RC_LOGS/mariadb.err"
  wait_until 60 "MariaDB" mariadb mariadb_ready
}

mariadb_stop() {
  # A clean shutdown through the server itself also works when another checkout started it.
  if mariadb_ready; then mysqladmin shutdown >/dev/null 2>&1 || true; fi
  stop_daemon mariadb 30
}

# mariadb_database NAME USER: creates the database and a user reachable over the socket and TCP
# (with skip-name-resolve, TCP clients arrive as 127.0.0.1, not localhost).
mariadb_database() {
  local db=$1 user=$2
  mysql -uroot <<EOF2
CREATE DATABASE IF NOT EXISTS \`$db\`;
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$RC_DB_PASSWORD';
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$RC_DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'localhost';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'127.0.0.1';
EOF2
}

rc_db_url() { echo "mysql+pymysql://$2:$RC_DB_PASSWORD@127.0.0.1/$1?charset=utf8"; }
