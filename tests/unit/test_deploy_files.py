"""The deployment files (compose, Dockerfile, k8s, Prometheus, Grafana) agree with the code.

No Docker engine here, so these tests parse the files: every service, port and env var they name
must exist in the code, and the files must agree with each other.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import shlex
from functools import cache
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

from tests import monitoring
from wijkbus.partners import PartnerRegistryError, load_partners
from wijkbus.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = "deploy/Dockerfile"
SETTINGS = {
    "intake": "IntakeSettings",
    "routing": "RoutingSettings",
    "budget": "BudgetSettings",
    "notify": "NotifySettings",
}
SOURCE_DIRS = ("contracts", "services", "wijkbus")
Env = dict[str, str]


@cache
def compose() -> dict[str, Any]:
    """docker-compose.yml, anchors and merge keys resolved."""
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def image_services() -> dict[str, dict[str, Any]]:
    """The compose services built from deploy/Dockerfile (the four and the migrations)."""
    return {
        name: svc
        for name, svc in compose()["services"].items()
        if isinstance(svc.get("build"), dict) and svc["build"].get("dockerfile") == DOCKERFILE
    }


def app_services() -> dict[str, dict[str, Any]]:
    """The compose services that run a wijkbus service (`python -m services.<name>`)."""
    return {
        name: svc
        for name, svc in image_services().items()
        if command_of(svc)[:3] == ["python", "-m", f"services.{name}"] or name in SETTINGS
    }


def command_of(svc: dict[str, Any]) -> list[str]:
    """A compose service's or container's command as a list."""
    command = svc.get("command") or []
    return shlex.split(command) if isinstance(command, str) else list(command)


def settings_cls(service: str) -> type[ServiceSettings]:
    """The service's settings class (fails, naming it, while it does not exist yet)."""
    try:
        cls = getattr(importlib.import_module(f"services.{service}.app"), SETTINGS[service], None)
    except ImportError as exc:
        cls, why = None, f"services/{service}/app.py cannot be imported: {exc}"
    else:
        why = f"services.{service}.app has no {SETTINGS[service]}"
    if cls is None:
        pytest.fail(f"{service}: {why}")
    return cls


def default_port(service: str) -> int:
    """The port the service's settings class defaults to."""
    return int(settings_cls(service).model_fields["port"].default)


def env_file(path: Path) -> Env:
    """KEY=VALUE lines of an env file (compose env_file, kustomize configMapGenerator envs)."""
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return dict(ln.split("=", 1) for ln in lines if ln and not ln.startswith("#"))  # type: ignore[misc]


def compose_env(svc: dict[str, Any]) -> Env:
    """A compose service's environment as a dict (map or list syntax) over its env_file(s)."""
    files = svc.get("env_file") or []
    merged: Env = {}
    for f in [files] if isinstance(files, str) else files:
        merged.update(env_file(REPO / (f if isinstance(f, str) else f["path"])))
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return merged | {k: "" if v is None else str(v) for k, v in env.items()}


def compose_ports(svc: dict[str, Any]) -> list[tuple[int, int]]:
    """(published, container) pairs of a compose service, short or long syntax."""
    pairs = []
    for port in svc.get("ports", []):
        if isinstance(port, dict):
            pairs.append((int(port.get("published", port["target"])), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        pairs.append((int(parts[-2] if len(parts) > 1 else parts[-1]), int(parts[-1])))
    return pairs


@cache
def source_text() -> str:
    """All Python source of the packages the services are made of."""
    return "\n".join(p.read_text() for d in SOURCE_DIRS for p in sorted((REPO / d).rglob("*.py")))


def loads_partner_registry(service: str) -> bool:
    """Whether the service builds a partner registry."""
    return any(
        "load_partners(" in p.read_text() for p in (REPO / "services" / service).rglob("*.py")
    )


def needs_signing_secrets(service: str) -> bool:
    """Whether the service loads the registry with its signing secrets (only intake should)."""
    return loads_partner_registry(service) and not any(
        "with_secrets=False" in p.read_text() for p in (REPO / "services" / service).rglob("*.py")
    )


def nested_settings(cls: type[BaseSettings], field: str) -> type[BaseSettings] | None:
    """The settings class a field holds (e.g. kafka_security), read from its own env names."""
    kind = cls.model_fields[field].annotation
    return kind if isinstance(kind, type) and issubclass(kind, BaseSettings) else None


def setting_names(cls: type[BaseSettings]) -> dict[str, set[str]]:
    """Every setting of a class, nested settings spelled out: {dotted field: its env names}."""
    names: dict[str, set[str]] = {}
    for field in cls.model_fields:
        if inner := nested_settings(cls, field):
            names |= {f"{field}.{k}": v for k, v in setting_names(inner).items()}
        else:
            names[field] = field_env_names(cls, field)
    return names


def field_env_names(cls: type[BaseSettings], field: str) -> set[str]:
    """The env var names pydantic-settings reads a field from."""
    info = cls.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return {c for c in alias.choices if isinstance(c, str) and c.isupper()}
    if isinstance(alias, str):
        return {alias.upper()}
    return {(cls.model_config.get("env_prefix", "") + field).upper()}


def why_unread(service: str, name: str) -> str | None:
    """None if the service reads env var `name`, else why it does not."""
    cls = settings_cls(service)
    if any(name in names for names in setting_names(cls).values()):
        return None
    prefix = cls.model_config.get("env_prefix", "")
    if prefix and name.startswith(prefix):
        return f"{cls.__name__} has no field {name[len(prefix) :].lower()!r} (prefix {prefix})"
    if other := [s for s in SETTINGS if s != service and name.startswith(f"{s.upper()}_")]:
        return f"it is a setting of {other[0]}, not of {service}"
    if re.fullmatch(r"PARTNER_[A-Z0-9_]+_SECRET", name):
        if needs_signing_secrets(service):
            return None
        return f"{service} never verifies partner signatures, so it must not hold their secrets"
    if re.search(rf"\b{re.escape(name)}\b", source_text()):
        return None
    return f"no settings field reads it and {'/, '.join(SOURCE_DIRS)}/ never mention it"


def env_problems(where: str, service: str, env: Env) -> list[str]:
    """Env vars of `service` the code never reads, and required settings left unset."""
    problems = [
        f"{where}: {service} sets {n}, but {why}" for n in env if (why := why_unread(service, n))
    ]
    cls = settings_cls(service)
    for field, info in cls.model_fields.items():
        if info.is_required() and not field_env_names(cls, field) & env.keys():
            names = "/".join(sorted(field_env_names(cls, field)))
            problems.append(f"{where}: {service} needs {names} ({cls.__name__}.{field})")
    return problems


def in_repo(value: str) -> Path | None:
    """The repository file behind a path inside the image (WORKDIR /app), if it is one."""
    workdir = dockerfile_instructions("WORKDIR")[-1].rstrip("/")
    return REPO / value[len(workdir) + 1 :] if value.startswith(workdir + "/") else None


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / DOCKERFILE).read_text())
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def dockerfile_instructions(kind: str) -> list[str]:
    """The arguments of every `kind` instruction."""
    return [args for instr, args in dockerfile() if instr == kind]


def copied_sources() -> set[str]:
    """What the Dockerfile copies from the build context, as repository paths."""
    sources: set[str] = set()
    for args in dockerfile_instructions("COPY"):
        parts = json.loads(args) if args.startswith("[") else shlex.split(args)
        parts = [p for p in parts if not p.startswith("--")]
        sources.update(p.rstrip("/") for p in parts[:-1])
    return sources


def imported_local_packages() -> set[str]:
    """Top-level repository packages the services import, directly or through each other."""
    todo, seen = ["services"], {"services"}
    while todo:
        for path in (REPO / todo.pop()).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for top in {n.split(".")[0] for n in names} - seen:
                    if (REPO / top / "__init__.py").exists() or (REPO / f"{top}.py").exists():
                        seen.add(top)
                        todo.append(top)
    return seen


K8S = REPO / "deploy" / "k8s"


def kustomization() -> dict[str, Any]:
    """deploy/k8s/kustomization.yaml."""
    return dict(yaml.safe_load((K8S / "kustomization.yaml").read_text()))


@cache
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    """Every manifest under deploy/k8s and every ConfigMap kustomize generates, by (kind, name)."""
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    for gen in kustomization().get("configMapGenerator", []):
        data: Env = {}
        for f in gen.get("envs", []):
            data |= env_file(K8S / f)
        docs[("ConfigMap", gen["name"])] = {"kind": "ConfigMap", "data": data}
    return docs


def secret_ref(name: str, key: str) -> str:
    """How k8s_env shows a value taken from a Secret."""
    return f"<secret {name}/{key}>"


def k8s_env(service: str, container: dict[str, Any]) -> Env:
    """The env a k8s container gets: envFrom ConfigMaps, then env (values, or references to a
    Secret's or ConfigMap's key). A whole Secret in envFrom would hide which names it sets."""
    env: Env = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, (
            f"k8s {service}: envFrom {source}: name Secret keys one by one"
        )
        doc = k8s().get(("ConfigMap", source["configMapRef"]["name"]))
        assert doc, f"k8s {service}: envFrom names ConfigMap {source['configMapRef']['name']!r}"
        env.update({k: str(v) for k, v in doc.get("data", {}).items()})
    for e in container.get("env", []):
        ref = e.get("valueFrom", {})
        if "secretKeyRef" in ref:
            env[e["name"]] = secret_ref(ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
        elif "configMapKeyRef" in ref:
            cm = k8s().get(("ConfigMap", ref["configMapKeyRef"]["name"]), {})
            assert ref["configMapKeyRef"]["key"] in cm.get("data", {}), f"k8s {service}: {e}"
            env[e["name"]] = str(cm["data"][ref["configMapKeyRef"]["key"]])
        else:
            env[e["name"]] = str(e.get("value", ""))
    return env


def test_compose_runs_exactly_the_four_services_from_their_modules() -> None:
    """The compose app services are the four `python -m services.<name>` modules."""
    services = app_services()
    assert set(services) == set(SETTINGS), (
        f"compose app services {sorted(services)} != {sorted(SETTINGS)}"
    )
    for name, svc in services.items():
        command = command_of(svc)
        assert command == ["python", "-m", f"services.{name}"], f"compose {name}: command {command}"
        assert (REPO / "services" / name / "__main__.py").exists(), (
            f"compose {name}: no services/{name}/__main__.py"
        )
        for dep in ("kafka", "postgres"):
            cond = (svc.get("depends_on") or {}).get(dep, {}).get("condition")
            assert cond == "service_healthy", (
                f"compose {name}: depends_on {dep} is not service_healthy"
            )
            assert "healthcheck" in compose()["services"][dep], f"compose {dep}: no healthcheck"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_compose_ports_are_the_settings_defaults(service: str) -> None:
    """Published and container port, and <SVC>_PORT, equal the settings class default."""
    port, svc = default_port(service), app_services()[service]
    env = compose_env(svc)
    assert compose_ports(svc) == [(port, port)], (
        f"compose {service}: ports {svc.get('ports')} != {port}"
    )
    assert env.get(f"{service.upper()}_PORT") == str(port), (
        f"compose {service}: {service.upper()}_PORT != {port}"
    )
    host = env.get(f"{service.upper()}_HOST", "127.0.0.1")
    assert ip_address(host).is_unspecified, (
        f"compose {service}: {service.upper()}_HOST={host} listens inside the container only"
    )


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_compose_env_vars_are_read_by_the_code(service: str) -> None:
    """Every env var compose sets is read by the service; every required setting is set."""
    problems = env_problems("compose", service, compose_env(app_services()[service]))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_compose_files_exist_and_partner_registry_loads(service: str) -> None:
    """Path settings point at files in the repo; a service that loads the registry can load it."""
    svc, env = app_services()[service], compose_env(app_services()[service])
    for volume in svc.get("volumes", []):
        host = str(volume).split(":")[0]
        assert (REPO / host).exists(), f"compose {service}: mounts {host}, which does not exist"
    for name, value in env.items():
        path = in_repo(value)
        assert path is None or path.is_file(), f"compose {service}: {name}={value}: no {path}"
    if loads_partner_registry(service):
        try:
            load_partners(
                in_repo(env["WIJKBUS_PARTNERS"]),  # type: ignore[arg-type]
                env=env,
                with_secrets=needs_signing_secrets(service),
            )
        except PartnerRegistryError as exc:
            pytest.fail(f"compose {service}: the registry does not load with its env: {exc}")


def test_dockerfile_builds_one_image_for_every_service() -> None:
    """The Dockerfile copies every package the services import and installs with constraints."""
    copied = copied_sources()
    missing = imported_local_packages() - copied
    assert not missing, f"{DOCKERFILE} does not copy {sorted(missing)}, which the services import"
    assert {"pyproject.toml", "constraints.txt"} <= copied, f"{DOCKERFILE} must copy both"
    assert any("pip install -c constraints.txt ." in run for run in dockerfile_instructions("RUN"))
    assert dockerfile_instructions("FROM") == ["python:3.11-slim"]
    user = dockerfile_instructions("USER")[-1].split(":")[0]
    assert user not in ("root", "0"), f"{DOCKERFILE}: runs as {user}"
    assert json.loads(dockerfile_instructions("CMD")[-1]) == ["python", "-m", "services.intake"]
    health = dockerfile_instructions("HEALTHCHECK")[-1]
    assert "/healthz" in health
    for service in SETTINGS:
        assert f"{service.upper()}_PORT" in health, f"{DOCKERFILE}: HEALTHCHECK ignores {service}"
    ignore = [ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()]
    if "*" in ignore:
        for src in copied:
            assert f"!{src}" in ignore or f"!{src}/" in ignore, f".dockerignore excludes {src}"


def test_k8s_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml names every manifest in deploy/k8s, and nothing else."""
    listed = set(kustomization()["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present, f"kustomization resources {sorted(listed)} != files {sorted(present)}"
    generated = {f for gen in kustomization()["configMapGenerator"] for f in gen["envs"]}
    assert generated == {f"settings/{p.name}" for p in (K8S / "settings").glob("*.env")}


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_k8s_matches_compose_and_code(service: str) -> None:
    """Deployment and Service use the settings port, the probes, and compose's env var names."""
    port, where = default_port(service), f"k8s {service}"
    deployment, svc = k8s().get(("Deployment", service)), k8s().get(("Service", service))
    assert deployment and svc, f"{where}: needs a Deployment and a Service named {service}"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert list(named.values()) == [port], (
        f"{where}: containerPort {list(named.values())} != {port}"
    )
    assert container["command"] == ["python", "-m", f"services.{service}"], f"{where}: command"
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{where}: {probe} path {get['path']} != {path}"
        assert named.get(get["port"], get["port"]) == port, f"{where}: {probe} port {get['port']}"
    for p in svc["spec"]["ports"]:
        assert p["port"] == port, f"{where}: Service port {p['port']} != {port}"
        assert named.get(p["targetPort"], p["targetPort"]) == port, f"{where}: Service targetPort"
    env, from_compose = k8s_env(service, container), compose_env(app_services()[service])
    assert set(env) == set(from_compose), (
        f"{where}: env differs from compose: only k8s {sorted(set(env) - set(from_compose))}, "
        f"only compose {sorted(set(from_compose) - set(env))}"
    )
    for name, value in env.items():
        if name in (f"{service.upper()}_HOST", f"{service.upper()}_PORT") or in_repo(value):
            assert value == from_compose[name], (
                f"{where}: {name}={value!r}, compose has {from_compose[name]!r}"
            )
    problems = env_problems("k8s", service, env)
    assert not problems, "\n".join(problems)


def test_prometheus_scrapes_the_compose_services() -> None:
    """deploy/prometheus.yml scrapes exactly the four compose services on their ports."""
    config = yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())
    targets = {
        t
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for sc in job.get("static_configs", [])
        for t in sc["targets"]
    }
    expected = {f"{name}:{compose_ports(svc)[0][1]}" for name, svc in app_services().items()}
    assert targets == expected, (
        f"prometheus: unknown targets {sorted(targets - expected)}, "
        f"missing {sorted(expected - targets)}"
    )
    prometheus = compose()["services"]["prometheus"]
    assert "monitoring" in prometheus.get("profiles", []), (
        "compose prometheus: not in profile monitoring"
    )
    assert any(v.startswith("./deploy/prometheus.yml:") for v in prometheus["volumes"])


def test_grafana_dashboard_queries_metrics_the_code_exports() -> None:
    """Every wijkbus_* metric the Grafana dashboard queries is defined in the code (that they are
    really exported after a run: tests/e2e/test_metrics_and_logs.py)."""
    grafana = REPO / "deploy" / "grafana"
    uids = {
        ds["uid"]
        for p in (grafana / "provisioning" / "datasources").glob("*.yaml")
        for ds in yaml.safe_load(p.read_text())["datasources"]
    }
    for path in sorted((grafana / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["datasource"]["uid"] in uids, (
                f"{path.name}: {panel['title']}: unknown datasource"
            )
    for where, expr in monitoring.queries():
        for metric in monitoring.metric_names(expr) - monitoring.PROMETHEUS_OWN:
            family = re.sub(r"_(bucket|count|sum)$", "", metric)
            assert f'"{family}"' in source_text(), f"{where}: no metric {metric} in the code"


def test_prometheus_loads_alert_rules_for_what_must_never_go_unnoticed() -> None:
    """deploy/prometheus.yml loads deploy/alerts.yml, whose rules are complete and cover a
    service down, consumer lag, dead letters, SLA breaches and outbox lag."""
    [path] = monitoring.rule_files()
    assert path == REPO / "deploy" / "alerts.yml"
    rules = [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]
    for rule in rules:
        assert {"alert", "expr", "labels", "annotations"} <= rule.keys(), rule
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"].get("summary"), rule["alert"]
    used = {name for r in rules for name in monitoring.metric_names(r["expr"])}
    for needed in (
        "up",
        "wijkbus_consumer_lag",
        "wijkbus_dead_letters_total",
        "wijkbus_notify_dead_letters_total",
        "wijkbus_routing_late_assignments",
        "wijkbus_outbox_lag_seconds",
    ):
        assert needed in used, f"no alert rule reads {needed}"


# Settings no deployment sets, and why: the test holds every other one to compose and k8s.
NOT_DEPLOYED = {
    "service_name": "names the service's schema and consumer groups: never changed",
    "group_prefix": "tests give their consumer groups a prefix of their own",
    "event_topics": "notify's inputs are the contract's internal topics, not a deployment choice",
}
SECRET_NAMES = {
    "DATABASE_URL",
    "WIJKBUS_OPERATOR_TOKEN",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "WIJKBUS_OIDC_CLIENT_SECRET",
}


def secret_env_names(service: str) -> set[str]:
    """The env names whose values are secrets: SecretStr fields, credentials, partner keys."""
    cls = settings_cls(service)
    secret = {
        n
        for f, info in cls.model_fields.items()
        if "SecretStr" in str(info.annotation)
        for n in field_env_names(cls, f)
    }
    partner = {n for n in compose_env(app_services()[service]) if n.startswith("PARTNER_")}
    return secret | partner | SECRET_NAMES


def deployed_env(where: str, service: str) -> Env:
    """The service's env in compose or k8s."""
    if where == "compose":
        return compose_env(app_services()[service])
    (container,) = k8s()[("Deployment", service)]["spec"]["template"]["spec"]["containers"]
    return k8s_env(service, container)


@pytest.mark.parametrize("where", ["compose", "k8s"])
@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_setting_the_service_reads_is_set(where: str, service: str) -> None:
    """Each field of the settings class (nested TLS/SASL settings too) has a value there."""
    env = deployed_env(where, service)
    missing = [
        f"{field} ({'/'.join(sorted(names))})"
        for field, names in setting_names(settings_cls(service)).items()
        if field not in NOT_DEPLOYED and not names & env.keys()
    ]
    assert not missing, f"{where} {service} does not set: " + ", ".join(missing)


def example_value(value: str, name: str) -> str:
    """What the service sees for a compose/k8s value: an interpolation's default, or a stand-in
    for a secret it is not given here."""
    if value.startswith("<secret "):
        return "x" * 32
    match = re.fullmatch(r"\$\{(\w+)(?::?([-?])(.*))?\}", value)
    if not match:
        return value
    return match[3] if match[2] == "-" else "x" * 32


@pytest.mark.parametrize("where", ["compose", "k8s"])
@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_the_deployed_values_are_valid_settings(
    where: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings class accepts every value compose and k8s give it (JSON, booleans, modes)."""
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "DATABASE_", "WIJKBUS_", f"{service.upper()}_")):
            monkeypatch.delenv(name)
    for name, value in deployed_env(where, service).items():
        monkeypatch.setenv(name, example_value(value, name))
    try:
        settings_cls(service)()
    except ValidationError as exc:
        pytest.fail(f"{where} {service}: {exc}")


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_secrets_are_referenced_never_inlined(service: str) -> None:
    """k8s takes every secret from a Secret by key and defines no Secret; compose interpolates."""
    assert not [k for k in k8s() if k[0] == "Secret"], "deploy/k8s must not hold Secrets"
    k8s_values, compose_values = deployed_env("k8s", service), deployed_env("compose", service)
    for name in secret_env_names(service) & k8s_values.keys():
        assert k8s_values[name].startswith("<secret "), f"k8s {service}: {name} is inlined"
        assert "${" in compose_values[name], f"compose {service}: {name} is inlined"


def test_migrations_run_once_before_the_services() -> None:
    """A one-shot compose service and a k8s Job run `migrate`, which the CLI has, with only
    the database settings; every compose service waits for it to succeed."""
    from tools.cli import app as cli

    assert "migrate" in {c.name or c.callback.__name__ for c in cli.registered_commands}  # type: ignore[union-attr]
    migrate = image_services()["migrate"]
    assert command_of(migrate) == ["python", "-m", "tools", "migrate"]
    assert migrate.get("restart") == "no"
    for name, svc in app_services().items():
        cond = svc["depends_on"].get("migrate", {}).get("condition")
        assert cond == "service_completed_successfully", f"compose {name}: not after migrate"
    job = k8s()[("Job", "wijkbus-migrate")]["spec"]["template"]["spec"]
    (container,) = job["containers"]
    assert container["command"] == command_of(migrate) and job["restartPolicy"] == "Never"
    names = {"DATABASE_URL", "DATABASE_SSLMODE", "DATABASE_SSLROOTCERT"}
    assert set(k8s_env("migrate", container)) == set(compose_env(migrate)) == names
    assert k8s_env("migrate", container)["DATABASE_URL"].startswith("<secret ")


def pods_of(selector: dict[str, Any]) -> set[str]:
    """The Deployments (and the Job) whose pods a label selector picks."""
    picked = set()
    for (kind, name), doc in k8s().items():
        if kind not in ("Deployment", "Job"):
            continue
        labels = doc["spec"]["template"]["metadata"]["labels"]
        if all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()) and all(
            labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", [])
        ):
            picked.add(name)
    return picked


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_k8s_keeps_a_replica_through_disruptions(service: str) -> None:
    """Two replicas and a PodDisruptionBudget that takes at most one of them at a time."""
    deployment = k8s()[("Deployment", service)]
    pdbs = [d for (k, _), d in k8s().items() if k == "PodDisruptionBudget"]
    (pdb,) = [d for d in pdbs if service in pods_of(d["spec"]["selector"])]
    assert deployment["spec"]["replicas"] >= 2 and pdb["spec"].get("maxUnavailable") == 1


def test_k8s_network_policies_deny_by_default_and_admit_each_service() -> None:
    """A default deny over every wijkbus pod; each service's http port is let in from somewhere."""
    policies = [d for (k, _), d in k8s().items() if k == "NetworkPolicy"]
    deny = [
        p
        for p in policies
        if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny and pods_of(deny[0]["spec"]["podSelector"]) == set(SETTINGS) | {"wijkbus-migrate"}
    for service in SETTINGS:
        admitted = [
            rule
            for p in policies
            if service in pods_of(p["spec"]["podSelector"])
            for rule in p["spec"].get("ingress", [])
            if {"port": "http"} in rule.get("ports", [])
        ]
        assert admitted, f"k8s: nothing may reach {service}'s http port"


def test_k8s_ingress_serves_every_host_over_tls_to_real_services() -> None:
    """Every Ingress host is in its TLS section; every backend is a Service's named port."""
    (ingress,) = [d for (k, _), d in k8s().items() if k == "Ingress"]
    tls_hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"] if t.get("secretName")}
    backends = set()
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts, f"ingress: {rule['host']} without TLS"
        for path in rule["http"]["paths"]:
            service = path["backend"]["service"]
            ports = {p["name"] for p in k8s()[("Service", service["name"])]["spec"]["ports"]}
            assert service["port"]["name"] in ports
            backends.add(service["name"])
    assert backends == set(SETTINGS)
