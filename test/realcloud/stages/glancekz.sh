# Stage glancekz: a second, independent glance-api for region kz-ala-1, in the same Keystone, on
# 127.0.0.1:9293. Own configuration folder, data folder and database, the same import methods and
# web-download filter as the first: tests of region selection (an image made in one region is
# invisible in the other) run against two real Glances. Needs stage glance (its shared functions).
# shellcheck shell=bash

glancekz_packages=()
glancekz_debconf=()
glancekz_changed=0
RC_GLANCE_KZ_CONF=/etc/glance-kz-ala-1
RC_GLANCE_KZ_DATA=/var/lib/glance-kz-ala-1

glancekz_configure() {
  if glance_write_conf "$RC_GLANCE_KZ_CONF" "$RC_GLANCE_KZ" "$RC_GLANCE_KZ_DATA" glance_kz glance-api-kz; then
    glancekz_changed=1
  fi
  glance_setup_db "$RC_GLANCE_KZ_CONF" glance_kz
}

glancekz_ready() { http_answers "$RC_GLANCE_KZ/"; }
glancekz_start() { glance_run glance-api-kz "$RC_GLANCE_KZ_CONF" "${RC_GLANCE_KZ##*:}" "$glancekz_changed"; }
glancekz_stop() { stop_daemon glance-api-kz 20; rc_kill_port "${RC_GLANCE_KZ##*:}"; }
