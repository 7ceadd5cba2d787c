# Stage keystone: Keystone (identity) under uwsgi on 127.0.0.1:5000, fernet tokens, MariaDB.
# shellcheck shell=bash

keystone_packages=(keystone uwsgi-core uwsgi-plugin-python3 python3-pymysql)
# Debian's keystone asks to set up its database and register itself: the scripts do that instead.
keystone_debconf=(
  "keystone keystone/configure_db boolean false"
  "keystone keystone/create-admin-tenant boolean false"
  "keystone keystone/register-endpoint boolean false"
)
keystone_changed=0

keystone_configure() {
  # The whole file is written (not edited), so a rerun converges on exactly this content.
  # oslo.config has no inline comments: comments stay on their own lines.
  if write_if_changed /etc/keystone/keystone.conf 0640 root:keystone <<EOF2; then keystone_changed=1; fi
# Written by packer-plugin-glance test/realcloud (Debian's original: keystone.conf.dist).
[DEFAULT]
log_file = $RC_LOGS/keystone.log

[cache]
# Without a cache, every authenticated request re-reads roles and assignments: about 200 SQL
# statements and 0.5-0.9 s per request on this machine. An in-process cache cuts that to a few ms.
# In-process means per worker, so Keystone runs as ONE uwsgi process (threads for concurrency):
# invalidations (deleted credentials, changed roles) are then seen at once by every request.
enabled = true
backend = dogpile.cache.memory

[database]
connection = $(rc_db_url keystone keystone)

[token]
provider = fernet
# Short on purpose: tests prove that long imports survive re-authentication.
expiration = $RC_TOKEN_EXPIRATION
# Services may still validate a user token that expired during a long operation when they present
# a service token (keystonemiddleware); two days is Keystone's default, written out to be explicit.
allow_expired_window = 172800

[identity]
# bcrypt's default cost (12) makes every password or application-credential token cost ~0.7 s on
# this machine; a throwaway test cloud needs no brute-force resistance. Applies to hashes made
# after the change (bootstrap and register.py run after this file is written).
password_hash_rounds = 4

[oslo_policy]
policy_dirs = /etc/keystone/policy.d
EOF2
  if ! stamp_done keystone-db; then
    local t0
    t0=$(now_ms)
    mariadb_database keystone keystone
    # The manage commands are chatty (and print a harmless AttributeError at exit): keep it in a log.
    runuser -u keystone -- keystone-manage --config-file /etc/keystone/keystone.conf db_sync >>"$RC_LOGS/setup.log" 2>&1 ||
      die "keystone db_sync failed (log: $RC_LOGS/setup.log)"
    # Key repositories are created once; rerunning fernet_setup on existing keys is not needed.
    [[ -e /etc/keystone/fernet-keys/0 ]] ||
      keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone >>"$RC_LOGS/setup.log" 2>&1
    [[ -e /etc/keystone/credential-keys/0 ]] ||
      keystone-manage credential_setup --keystone-user keystone --keystone-group keystone >>"$RC_LOGS/setup.log" 2>&1
    # bootstrap is idempotent: admin user/project, roles admin/member/reader, identity endpoints.
    runuser -u keystone -- keystone-manage --config-file /etc/keystone/keystone.conf bootstrap \
      --bootstrap-password "$RC_ADMIN_PASSWORD" \
      --bootstrap-admin-url "$RC_KEYSTONE/v3/" --bootstrap-internal-url "$RC_KEYSTONE/v3/" \
      --bootstrap-public-url "$RC_KEYSTONE/v3/" --bootstrap-region-id "$RC_REGION" >>"$RC_LOGS/setup.log" 2>&1 ||
      die "keystone bootstrap failed (log: $RC_LOGS/setup.log)"
    stamp_set keystone-db
    log "keystone database set up ($(($(now_ms) - t0)) ms)"
  fi
}

keystone_ready() { http_answers "$RC_KEYSTONE/v3"; }

keystone_start() {
  if port_open 5000; then
    if ((keystone_changed == 0)); then return 0; fi
    log "keystone.conf changed: restarting keystone"
    keystone_stop
  fi
  # "Connection: close": uwsgi's HTTP socket drops kept-alive connections, which clients see as
  # "Remote end closed connection without response" on their second request.
  start_daemon keystone keystone uwsgi_python3 --http-socket 127.0.0.1:5000 \
    --wsgi-file /usr/bin/keystone-wsgi-public --master --processes 1 --threads 8 --lazy-apps \
    --die-on-term --enable-threads --buffer-size 65535 --need-app \
    --procname-prefix-spaced keystone --add-header "Connection: close"
  wait_until 90 "Keystone" keystone keystone_ready
}

keystone_stop() { stop_daemon keystone 20; rc_kill_port 5000; }
