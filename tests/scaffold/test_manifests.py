"""The files createapp writes for the tools a service runs with, read by
those tools' own validators: the Kubernetes manifests against the
Kubernetes schemas (kubectl kustomize, then kubernetes-models), the CI
workflow against GitHub Actions' schema (action-validator), the compose file
against the compose specification's schema and by podman-compose. Each
validator is also shown to refuse a broken file, so a pass means something."""

import os
import re
import shutil

from common import TempDir, createapp, eq, npm_bin, read, run, validate

K8S_FILES = ["configmap.yaml", "deployment.yaml", "hpa.yaml", "migrate-job.yaml", "pdb.yaml",
             "secret.example.yaml", "service.yaml"]


def kustomize(app):
    _, out, _ = run(["kubectl", "kustomize", os.path.join(app, "deploy", "k8s")])
    _, docs, _ = validate("k8s", "-", input=out)
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def by_kind(docs, kind):
    found = [d for (k, _), d in docs.items() if k == kind]
    eq(len(found), 1, kind)
    return found[0]


def check_deployment(docs, app_name):
    dep = by_kind(docs, "Deployment")
    config = by_kind(docs, "ConfigMap")
    pod = dep["spec"]["template"]
    spec = pod["spec"]
    (c,) = spec["containers"]
    eq(c["image"], app_name + ":latest", "the image kustomize sets")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    eq(ports, {"http": 8000, "metrics": 9100})
    eq(c["livenessProbe"]["httpGet"]["path"], "/live")
    eq(c["readinessProbe"]["httpGet"]["path"], "/ready")
    eq(c["startupProbe"]["httpGet"]["path"], "/live")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] in ports, probe
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert c["resources"]["limits"]["memory"]
    eq(spec["securityContext"]["runAsNonRoot"], True)
    eq(spec["securityContext"]["runAsUser"], 10001, "the image's user")
    eq(c["securityContext"]["readOnlyRootFilesystem"], True)
    eq(c["securityContext"]["allowPrivilegeEscalation"], False)
    eq(c["securityContext"]["capabilities"]["drop"], ["ALL"])
    drain = float(config["data"]["SOOM_DRAIN_TIMEOUT"])
    pre_stop = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    assert spec["terminationGracePeriodSeconds"] > drain + pre_stop, \
        "the grace period outlasts the preStop pause and the drain"
    ann = pod["metadata"]["annotations"]
    eq((ann["prometheus.io/scrape"], ann["prometheus.io/port"], ann["prometheus.io/path"]),
       ("true", str(ports["metrics"]), "/metrics"))
    eq(config["data"]["SOOM_METRICS__PORT"], str(ports["metrics"]))
    refs = {list(r.keys())[0]: list(r.values())[0]["name"] for r in c["envFrom"]}
    eq(refs["configMapRef"], config["metadata"]["name"])
    eq(refs["secretRef"], app_name + "-secrets")
    labels = pod["metadata"]["labels"]
    eq(dep["spec"]["selector"]["matchLabels"], labels)
    svc = by_kind(docs, "Service")
    eq(svc["spec"]["selector"], labels)
    eq(svc["spec"]["ports"][0]["targetPort"], "http")
    hpa = by_kind(docs, "HorizontalPodAutoscaler")
    eq(hpa["spec"]["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": dep["metadata"]["name"]})
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    pdb = by_kind(docs, "PodDisruptionBudget")
    eq(pdb["spec"]["selector"]["matchLabels"], labels)
    return c


def test_kubernetes_manifests_validate():
    with TempDir() as root:
        app = createapp(root, "my_service")
        k8s = os.path.join(app, "deploy", "k8s")
        for name in K8S_FILES:
            validate("k8s", os.path.join(k8s, name))
        docs = kustomize(app)
        eq(sorted(k for k, _ in docs), ["ConfigMap", "Deployment", "HorizontalPodAutoscaler",
                                        "Job", "PodDisruptionBudget", "Service"])
        c = check_deployment(docs, "my-service")
        job = by_kind(docs, "Job")
        (m,) = job["spec"]["template"]["spec"]["containers"]
        eq((m["image"], m["args"]), (c["image"], ["migrate", "/app"]))
        eq(m["envFrom"], c["envFrom"])
        # the Secret example is valid but kept out of what is applied
        _, (secret,), _ = validate("k8s", os.path.join(k8s, "secret.example.yaml"))
        eq(secret["metadata"]["name"], "my-service-secrets")
        assert {"DATABASE_URL", "SOOM_SECRET_KEY", "SENTRY_DSN"} <= set(secret["stringData"])
        # the validator refuses a wrong manifest
        bad = os.path.join(root, "bad.yaml")
        with open(bad, "w") as f:
            f.write(read(os.path.join(k8s, "deployment.yaml"))
                    .replace("containerPort: 8000", 'containerPort: "eight thousand"'))
        code, _, err = validate("k8s", bad, check=False)
        eq(code, 1)
        assert "containerPort" in err, err


def test_kubernetes_manifests_without_database():
    with TempDir() as root:
        app = createapp(root, "plain", "--no-db")
        docs = kustomize(app)
        eq(sorted(k for k, _ in docs), ["ConfigMap", "Deployment", "HorizontalPodAutoscaler",
                                        "PodDisruptionBudget", "Service"])
        check_deployment(docs, "plain")
        _, (secret,), _ = validate("k8s", os.path.join(app, "deploy/k8s/secret.example.yaml"))
        eq(set(secret["stringData"]), {"SENTRY_DSN"})


def test_workflow_validates():
    validator = npm_bin("action-validator")
    with TempDir() as root:
        for args in ((), ("--no-db",)):
            app = createapp(root, "svc" + str(len(args)), *args)
            wf = os.path.join(app, ".github", "workflows", "ci.yml")
            run([validator, wf])
            text = read(wf)
            for step in ("luacheck .", "soom check .", "soom test .", "docker build"):
                assert step in text, step
            eq("postgres:15" in text, not args, "a PostgreSQL service with the database")
        bad = os.path.join(root, "bad.yml")
        with open(bad, "w") as f:
            f.write(read(wf).replace("runs-on:", "runs_on:"))
        code, out, err = run([validator, bad], check=False)
        assert code != 0 and "runs_on" in out + err, out + err


def compose_dry_run(app, project):
    """podman-compose reads the file and prints the podman commands of `up`
    without starting anything (it does create the project's network and
    volumes, removed here)."""
    try:
        _, out, err = run(["podman-compose", "-p", project, "--dry-run", "up"], cwd=app)
    finally:
        run(["podman", "volume", "rm", "-f", project + "_db-data"], check=False)
        run(["podman", "network", "rm", "-f", project + "_default"], check=False)
    return [line for line in out.splitlines() if line.startswith("podman create ")]


def test_compose_file_validates_and_reads():
    with TempDir() as root:
        app = createapp(root, "demo")
        _, (doc,), _ = validate("compose", os.path.join(app, "compose.yaml"))
        services = doc["services"]
        eq(sorted(services), ["app", "db", "migrate", "prometheus"])
        eq(services["db"]["image"], "docker.io/library/postgres:15")
        assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
        eq(services["migrate"]["depends_on"], {"db": {"condition": "service_healthy"}})
        eq(services["migrate"]["command"], ["migrate", "/app"])
        eq(services["app"]["depends_on"],
           {"migrate": {"condition": "service_completed_successfully"}})
        eq(services["app"]["environment"]["SOOM_METRICS__PORT"], "9100")
        assert "SENTRY_DSN" in services["app"]["environment"]
        prom = read(os.path.join(app, "deploy", "prometheus", "prometheus.yml"))
        assert 'targets: ["app:9100"]' in prom, prom
        created = compose_dry_run(app, "soomscaffold%d" % os.getpid())
        names = [re.search(r"--name=(\S+)", line).group(1) for line in created]
        eq([n.split("_")[1] for n in names], ["db", "migrate", "app", "prometheus"],
           "created in dependency order")
        app_line = created[2]
        assert "-e DATABASE_URL=postgresql://demo:demo@db:5432/demo" in app_line, app_line
        assert "-p 8000:8000" in app_line, app_line
        # the schema refuses a misspelt key
        bad = os.path.join(root, "bad.yaml")
        with open(bad, "w") as f:
            f.write(read(os.path.join(app, "compose.yaml"))
                    .replace("restart: unless-stopped", "restrt: unless-stopped"))
        code, _, err = validate("compose", bad, check=False)
        eq(code, 1)
        assert "restrt" in err, err


def test_compose_file_without_database():
    with TempDir() as root:
        app = createapp(root, "plain", "--no-db")
        _, (doc,), _ = validate("compose", os.path.join(app, "compose.yaml"))
        eq(sorted(doc["services"]), ["app", "prometheus"])
        assert "volumes" not in doc


def test_prometheus_config_is_read_by_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: .ci/setup installs prometheus"
    with TempDir() as root:
        app = createapp(root, "demo")
        code, out, err = run([promtool, "check", "config",
                              os.path.join(app, "deploy", "prometheus", "prometheus.yml")])
        assert "SUCCESS" in out + err, out + err


def main():
    from harness import main as run_all
    run_all(globals())


if __name__ == "__main__":
    main()
