"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The file is parsed as YAML and held against the code it deploys: settings names, CLI
subcommands, search attributes, agreement files, packages. When Debian's `docker-compose`
(1.29) is installed it also validates the file offline with `config -q`.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from slaflow.agreement_file import load_agreement_set
from slaflow.api_tokens import new_token
from slaflow.search_attributes import dev_server_flags
from slaflow.secret_policy import refuse_weak_secrets
from slaflow.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_DIR = "/app"  # WORKDIR of the image

_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


REQUIRED_FROM_SHELL = {
    "SLAFLOW_API_TOKENS": json.dumps({new_token(): "admin"}),
    "POSTGRES_PASSWORD": secrets.token_urlsafe(32),
    "TEMPORAL_DB_PASSWORD": secrets.token_urlsafe(32),
    "SLAFLOW_DB_PASSWORD": secrets.token_urlsafe(32),
    "SLAFLOW_SLACK_BOT_TOKEN": "xoxb-" + secrets.token_urlsafe(32),
    "SLAFLOW_SLACK_SIGNING_SECRET": secrets.token_hex(16),
    "SLAFLOW_SESSION_SECRET": secrets.token_urlsafe(32),
}
"""Variables the file demands (`${VAR:?message}`, no default), as an operator would set them:
made here at random, so no value written in the repository passes."""

SECRET_VARIABLE = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY")


def _interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` with every variable unset: the file's own defaults (and the
    required ones as in REQUIRED_FROM_SHELL)."""
    text = _VARIABLE.sub(
        lambda m: (
            m.group(3) if m.group(2) in ("-", ":-") else REQUIRED_FROM_SHELL.get(m.group(1), "")
        ),
        value,
    )
    return text.replace("$$", "$")


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): _interpolate(str(v)) for k, v in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _depends_on(service: dict[str, Any]) -> list[str]:
    depends = service.get("depends_on") or []
    return list(depends)  # list form, or the keys of the mapping form


def _replicas(service: dict[str, Any]) -> int:
    replicas = (service.get("deploy") or {}).get("replicas", service.get("scale", 1))
    return int(replicas)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), "docker-compose.yml is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def slaflow_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services running the project's image: built here, started with `slaflow ...`."""
    found = {
        name: s for name, s in services.items() if _command(s)[:1] == ["slaflow"] or "build" in s
    }
    assert found, "no service runs slaflow"
    return found


def test_every_service_has_an_image_or_a_build(services: dict[str, dict[str, Any]]) -> None:
    missing = [name for name, s in services.items() if "image" not in s and "build" not in s]
    assert not missing, f"services without image or build: {missing}"


def test_every_depends_on_target_exists(services: dict[str, dict[str, Any]]) -> None:
    dangling = {
        name: target
        for name, s in services.items()
        for target in _depends_on(s)
        if target not in services
    }
    assert not dangling, f"depends_on names services that do not exist: {dangling}"


def test_the_expected_services_exist(services: dict[str, dict[str, Any]]) -> None:
    for name in ("postgresql", "temporal", "temporal-ui", "api"):
        assert name in services, f"no {name} service"
    assert str(services["postgresql"]["image"]).startswith("postgres:")
    assert str(services["temporal"]["image"]).startswith("temporalio/server:")
    assert str(services["temporal-ui"]["image"]).startswith("temporalio/ui:")
    mail = [n for n, s in services.items() if re.search(r"mailpit|mailhog", str(s.get("image")))]
    assert mail, "no mail server (Mailpit) service"
    workers = sum(_replicas(s) for s in services.values() if _command(s) == ["slaflow", "worker"])
    assert workers >= 2, f"{workers} worker process(es); the stack should run at least two"
    assert _command(services["api"]) == ["slaflow", "api"]


def test_temporal_runs_on_postgresql_after_schema_setup(
    services: dict[str, dict[str, Any]],
) -> None:
    temporal = services["temporal"]
    assert _environment(temporal)["DB"] == "postgres12"
    setup = [
        name
        for name, condition in (temporal.get("depends_on") or {}).items()
        if str(services[name].get("image", "")).startswith("temporalio/admin-tools:")
        and condition.get("condition") == "service_completed_successfully"
    ]
    assert setup, "temporal must wait for the admin-tools schema setup to complete"
    script = (ROOT / "deploy/temporal/scripts/setup-schema.sh").read_text(encoding="utf-8")
    for needle in ("setup-schema", "update-schema", "postgresql/v12", "temporal_visibility"):
        assert needle in script


def test_search_attributes_match_the_code(services: dict[str, dict[str, Any]]) -> None:
    declared = [
        _environment(s)["SEARCH_ATTRIBUTES"]
        for s in services.values()
        if "SEARCH_ATTRIBUTES" in _environment(s)
    ]
    assert len(declared) == 1, "one service should register the search attributes"
    expected = set(dev_server_flags()[1::2])  # "SlaCustomer=Keyword", ...
    assert set(declared[0].split()) == expected


def test_slaflow_environment_names_are_settings_fields(
    services: dict[str, dict[str, Any]],
) -> None:
    unknown = {
        f"{name}: {key}"
        for name, s in services.items()
        for key in _environment(s)
        if key.startswith("SLAFLOW_")
        and key.removeprefix("SLAFLOW_").lower() not in Settings.model_fields
    }
    assert not unknown, f"SLAFLOW_* names that are no Settings field: {sorted(unknown)}"


def test_slaflow_environment_builds_valid_settings(
    slaflow_services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, service in slaflow_services.items():
        for key in list(os.environ):
            if key.startswith("SLAFLOW_"):
                monkeypatch.delenv(key)
        env = _environment(service)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)
        assert settings.temporal_address == "temporal:7233", name
        assert settings.database_url.startswith("postgresql+psycopg://"), name
        assert settings.smtp_host == "mailpit", name
        assert settings.environment == "production", name
        if _command(service)[1:] in (["api"], ["worker"]):  # the processes that serve
            refuse_weak_secrets(settings, "api" if _command(service)[1] == "api" else "worker")
        assert settings.agreement_file.is_absolute(), name
        relative = settings.agreement_file.relative_to(APP_DIR)
        load_agreement_set(ROOT / relative)  # the files exist in the image and validate


def _subcommands(command: object) -> dict[str, object]:
    """A click group's subcommands by name (Typer vendors its own click, so no isinstance)."""
    commands = getattr(command, "commands", None)
    return dict(commands) if isinstance(commands, dict) else {}


def test_slaflow_commands_are_cli_subcommands(
    slaflow_services: dict[str, dict[str, Any]],
) -> None:
    try:
        cli = importlib.import_module("starter.cli")
    except Exception as exc:  # the compose file names commands of a CLI that must exist
        pytest.fail(f"cannot import the CLI module starter.cli: {exc!r}")
    top = _subcommands(typer.main.get_command(cli.app))
    assert top, "the slaflow CLI should have subcommands"
    for name, service in slaflow_services.items():
        command = _command(service)
        assert command[:1] == ["slaflow"] and len(command) >= 2, f"{name}: {command}"
        assert command[1] in top, f"{name}: `slaflow {command[1]}` is not one of {sorted(top)}"
        nested = _subcommands(top[command[1]])
        if nested and len(command) > 2 and not command[2].startswith("-"):
            assert command[2] in nested, (
                f"{name}: `slaflow {command[1]} {command[2]}` is not one of {sorted(nested)}"
            )


def test_the_api_is_published_and_health_checked(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    assert "8000" in _published_ports(api)
    assert "/healthz" in str(api["healthcheck"]["test"])


def _published_ports(service: dict[str, Any]) -> list[str]:
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                ports.append(f"{entry.get('host_ip', '')}:{entry['published']}".lstrip(":"))
            continue
        parts = _interpolate(str(entry)).split("/")[0].split(":")
        if len(parts) >= 2:  # "host:container" or "ip:host:container"
            ports.append(":".join(parts[:-1]))
    return ports


def test_published_ports_are_unique(services: dict[str, dict[str, Any]]) -> None:
    published = [
        (port, name) for name, s in services.items() for port in _published_ports(s) for _ in [0]
    ]
    seen: dict[str, str] = {}
    for port, name in published:
        host_port = port.rsplit(":", 1)[-1]
        assert host_port not in seen, f"port {host_port} published by {seen[host_port]} and {name}"
        seen[host_port] = name


def test_bind_mounts_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: mounts missing {source}"


def test_dockerfile_installs_the_project() -> None:
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    instructions = [(line.split()[0].upper(), line.split()[1:]) for line in lines]
    assert instructions[0] == ("FROM", ["python:3.11-slim"])
    assert not any(op == "ENTRYPOINT" for op, _ in instructions), (
        "compose's command needs no ENTRYPOINT"
    )
    assert any(
        op == "RUN" and re.search(r"pip install (\S+ )*\.(\s|$)", " ".join(a) + " ")
        for op, a in instructions
    ), "the image must `pip install .`"
    users = [args[0] for op, args in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    workdirs = [args[0] for op, args in instructions if op == "WORKDIR"]
    assert workdirs[-1] == APP_DIR

    copied: set[str] = set()
    for op, args in instructions:
        if op == "COPY":
            sources = [a for a in args[:-1] if not a.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY of missing {source}"
                copied.add(source.rstrip("/"))
    assert "agreements" in copied, "the agreement files must be in the image"

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools_config = project["tool"]["setuptools"]
    patterns = setuptools_config["packages"]["find"]["include"]
    packages = {
        path.name
        for path in ROOT.iterdir()
        if (path / "__init__.py").is_file()
        and any(re.fullmatch(p.replace("*", ".*"), path.name) for p in patterns)
    }
    modules = {f"{m}.py" for m in setuptools_config.get("py-modules", [])}
    missing = (packages | modules | {"pyproject.toml"}) - copied
    assert not missing, f"the Dockerfile does not copy {sorted(missing)} before `pip install .`"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_validates_the_file() -> None:
    binary = shutil.which("docker-compose")
    assert binary is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLAFLOW_", "COMPOSE_"))}
    env.update(REQUIRED_FROM_SHELL)
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr or result.stdout


# ----- migrations, metrics, logs (production shape of issue 7) ---------------------------------


def _runs(service: dict[str, Any], *command: str) -> bool:
    return _command(service)[: len(command)] == list(command)


def test_a_one_shot_migration_runs_before_workers_and_api(
    services: dict[str, dict[str, Any]], slaflow_services: dict[str, dict[str, Any]]
) -> None:
    migrators = [name for name, s in services.items() if _runs(s, "slaflow", "db", "upgrade")]
    assert len(migrators) == 1, "one service should run `slaflow db upgrade`"
    [migrate] = migrators
    assert "on-failure" in str(services[migrate].get("restart")), "a one-shot, retried"
    assert "postgresql" in _depends_on(services[migrate])
    long_running = [
        name
        for name, s in slaflow_services.items()
        if _runs(s, "slaflow", "worker") or _runs(s, "slaflow", "api")
    ]
    assert len(long_running) >= 3
    for name in long_running:
        condition = (services[name].get("depends_on") or {}).get(migrate) or {}
        assert condition.get("condition") == "service_completed_successfully", (
            f"{name} must wait for {migrate} to finish"
        )
        env = _environment(services[name])
        assert env.get("SLAFLOW_DB_AUTO_MIGRATE") == "false", (
            f"{name}: production migrates in {migrate}, not at every start"
        )
        assert env.get("SLAFLOW_LOG_FORMAT") == "json", f"{name}: logs should be JSON lines"


def test_workers_expose_both_metrics_ports_and_prometheus_scrapes_them(
    services: dict[str, dict[str, Any]],
) -> None:
    workers = {n: s for n, s in services.items() if _command(s) == ["slaflow", "worker"]}
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text("utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {
        name: {t for group in job.get("static_configs", []) for t in group["targets"]}
        for name, job in jobs.items()
    }
    for name, worker in workers.items():
        env = _environment(worker)
        settings = Settings(
            _env_file=None,
            worker_metrics_port=env["SLAFLOW_WORKER_METRICS_PORT"],
            temporal_metrics_port=env["SLAFLOW_TEMPORAL_METRICS_PORT"],
            metrics_host=env["SLAFLOW_METRICS_HOST"],
        )
        assert settings.metrics_host == "0.0.0.0", f"{name}: metrics must be reachable"
        exposed = {str(port) for port in worker.get("expose") or []}
        host = worker.get("hostname", name)
        for port, job in (
            (settings.worker_metrics_port, "slaflow-worker"),
            (settings.temporal_metrics_port, "temporal-sdk"),
        ):
            assert str(port) in exposed, f"{name} does not expose {port}"
            assert f"{host}:{port}" in targets[job], f"Prometheus job {job} misses {host}:{port}"
    api_job = jobs["slaflow-api"]
    assert api_job.get("metrics_path", "/metrics") == "/metrics"
    assert targets["slaflow-api"] == {"api:8000"}
    assert api_job["authorization"]["type"] == "Bearer"
    assert api_job["authorization"]["credentials_file"].startswith("/etc/prometheus/")
    every_target = {t.split(":")[0] for group in targets.values() for t in group}
    hostnames = {s.get("hostname", n) for n, s in services.items()}
    assert every_target <= hostnames, f"scrape targets that are no service: {every_target}"


def test_prometheus_mounts_the_scrape_config(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    assert str(prometheus["image"]).startswith("prom/prometheus:")
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "observability" in prometheus.get("profiles", []), "optional, behind a profile"


def test_the_metrics_route_exists_in_the_api() -> None:
    from starter.api.main import create_app

    app = create_app(Settings(_env_file=None))
    assert "/metrics" in app.openapi()["paths"]


def test_the_image_exposes_the_metrics_ports() -> None:
    exposed = {
        port
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.startswith("EXPOSE")
        for port in line.split()[1:]
    }
    defaults = Settings(_env_file=None)
    assert {"8000", str(defaults.worker_metrics_port), str(defaults.temporal_metrics_port)} <= (
        exposed
    )


def test_the_api_needs_a_bootstrap_token_from_the_shell(
    services: dict[str, dict[str, Any]],
) -> None:
    """No default token: `docker compose up` stops with the message until one is set, and only
    the API is given it."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    demanded = str(raw["api"]["environment"]["SLAFLOW_API_TOKENS"])
    assert re.fullmatch(r"\$\{SLAFLOW_API_TOKENS:\?[^}]+\}", demanded), demanded
    others = [
        n for n, s in services.items() if n != "api" and "SLAFLOW_API_TOKENS" in _environment(s)
    ]
    assert others == []
    binary = shutil.which("docker-compose")
    if binary is not None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLAFLOW_", "COMPOSE_"))}
        result = subprocess.run(
            [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        env.update({k: v for k, v in REQUIRED_FROM_SHELL.items() if k != "SLAFLOW_API_TOKENS"})
        result = subprocess.run(
            [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode != 0 and "set SLAFLOW_API_TOKENS" in result.stderr


# ----- no secret has a default (issue 23) -------------------------------------------------------


def test_no_secret_has_a_default() -> None:
    """Every variable that carries a secret is demanded with `${VAR:?message}`, and no secret
    setting of a slaflow service is written in the file."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = {m.group(1): (m.group(2), m.group(3)) for m in _VARIABLE.finditer(text)}
    secret = {name: how for name, how in used.items() if SECRET_VARIABLE.search(name)}
    assert set(secret) == set(REQUIRED_FROM_SHELL), "each demanded secret, as the README lists"
    for name in secret:
        forms = {
            (m.group(2), bool(m.group(3))) for m in _VARIABLE.finditer(text) if m.group(1) == name
        }
        assert forms == {(":?", True)}, f"{name} must always be ${{{name}:?message}}: {forms}"
    raw = yaml.safe_load(text)
    for service_name, service in raw["services"].items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env if "=" in item)
        for key, value in env.items():
            if SECRET_VARIABLE.search(str(key)):
                assert "${" in str(value), f"{service_name}: {key} is written in the file"
    anchor = raw["x-slaflow-environment"]
    url = str(anchor["SLAFLOW_DATABASE_URL"])
    assert re.search(r":\$\{SLAFLOW_DB_PASSWORD:\?[^}]+\}@", url), url


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
@pytest.mark.parametrize("missing", sorted(REQUIRED_FROM_SHELL))
def test_compose_stops_naming_each_missing_secret(missing: str) -> None:
    binary = shutil.which("docker-compose")
    assert binary is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLAFLOW_", "COMPOSE_"))}
    env = {k: v for k, v in env.items() if k not in REQUIRED_FROM_SHELL}
    env.update({k: v for k, v in REQUIRED_FROM_SHELL.items() if k != missing})
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0 and f"set {missing} to " in result.stderr, result.stderr
