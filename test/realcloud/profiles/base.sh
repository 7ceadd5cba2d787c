# Profile "base": MariaDB + Keystone + Glance (issue 7), plus a second Glance for region kz-ala-1. A profile lists its stages in start order;
# "down" stops them in reverse. A fuller profile (issue 8) adds its own stage files after these.
# shellcheck shell=bash
RC_STAGES=(mariadb keystone glance glancekz)
