"""The Tauri shell's configuration, checked against the JSON Schema that ``@tauri-apps/cli`` ships.

Rust crates cannot be fetched here, so the shell is not compiled (README: Desktop, for a Mac);
everything short of compiling is checked: the config against the CLI's own schema, and that the
config, the sidecar and the Rust side agree.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TAURI = Path(__file__).resolve().parents[2] / "greenroom" / "clients" / "tauri"
SRC = TAURI / "src-tauri"
pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="node/npm are not installed (apt-get install npm)")


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """config.schema.json from the pinned @tauri-apps/cli package (npm pack: no install scripts run)."""
    version = json.loads((TAURI / "package.json").read_text())["devDependencies"]["@tauri-apps/cli"]
    dest = tmp_path_factory.mktemp("tauri-cli")
    subprocess.run(["npm", "pack", f"@tauri-apps/cli@{version}", "--pack-destination", str(dest), "--silent"],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    (tgz,) = dest.glob("*.tgz")
    with tarfile.open(tgz) as tar:
        member = tar.extractfile("package/config.schema.json")
        assert member is not None
        return json.loads(member.read())


def config() -> dict[str, Any]:
    return json.loads((SRC / "tauri.conf.json").read_text())


class TestTauriShell:
    def test_config_validates_against_the_shipped_schema(self, schema: dict[str, Any]) -> None:
        """tauri.conf.json is a valid Tauri 2 configuration per @tauri-apps/cli's schema."""
        jsonschema.validate(config(), schema, cls=jsonschema.Draft7Validator)

    def test_schema_catches_a_broken_config(self, schema: dict[str, Any]) -> None:
        """The check can fail: a config without an identifier, or with a wrong type, is rejected."""
        broken = {k: v for k, v in config().items() if k != "identifier"}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**config(), "app": {"windows": "main"}}, schema, cls=jsonschema.Draft7Validator)

    def test_config_sidecar_and_rust_side_agree(self) -> None:
        """The sidecar the Rust side runs is the one bundled; the splash and icon exist; crates are Tauri 2."""
        cfg = config()
        assert cfg["bundle"]["externalBin"] == ["binaries/greenroom"]
        assert (SRC / cfg["build"]["frontendDist"] / "index.html").is_file()
        for icon in cfg["bundle"]["icon"]:
            assert (SRC / icon).is_file()
        main = (SRC / "src" / "main.rs").read_text()
        assert re.search(r'sidecar\("greenroom"\)', main)
        assert '"web", "--no-open", "--print-url"' in main
        cargo = tomllib.loads((SRC / "Cargo.toml").read_text())
        assert cargo["dependencies"]["tauri"]["version"].startswith("2")
        assert cargo["dependencies"]["tauri-plugin-shell"].startswith("2")
        assert len(main.splitlines()) < 80  # the page does the work

    def test_the_sidecar_command_prints_the_page_url(self, short_tmp: Path, daemon_process: Any) -> None:
        """What the Rust side runs (`greenroom web --no-open --print-url`) prints a loopback URL with a token fragment."""
        from tests.conftest import cli_flags

        flags = [*cli_flags(short_tmp), "--set", "gateway.web=true", "--set", "gateway.web_port=0", "--set", "gateway.ws_port=0"]
        daemon_process(short_tmp, flags).start()
        out = subprocess.run([sys.executable, "-m", "greenroom", *flags, "web", "--no-open", "--print-url", "--no-start"],
                             capture_output=True, text=True, timeout=60, check=True).stdout  # fmt: skip
        url = next(line for line in out.splitlines() if line.startswith("http://"))
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/#token=grt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", url)
