#!/usr/bin/env python3
"""The "full" profile's API work, done with direct API calls (the openstack CLI costs ~2.5 s a call).

  fullcloud.py services      service users placement/nova/neutron/cinder, their services and endpoints
  fullcloud.py wait-compute  until nova-compute is up and has a resource provider in Placement
  fullcloud.py wait-volume   until cinder-volume (backend ceph) and cinder-scheduler are up
  fullcloud.py resources     flavors, networks private/public, router, demo's SSH rule, tiny-guest,
                             the default volume type
  fullcloud.py wait-agents   until the linuxbridge, dhcp, metadata and l3 agents are alive

Every step is "look up, create if missing": a rerun changes nothing. Standard library only.
Settings come from the environment (RC_* variables, set by stages/fullcloud.sh).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

E = os.environ
KEYSTONE = E.get("RC_KEYSTONE", "http://127.0.0.1:5000") + "/v3"
GLANCE = E.get("RC_GLANCE", "http://127.0.0.1:9292")
NOVA = E.get("RC_NOVA", "http://127.0.0.1:8774") + "/v2.1"
NEUTRON = E.get("RC_NEUTRON", "http://127.0.0.1:9696") + "/v2.0"
PLACEMENT = E.get("RC_PLACEMENT", "http://127.0.0.1:8778")
CINDER = E.get("RC_CINDER") or "http://127.0.0.1:8776"
VOLUME_TYPE = E.get("RC_VOLUME_TYPE") or "ceph"
REGION = E.get("RC_REGION", "RegionOne")

# Networks: the host holds .1 on each bridge (stages/hostnet.sh); the router takes .254 on private,
# so the host reaches fixed IPs on-link and floating IPs through the router.
PRIV_CIDR, PRIV_HOST, PRIV_ROUTER = "10.99.0.0/24", "10.99.0.1", "10.99.0.254"
PUB_CIDR, PUB_HOST = "10.98.0.0/24", "10.98.0.1"

# Microversion 2.53+ gives service UUIDs; 2.88 is too new for some fields: ask for what we use.
NOVA_MV = {"OpenStack-API-Version": "compute 2.79", "X-OpenStack-Nova-API-Version": "2.79"}


class HTTPFailure(RuntimeError):
    pass


def call(method, url, token=None, body=None, ok=(200, 201, 202, 204), headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if raw is not None:
        req.add_header("Content-Type", "application/octet-stream")
    elif data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, payload, hdrs = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, payload, hdrs = e.code, e.read(), e.headers
    if status not in ok:
        raise HTTPFailure(f"{method} {url}: HTTP {status}: {payload[:300]!r}")
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    return status, parsed, hdrs


def token(user, password, project):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    _, data, headers = call("POST", KEYSTONE + "/auth/tokens", body=body)
    return headers["X-Subject-Token"], data["token"]


def admin_token():
    return token("admin", E["RC_ADMIN_PASSWORD"], "admin")[0]


def first(tok, url, key):
    _, data, _ = call("GET", url, tok)
    items = data[key]
    return items[0] if items else None


def ensure_ks(tok, collection, singular, attrs, query):
    found = first(tok, f"{KEYSTONE}/{collection}?{query}", collection)
    if found:
        return found, False
    _, data, _ = call("POST", f"{KEYSTONE}/{collection}", tok, {singular: attrs})
    return data[singular], True


def services():
    tok = admin_token()
    created = []
    role_admin = first(tok, KEYSTONE + "/roles?name=admin", "roles")
    # Role "service" on the service users: Cinder lets only a request with a service token of that role
    # delete an attachment Nova made (OSSA-2023-003), so without it a server's delete leaves its
    # boot volume in-use ("ConflictNovaUsingAttachment", 409 to Nova). Zed's bootstrap does not make it.
    role_service, new = ensure_ks(tok, "roles", "role", {"name": "service"}, "name=service")
    if new:
        created.append("role service")
    project, new = ensure_ks(tok, "projects", "project",
                             {"name": "service", "domain_id": "default", "description": "service users"},
                             "name=service")
    if new:
        created.append("project service")
    # (service user, service name, type, URL). Cinder is in the catalog twice, as the test cloud has
    # it: volumev3 (what Nova and older clients look for) and block-storage (the current name).
    volume_url = CINDER + "/v3/%(project_id)s"
    catalog = [
        ("placement", "placement", "placement", PLACEMENT),
        ("nova", "nova", "compute", NOVA),
        ("neutron", "neutron", "network", E.get("RC_NEUTRON", "http://127.0.0.1:9696")),
        ("cinder", "cinderv3", "volumev3", volume_url),
        ("cinder", "cinder", "block-storage", volume_url),
    ]
    for user, name, stype, url in catalog:
        u, new = ensure_ks(tok, "users", "user",
                           {"name": user, "domain_id": "default", "password": E["RC_SERVICE_PASSWORD"]},
                           f"name={user}")
        if new:
            created.append(f"user {user}")
        for role in (role_admin, role_service):
            call("PUT", f"{KEYSTONE}/projects/{project['id']}/users/{u['id']}/roles/{role['id']}", tok)
        svc, new = ensure_ks(tok, "services", "service",
                             {"name": name, "type": stype, "enabled": True}, f"type={stype}")
        if new:
            created.append(f"service {stype}")
        for iface in ("public", "internal", "admin"):
            _, new = ensure_ks(tok, "endpoints", "endpoint",
                               {"service_id": svc["id"], "interface": iface, "url": url, "region_id": REGION},
                               f"service_id={svc['id']}&interface={iface}&region_id={REGION}")
            if new:
                created.append(f"endpoint {stype} {iface}")
    return created


def wait_for(what, timeout, check):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (HTTPFailure, OSError) as e:  # services still starting answer 503 or refuse
            last = e
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout}s" + (f" (last error: {last})" if last else ""))
        time.sleep(1)


def wait_compute(timeout):
    tok = admin_token()
    host = E.get("RC_HOST", "realcloud")

    def compute_up():
        _, data, _ = call("GET", f"{NOVA}/os-services?binary=nova-compute", tok, headers=NOVA_MV)
        return any(s["host"] == host and s["state"] == "up" for s in data["services"])

    def provider():
        _, data, _ = call("GET", f"{PLACEMENT}/resource_providers", tok,
                          headers={"OpenStack-API-Version": "placement 1.14"})
        return bool(data["resource_providers"])

    wait_for("nova-compute up", timeout, compute_up)
    wait_for("compute resource provider in Placement", timeout, provider)
    return []


def wait_volume(timeout):
    tok, scope = token("admin", E["RC_ADMIN_PASSWORD"], "admin")
    project = scope["project"]["id"]

    def volume_up():
        _, data, _ = call("GET", f"{CINDER}/v3/{project}/os-services", tok)
        up = {s["binary"] for s in data["services"] if s["state"] == "up" and s["status"] == "enabled"}
        return {"cinder-scheduler", "cinder-volume"} <= up

    wait_for("cinder-volume and cinder-scheduler up", timeout, volume_up)
    return []


def volume_type(tok):
    """The default volume type (cinder.conf default_volume_type), bound to the RBD backend."""
    _, scope = token("admin", E["RC_ADMIN_PASSWORD"], "admin")
    base = f"{CINDER}/v3/{scope['project']['id']}"
    _, data, _ = call("GET", f"{base}/types", tok)
    if any(t["name"] == VOLUME_TYPE for t in data["volume_types"]):
        return []
    call("POST", f"{base}/types", tok, {"volume_type": {
        "name": VOLUME_TYPE, "description": "Ceph RBD pool volumes (test/realcloud)",
        "os-volume-type-access:is_public": True, "extra_specs": {"volume_backend_name": "ceph"}}})
    return [f"volume type {VOLUME_TYPE}"]


def wait_agents(timeout):
    tok = admin_token()
    wanted = {"Linux bridge agent", "DHCP agent", "Metadata agent", "L3 agent"}
    # Agents (re)started by this run must have reported since: a stopped agent looks alive for
    # agent_down_time (75 s) after its last heartbeat. Both are "YYYY-MM-DD HH:MM:SS" in UTC.
    since = E.get("RC_AGENTS_SINCE", "")

    def alive():
        _, data, _ = call("GET", f"{NEUTRON}/agents", tok)
        up = {a["agent_type"] for a in data["agents"]
              if a["alive"] and a["admin_state_up"] and (a.get("started_at") or "") >= since}
        return wanted <= up

    wait_for("Neutron agents (" + ", ".join(sorted(wanted)) + ")", timeout, alive)
    return []


def ensure_nt(tok, collection, singular, attrs, query):
    found = first(tok, f"{NEUTRON}/{collection}?{query}", collection)
    if found:
        return found, False
    _, data, _ = call("POST", f"{NEUTRON}/{collection}", tok, {singular: attrs})
    return data[singular], True


def resources():
    tok = admin_token()
    created = []

    def note(pair, what):
        if pair[1]:
            created.append(what)
        return pair[0]

    # Flavors (public). m1.tiny is the contract; m1.small mirrors the test cloud's seed.
    _, data, _ = call("GET", f"{NOVA}/flavors/detail?is_public=None", tok, headers=NOVA_MV)
    have = {f["name"] for f in data["flavors"]}
    for name, ram, disk in (("m1.tiny", 256, 1), ("m1.small", 512, 2)):
        if name not in have:
            call("POST", f"{NOVA}/flavors", tok, {"flavor": {
                "name": name, "ram": ram, "disk": disk, "vcpus": 1, "os-flavor-access:is_public": True}},
                headers=NOVA_MV)
            created.append(f"flavor {name}")

    # Networks: flat provider networks on the host bridges; private is shared so demo can use it.
    private = note(ensure_nt(tok, "networks", "network", {
        "name": "private", "shared": True, "provider:network_type": "flat",
        "provider:physical_network": "physpriv"}, "name=private"), "network private")
    priv_sub = note(ensure_nt(tok, "subnets", "subnet", {
        "name": "private-subnet", "network_id": private["id"], "ip_version": 4, "cidr": PRIV_CIDR,
        "gateway_ip": PRIV_ROUTER, "enable_dhcp": True,
        "allocation_pools": [{"start": "10.99.0.10", "end": "10.99.0.200"}]},
        f"network_id={private['id']}"), "subnet private-subnet")
    public = note(ensure_nt(tok, "networks", "network", {
        "name": "public", "router:external": True, "provider:network_type": "flat",
        "provider:physical_network": "physpub"}, "name=public"), "network public")
    pub_sub = note(ensure_nt(tok, "subnets", "subnet", {
        "name": "public-subnet", "network_id": public["id"], "ip_version": 4, "cidr": PUB_CIDR,
        "gateway_ip": PUB_HOST, "enable_dhcp": False,
        "allocation_pools": [{"start": "10.98.0.10", "end": "10.98.0.200"}]},
        f"network_id={public['id']}"), "subnet public-subnet")
    router = note(ensure_nt(tok, "routers", "router", {
        "name": "router", "external_gateway_info": {"network_id": public["id"], "enable_snat": True}},
        "name=router"), "router")
    _, data, _ = call("GET", f"{NEUTRON}/ports?device_id={router['id']}&network_id={private['id']}", tok)
    if not data["ports"]:
        call("PUT", f"{NEUTRON}/routers/{router['id']}/add_router_interface", tok, {"subnet_id": priv_sub["id"]})
        created.append("router interface on private")
    del pub_sub

    # The demo project's default security group admits SSH and ping (the builder may add its own).
    demo_tok, demo_scope = token("demo", E["RC_DEMO_PASSWORD"], "demo")
    demo_project = demo_scope["project"]["id"]
    _, data, _ = call("GET", f"{NEUTRON}/security-groups?name=default&project_id={demo_project}", demo_tok)
    if data["security_groups"]:
        sg = data["security_groups"][0]
    else:  # Neutron creates it on the project's first network call; the GET above usually did.
        _, data, _ = call("GET", f"{NEUTRON}/security-groups?name=default&project_id={demo_project}", demo_tok)
        sg = data["security_groups"][0]
    rules = [(r.get("protocol"), r.get("port_range_min"), r.get("direction"), r.get("ethertype"))
             for r in sg["security_group_rules"]]
    for proto, port in (("tcp", 22), ("icmp", None)):
        if (proto, port, "ingress", "IPv4") in rules:
            continue
        rule = {"security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4",
                "protocol": proto, "remote_ip_prefix": "0.0.0.0/0"}
        if port:
            rule.update(port_range_min=port, port_range_max=port)
        call("POST", f"{NEUTRON}/security-group-rules", demo_tok, {"security_group_rule": rule})
        created.append(f"demo default group: {proto} {port or ''}".strip())

    created += guest_image(tok)
    created += volume_type(tok)
    return created


def guest_image(tok):
    """Uploads the guest (kernel, ramdisk, root disk) unless images of this very build exist."""
    folder, key = E["RC_GUEST_DIR"], os.path.basename(E["RC_GUEST_DIR"])
    _, data, _ = call("GET", f"{GLANCE}/v2/images?name=tiny-guest", tok)
    current = [i for i in data["images"] if i.get("tiny_guest_build") == key and i["status"] == "active"]
    if current:
        return []
    # Older builds (and half-uploaded ones) go: a test's snapshot of an old build would keep old ids.
    for name in ("tiny-guest", "tiny-guest-kernel", "tiny-guest-ramdisk"):
        _, data, _ = call("GET", f"{GLANCE}/v2/images?name={name}", tok)
        for old in data["images"]:
            call("DELETE", f"{GLANCE}/v2/images/{old['id']}", tok, ok=(204, 404))

    def upload(name, disk_format, container, path, **props):
        attrs = {"name": name, "disk_format": disk_format, "container_format": container,
                 "visibility": "public", "tiny_guest_build": key, **props}
        _, image, _ = call("POST", f"{GLANCE}/v2/images", tok, attrs)
        with open(path, "rb") as f:
            call("PUT", f"{GLANCE}/v2/images/{image['id']}/file", tok, raw=f.read())
        return image["id"]

    kid = upload("tiny-guest-kernel", "aki", "aki", os.path.join(folder, "vmlinuz"))
    rid = upload("tiny-guest-ramdisk", "ari", "ari", os.path.join(folder, "initrd.gz"))
    upload("tiny-guest", "qcow2", "bare", os.path.join(folder, "root.qcow2"),
           kernel_id=kid, ramdisk_id=rid, os_command_line="console=ttyS0 quiet",
           os_distro="tiny-guest", min_disk=1, min_ram=128)
    return [f"images tiny-guest (+kernel, ramdisk) of build {key}"]


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    timeout = int(E.get("RC_WAIT", "300"))
    actions = {
        "services": services,
        "resources": resources,
        "wait-compute": lambda: wait_compute(timeout),
        "wait-agents": lambda: wait_agents(timeout),
        "wait-volume": lambda: wait_volume(timeout),
    }
    if cmd not in actions:
        sys.exit(f"usage: fullcloud.py {'|'.join(actions)}")
    t0 = time.monotonic()
    created = actions[cmd]()
    took = time.monotonic() - t0
    print(f"{cmd}: {took:.1f}s" + (f" (created: {', '.join(created)})" if created else ""), file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError, KeyError) as e:
        print(f"fullcloud: {e}", file=sys.stderr)
        sys.exit(1)
