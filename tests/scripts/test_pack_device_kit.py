"""The device kit's logic without the network: what it packs, that it covers what genexp imports
and the device lacks, the offline install, MNIST round trip and the size check."""

from __future__ import annotations

import ast
import gzip
import importlib
import importlib.metadata
import json
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import pack_device_kit  # noqa: E402
from gpu_checks import kit  # noqa: E402

# imported by genexp, but never on the check's code path (and absent on the device)
OPTIONAL = {
    "wandb": "only for logger=wandb; the check logs with logger=csv (genexp imports it lazily)",
    "optuna": "genexp/sweep_optuna.py: the Optuna sweeper only",
    "hydra_plugins": "genexp/sweep_optuna.py: the Optuna sweeper only",
}


# import names whose distribution is named otherwise
DISTRIBUTION = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow", "hydra": "hydra-core"}


def fake_fetch(calls: list):
    """A fetch that writes an empty, correctly named wheel and records how it was asked for."""

    def fetch(requirement: str, dest: Path, how: str, python: str) -> None:
        name, version = requirement.split("==")
        cp = "cp" + python.replace(".", "")
        tag = f"{cp}-{cp}-manylinux_2_17_x86_64" if how == "binary" else "py3-none-any"
        (dest / f"{kit.normalise(name)}-{version}-{tag}.whl").write_bytes(b"")
        calls.append((requirement, how, python))

    return fetch


def test_pack_fetches_one_pinned_wheel_per_package_and_gzips_mnist(tmp_path: Path) -> None:
    mnist = tmp_path / "raw"
    mnist.mkdir()
    for i, name in enumerate(kit.MNIST_FILES):
        (mnist / name).write_bytes(bytes([i]) * (100 + i))
    calls: list = []
    manifest = kit.pack(tmp_path / "kit", mnist, fetch=fake_fetch(calls))
    assert [c[0].split("==")[0] for c in calls] == list(kit.KIT_PACKAGES)
    for name, (requirement, _, _) in zip(kit.KIT_PACKAGES, calls):
        assert requirement == f"{name}=={importlib.metadata.version(name)}"
    assert {c[0].split("==")[0]: c[1] for c in calls if c[1] != "pure"} == {
        "pydantic-core": "binary",
        "antlr4-python3-runtime": "build",
    }
    assert all(c[2] == "3.12" for c in calls)
    assert set(manifest["wheels"]) == set(kit.KIT_PACKAGES)
    assert manifest == kit.read_manifest(tmp_path / "kit")
    data = kit.unpack_mnist(tmp_path / "kit", tmp_path / "data")
    for name in kit.MNIST_FILES:
        assert (data / "MNIST" / "raw" / name).read_bytes() == (mnist / name).read_bytes()
        packed = tmp_path / "kit" / "MNIST" / "raw" / f"{name}.gz"
        assert gzip.open(packed).read() == (mnist / name).read_bytes()


def test_fetch_commands_ask_for_the_device_wheels_and_never_for_dependencies(tmp_path: Path) -> None:
    binary = kit.fetch_command("pydantic-core==2.0", tmp_path, "binary")
    assert binary[3:5] == ["download", "--no-deps"] and "--only-binary=:all:" in binary
    assert binary[binary.index("--python-version") + 1] == "3.12"
    assert "manylinux2014_x86_64" in binary and binary[-1] == "pydantic-core==2.0"
    pure = kit.fetch_command("omegaconf==2.3", tmp_path, "pure", "3.11")
    assert pure[pure.index("--platform") + 1] == "any" and "3.11" in pure
    build = kit.fetch_command("antlr4-python3-runtime==4.9.3", tmp_path, "build")
    assert build[3:5] == ["wheel", "--no-deps"] and "--platform" not in build


def test_two_wheels_of_one_package_are_refused(tmp_path: Path) -> None:
    (tmp_path / "omegaconf-2.3.0-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "omegaconf-2.3.1-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(RuntimeError, match="expected one wheel of omegaconf"):
        kit.wheel_of("omegaconf", tmp_path)


def _third_party_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "genexp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("genexp", "__future__"):
                    found.setdefault(top, set()).add(path.name)
    return found


def test_everything_genexp_imports_is_on_the_device_or_in_the_kit() -> None:
    have = kit.device_packages() | {kit.normalise(n) for n in kit.KIT_PACKAGES}
    imports = {m: f for m, f in _third_party_imports().items() if m not in OPTIONAL}
    unknown = [m for m in imports if kit.normalise(DISTRIBUTION.get(m, m)) not in have]
    dists = importlib.metadata.packages_distributions() if unknown else {}  # slow: only when needed
    missing = {
        module: sorted(imports[module])
        for module in unknown
        if not {kit.normalise(d) for d in dists.get(module, [module])} & have
    }
    assert not missing, f"genexp imports these, which neither the device nor the kit has: {missing}"


def test_the_kit_packages_needs_are_on_the_device_or_in_the_kit() -> None:
    from packaging.requirements import Requirement

    env = {"python_version": "3.12", "sys_platform": "linux", "platform_system": "Linux", "extra": ""}
    have = kit.device_packages() | {kit.normalise(n) for n in kit.KIT_PACKAGES}
    for name in kit.KIT_PACKAGES:
        for text in importlib.metadata.requires(name) or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate(env):
                assert kit.normalise(req.name) in have, f"{name} needs {req}, which the kit lacks"


def _tiny_wheel(folder: Path) -> Path:
    wheel = folder / "kitprobe-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("kitprobe/__init__.py", "ANSWER = 42\n")
        info = "kitprobe-0.1.dist-info"
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: kitprobe\nVersion: 0.1\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("kitprobe-0.1.dist-info/RECORD", "")
    return wheel


def test_install_puts_the_kit_on_sys_path_without_an_index(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "kit" / "wheels").mkdir(parents=True)
    wheel = _tiny_wheel(tmp_path / "kit" / "wheels")
    manifest = {"python": "3.12", "wheels": {"kitprobe": {"file": wheel.name}}, "mnist": []}
    (tmp_path / "kit" / kit.MANIFEST).write_text(json.dumps(manifest))
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert kit.install(tmp_path / "kit", tmp_path / "site") == [wheel.name]
    assert sys.path[0] == str(tmp_path / "site")
    monkeypatch.delitem(sys.modules, "kitprobe", raising=False)
    assert importlib.import_module("kitprobe").ANSWER == 42
    monkeypatch.delitem(sys.modules, "kitprobe")
    assert kit.unpack_mnist(tmp_path / "kit", tmp_path / "data") is None


def test_a_missing_kit_names_the_command_that_packs_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="pack_device_kit.py"):
        kit.read_manifest(tmp_path)


def test_size_report_against_the_budget() -> None:
    mib = 2**20
    ok, line = pack_device_kit.size_report(14 * mib, 3 * mib)
    assert ok and line.startswith("kit 14.0 MiB + working tree 3.0 MiB = 17.0 MiB") and line.endswith("ok")
    ok, line = pack_device_kit.size_report(40 * mib, 9 * mib)
    assert not ok and line.endswith("TOO LARGE")
