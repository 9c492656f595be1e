"""The image of a new app, really built and run: its Containerfile built
with podman on soom's images (the scaffold/images fixture), then run on a
read-only root filesystem against the suite's PostgreSQL on loopback: the
migrations in one container, the service in another, /ready, a CRUD round
trip, the HEALTHCHECK, a non-root PID 1 that is soom itself, and SIGTERM
stopping it with exit 0 within drain_timeout."""

import http.client
import json
import os
import time

from common import RUN_FLAGS, TempDir, createapp, eq, run, soom
from harness import Database, free_port

DRAIN_TIMEOUT = 10  # settings.lua of a new app


def http_json(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, (json.loads(data) if data else None)


def wait_ready(port, name, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = http_json(port, "GET", "/ready")[0]
            if last == 200:
                return
        except (OSError, http.client.HTTPException) as e:
            last = e
        state = run(["podman", "inspect", "--format", "{{.State.Status}}", name])[1].strip()
        if state != "running":
            raise AssertionError("the container stopped (%s):\n%s"
                                 % (state, run(["podman", "logs", name], check=False)[2]))
        time.sleep(0.2)
    raise AssertionError("/ready never answered 200 (last: %s):\n%s"
                         % (last, run(["podman", "logs", name], check=False)[1]))


def test_image_builds_runs_and_stops():
    tag = "localhost/soomtest-demo:%d" % os.getpid()
    name = "soomtest-demo-%d" % os.getpid()
    db = Database()
    with TempDir() as root:
        app = createapp(root, "demo")
        # a native module of the app's own, built by the image's check stage
        soom("createmodule", "probe", "--dir", os.path.join(app, "modules", "probe"), cwd=root)
        settings = os.path.join(app, "settings.lua")
        with open(settings) as f:
            text = f.read()
        with open(settings, "w") as f:
            f.write(text.replace("return {\n", "return {\n    modules = { probe = { path = "
                                 "\"modules/probe/probe.so\", greeting = \"Hi\" } },\n", 1))
        t0 = time.time()
        run(["podman", "build", "--isolation", "chroot", "--pull=never", "--format", "docker",
             "-t", tag, app], timeout=600)
        print("image built in %.1fs" % (time.time() - t0))
    try:
        size = int(run(["podman", "image", "inspect", "--format", "{{.Size}}", tag])[1])
        print("image size: %.1f MB" % (size / 1e6))
        assert size < 120e6, "the image is %.1f MB (goal: under 120 MB)" % (size / 1e6)
        _, out, _ = run(["podman", "run", "--rm"] + RUN_FLAGS + ["--entrypoint", "sh", tag, "-c",
                         "for c in cc gcc clang make cmake; do command -v $c; done; id -u"],
                        check=False)
        eq(out.split(), ["10001"], "no compiler in the runtime image; the user is 10001")
        hc = run(["podman", "image", "inspect", "--format", "{{json .Config.Healthcheck}}", tag])[1]
        assert "healthcheck" in hc and "/app" in hc, hc
        env = ["-e", "DATABASE_URL=" + db.url]
        run(["podman", "run", "--rm", "--net=host", "--read-only"] + RUN_FLAGS + env
            + [tag, "migrate", "/app"], timeout=120)
        eq(db.scalar("SELECT count(*) FROM soom_migrations"), "1", "migrations applied")
        port = free_port()
        run(["podman", "run", "-d", "--name", name, "--net=host", "--read-only",
             "--tmpfs", "/tmp"] + RUN_FLAGS + env
            + ["-e", "SOOM_PORT=%d" % port, "-e", "SOOM_SECRET_KEY=test-key", tag])
        wait_ready(port, name)
        eq(http_json(port, "GET", "/live")[0], 200)
        status, obj = http_json(port, "POST", "/items", {"name": "boxed", "quantity": 7})
        eq(status, 201, "create")
        eq(http_json(port, "GET", "/items/%d" % obj["id"]), (200, obj))
        status, page = http_json(port, "GET", "/items?page_size=1")
        eq((status, page["results"][0]["id"]), (200, obj["id"]))
        eq(http_json(port, "PATCH", "/items/%d" % obj["id"], {"quantity": 8})[1]["quantity"], 8)
        eq(db.scalar("SELECT quantity FROM item WHERE id = %d" % obj["id"]), "8")
        eq(http_json(port, "DELETE", "/items/%d" % obj["id"])[0], 204)
        eq(http_json(port, "GET", "/items/%d" % obj["id"])[0], 404)
        # the module built in the image answers its own route
        eq(http_json(port, "GET", "/probe/hello/box"), (200, {"message": "Hi, box!"}))
        # PID 1 of the container is soom, running as 10001 (no user namespace)
        pid = run(["podman", "inspect", "--format", "{{.State.Pid}}", name])[1].strip()
        with open("/proc/%s/status" % pid) as f:
            status_text = f.read()
        uid = [line.split()[1:] for line in status_text.splitlines() if line.startswith("Uid:")][0]
        eq(uid, ["10001"] * 4, "real, effective, saved and filesystem uid")
        with open("/proc/%s/comm" % pid) as f:
            eq(f.read().strip(), "soom")
        run(["podman", "healthcheck", "run", name])
        # SIGTERM to PID 1: soom drains and exits 0, within drain_timeout
        t0 = time.time()
        run(["podman", "kill", "--signal", "TERM", name])
        code = run(["podman", "wait", name], timeout=DRAIN_TIMEOUT + 20)[1].strip()
        took = time.time() - t0
        print("stopped by SIGTERM in %.2fs, exit %s" % (took, code))
        eq(code, "0", "exit code after SIGTERM")
        assert took < DRAIN_TIMEOUT, "stopped in %.1fs" % took
        logs = run(["podman", "logs", name])[1].splitlines()
        access = [json.loads(line) for line in logs if line.startswith("{")]
        assert any(a.get("route") == "/items" and a.get("status") == 201 for a in access), logs
    finally:
        run(["podman", "rm", "-f", name], check=False)
        run(["podman", "rmi", "-f", tag], check=False)
        db.drop()


def main():
    from harness import main as run_all
    run_all(globals())


if __name__ == "__main__":
    main()
