#!/usr/bin/env python3
"""Registers the test identities and the image endpoints (region RegionOne, and the second Glance as
region kz-ala-1) in Keystone with direct API calls, then writes clouds.yaml and appcred.env for the
tests.

Why not the openstack CLI: each CLI call costs about 2.5 s of Python start-up, and this needs a
dozen calls. Every step is "look up, create if missing", so a rerun changes nothing and takes well
under a second or two. Standard library only.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

KEYSTONE = os.environ.get("RC_KEYSTONE", "http://127.0.0.1:5000") + "/v3"
GLANCE = os.environ.get("RC_GLANCE", "http://127.0.0.1:9292")
REGION = os.environ.get("RC_REGION", "RegionOne")
# The second Glance (stage glancekz): same Keystone, its own region.
GLANCE_KZ = os.environ.get("RC_GLANCE_KZ", "http://127.0.0.1:9293")
REGION_KZ = os.environ.get("RC_REGION_KZ", "kz-ala-1")
ADMIN_PW = os.environ["RC_ADMIN_PASSWORD"]
DEMO_PW = os.environ["RC_DEMO_PASSWORD"]
# A second non-admin project and user: image members need a project that is not the owner's and
# is not admin (admins see every image, whatever its member status).
ALT_PW = os.environ.get("RC_ALT_PASSWORD", "alt-secret")
SERVICE_PW = os.environ["RC_SERVICE_PASSWORD"]
STATE = os.environ["RC_STATE"]
OUT = os.environ["RC_OUT"]
APPCRED_NAME = "packer-plugin-glance-tests"


def call(method, path, token=None, body=None, ok=(200, 201, 204)):
    """One request; returns (status, json or None, headers). Raises on an unexpected status."""
    url = path if path.startswith("http") else KEYSTONE + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw, headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, raw, headers = e.code, e.read(), e.headers
    if status not in ok:
        raise RuntimeError(f"{method} {url}: HTTP {status}: {raw[:300]!r}")
    return status, (json.loads(raw) if raw else None), headers


def password_token(user, password, project):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    _, data, headers = call("POST", "/auth/tokens", body=body)
    return headers["X-Subject-Token"], data["token"]


def find(token, collection, **filters):
    """Returns the first entity of /v3/<collection> matching the filters, or None."""
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    _, data, _ = call("GET", f"/{collection}?{query}", token)
    items = data[collection]
    return items[0] if items else None


def ensure(token, collection, singular, attrs, **filters):
    found = find(token, collection, **filters)
    if found:
        return found, False
    _, data, _ = call("POST", f"/{collection}", token, {singular: attrs})
    return data[singular], True


def main():
    t0 = time.monotonic()
    admin_token, _ = password_token("admin", ADMIN_PW, "admin")
    created = []

    def note(entity, was_created, what):
        if was_created:
            created.append(what)
        return entity

    role_admin = find(admin_token, "roles", name="admin")
    # keystone-manage bootstrap creates admin, member and reader; create member if an older Keystone did not.
    role_member = note(*ensure(admin_token, "roles", "role", {"name": "member"}, name="member"), "role member")
    service_p = note(*ensure(admin_token, "projects", "project",
                             {"name": "service", "domain_id": "default", "description": "service users"},
                             name="service"), "project service")
    demo_p = note(*ensure(admin_token, "projects", "project",
                          {"name": "demo", "domain_id": "default", "description": "non-admin test project"},
                          name="demo"), "project demo")
    demo_u = note(*ensure(admin_token, "users", "user",
                          {"name": "demo", "domain_id": "default", "password": DEMO_PW,
                           "default_project_id": demo_p["id"]}, name="demo"), "user demo")
    alt_p = note(*ensure(admin_token, "projects", "project",
                         {"name": "alt", "domain_id": "default", "description": "second non-admin test project"},
                         name="alt"), "project alt")
    alt_u = note(*ensure(admin_token, "users", "user",
                         {"name": "alt", "domain_id": "default", "password": ALT_PW,
                          "default_project_id": alt_p["id"]}, name="alt"), "user alt")
    glance_u = note(*ensure(admin_token, "users", "user",
                            {"name": "glance", "domain_id": "default", "password": SERVICE_PW}, name="glance"),
                    "user glance")
    # PUT on a role assignment is idempotent (204 whether or not it existed).
    call("PUT", f"/projects/{demo_p['id']}/users/{demo_u['id']}/roles/{role_member['id']}", admin_token)
    call("PUT", f"/projects/{alt_p['id']}/users/{alt_u['id']}/roles/{role_member['id']}", admin_token)
    call("PUT", f"/projects/{service_p['id']}/users/{glance_u['id']}/roles/{role_admin['id']}", admin_token)

    svc = note(*ensure(admin_token, "services", "service",
                       {"name": "glance", "type": "image", "description": "image service", "enabled": True},
                       type="image"), "service image")
    # GET /v3/regions filters only by parent: ask for the one region.
    if call("GET", f"/regions/{REGION_KZ}", admin_token, ok=(200, 404))[0] == 404:
        # Keystone refuses endpoints in a region it does not know.
        call("POST", "/regions", admin_token, {"region": {"id": REGION_KZ, "description": "second test region"}})
        created.append(f"region {REGION_KZ}")
    for region, url in ((REGION, GLANCE), (REGION_KZ, GLANCE_KZ)):
        for iface in ("public", "internal", "admin"):
            note(*ensure(admin_token, "endpoints", "endpoint",
                         {"service_id": svc["id"], "interface": iface, "url": url, "region_id": region},
                         service_id=svc["id"], interface=iface, region_id=region),
                 f"endpoint image {iface} {region}")
    keep_first_region_first(admin_token, svc["id"], created)

    appcred = application_credential(demo_u["id"])

    write_outputs(appcred)
    took = time.monotonic() - t0
    print(f"registered in {took:.1f}s" + (f" (created: {', '.join(created)})" if created else " (nothing new)"),
          file=sys.stderr)


def keep_first_region_first(admin_token, service_id, created):
    """Makes RegionOne's image endpoint come first in the catalog for each interface.

    A client that names no region (a template with only identity_endpoint and token, OS_* variables
    without OS_REGION_NAME) takes the first matching endpoint of the catalog, as gophercloud and
    keystoneauth do. Keystone builds the catalog without ORDER BY, so the order follows the
    database (in practice the random endpoint IDs), not the creation order. Keystone picks the IDs,
    but an endpoint's region and URL can be changed: where a kz-ala-1 record comes first, the two
    records of that interface swap their region and URL. The check reads a real token's catalog,
    so it holds whatever decides the order, as long as the order is stable.
    """
    for attempt in range(3):
        _, tok = password_token("admin", ADMIN_PW, "admin")
        wrong = []
        for entry in tok.get("catalog", []):
            if entry.get("id") != service_id:
                continue
            seen = set()
            for ep in entry["endpoints"]:
                if ep["interface"] in seen:
                    continue
                seen.add(ep["interface"])
                if ep["region_id"] != REGION:
                    wrong.append(ep["interface"])
        if not wrong:
            return
        if attempt == 2:
            raise RuntimeError(f"the catalog still lists {REGION_KZ} before {REGION} for {wrong}")
        for iface in wrong:
            _, data, _ = call("GET", f"/endpoints?service_id={service_id}&interface={iface}", admin_token)
            by_region = {ep["region_id"]: ep for ep in data["endpoints"]}
            one, kz = by_region[REGION], by_region[REGION_KZ]
            call("PATCH", f"/endpoints/{kz['id']}", admin_token,
                 {"endpoint": {"region_id": REGION, "url": one["url"]}})
            call("PATCH", f"/endpoints/{one['id']}", admin_token,
                 {"endpoint": {"region_id": REGION_KZ, "url": kz["url"]}})
            created.append(f"image {iface} endpoints swapped ({REGION} first)")


def application_credential(demo_user_id):
    """Reuses the demo application credential whose secret is kept in the state folder if it still
    authenticates; otherwise replaces it (Keystone never shows a secret again after creation)."""
    path = os.path.join(STATE, "appcred.json")
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
            "id": saved["id"], "secret": saved["secret"]}}}}
        status, _, _ = call("POST", "/auth/tokens", body=body, ok=(201, 401, 404))
        if status == 201:
            return saved
    demo_token, _ = password_token("demo", DEMO_PW, "demo")
    _, data, _ = call("GET", f"/users/{demo_user_id}/application_credentials?name={APPCRED_NAME}", demo_token)
    for old in data["application_credentials"]:
        call("DELETE", f"/users/{demo_user_id}/application_credentials/{old['id']}", demo_token)
    _, data, _ = call("POST", f"/users/{demo_user_id}/application_credentials", demo_token, {
        "application_credential": {"name": APPCRED_NAME, "description": "packer-plugin-glance tests"}})
    ac = data["application_credential"]
    saved = {"id": ac["id"], "secret": ac["secret"], "name": ac["name"]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(saved, f)
    return saved


def write_outputs(appcred):
    os.makedirs(OUT, exist_ok=True)
    auth_url = KEYSTONE

    def pw_cloud(user, password, project):
        return (f"    auth:\n      auth_url: {auth_url}\n      username: {user}\n      password: {password}\n"
                f"      project_name: {project}\n      user_domain_name: Default\n"
                f"      project_domain_name: Default\n")

    # region_name: clients that name no region use RegionOne. regions: the openstack CLI (openstacksdk)
    # accepts only listed regions for --os-region-name. Flow style: simple readers take it as one value.
    common = (f"    region_name: {REGION}\n    regions: [{REGION}, {REGION_KZ}]\n"
              "    interface: public\n    identity_api_version: 3\n")
    text = ("# Written by test/realcloud (make realcloud): the real Keystone + Glance on loopback.\n"
            "clouds:\n"
            "  realcloud:\n" + pw_cloud("demo", DEMO_PW, "demo") + common +
            "  realcloud-admin:\n" + pw_cloud("admin", ADMIN_PW, "admin") + common +
            "  realcloud-alt:\n" + pw_cloud("alt", ALT_PW, "alt") + common +
            "  realcloud-appcred:\n    auth_type: v3applicationcredential\n"
            f"    auth:\n      auth_url: {auth_url}\n"
            f"      application_credential_id: {appcred['id']}\n"
            f"      application_credential_secret: {appcred['secret']}\n" + common)
    replace(os.path.join(OUT, "clouds.yaml"), text)
    env = (f"# Written by test/realcloud: the demo user's application credential (shell and make syntax).\n"
           f"OS_AUTH_URL={auth_url}\nOS_APPLICATION_CREDENTIAL_ID={appcred['id']}\n"
           f"OS_APPLICATION_CREDENTIAL_SECRET={appcred['secret']}\n"
           f"OS_APPLICATION_CREDENTIAL_NAME={appcred['name']}\n")
    replace(os.path.join(OUT, "appcred.env"), env)


def replace(path, text):
    """Writes atomically, so a test reading the file never sees half of it."""
    tmp = path + ".tmp"
    # Test values only, on loopback: readable, so tests running as another user can use them.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one clear line instead of a traceback for the make output
        print(f"register: {e}", file=sys.stderr)
        sys.exit(1)
