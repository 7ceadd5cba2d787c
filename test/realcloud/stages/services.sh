# Stage services: Keystone users, services and endpoints for Placement, Nova, Neutron and Cinder, made with
# direct API calls (fullcloud.py services) before those services first need them.
# shellcheck shell=bash

services_packages=()
services_debconf=()

# rc_fullcloud CMD: runs fullcloud.py with the settings it needs.
rc_fullcloud() {
  RC_KEYSTONE=$RC_KEYSTONE RC_GLANCE=$RC_GLANCE RC_NOVA=$RC_NOVA RC_NEUTRON=$RC_NEUTRON \
    RC_PLACEMENT=$RC_PLACEMENT RC_CINDER=${RC_CINDER:-} RC_VOLUME_TYPE=${RC_VOLUME_TYPE:-} RC_REGION=$RC_REGION RC_HOST=$RC_HOST RC_ADMIN_PASSWORD=$RC_ADMIN_PASSWORD \
    RC_DEMO_PASSWORD=$RC_DEMO_PASSWORD RC_SERVICE_PASSWORD=$RC_SERVICE_PASSWORD \
    RC_GUEST_DIR=${RC_GUEST_DIR:-} RC_WAIT=${RC_WAIT:-300} RC_AGENTS_SINCE=${RC_AGENTS_SINCE:-} \
    timeout $((${RC_WAIT:-300} + 60)) /usr/bin/python3 "$RC_HERE/fullcloud.py" "$@"
}

services_configure() { :; }
services_ready() { return 0; }
services_start() { rc_fullcloud services || die "registering the placement, compute and network services failed"; }
services_stop() { :; }
