"""models/cache.py: one fingerprint of a checkpoint file, versioned paths, load-or-None, write-or-warn."""

from __future__ import annotations

import hashlib
import json

from models.atomic_file import atomic_write_bytes
from models.cache import cached_path, file_digest, read_cached, write_cached


def test_the_fingerprint_is_the_files_sha256_and_follows_its_changes(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"one")
    assert file_digest(path) == hashlib.sha256(b"one").hexdigest()
    path.write_bytes(b"two, longer")  # another size: read again, not the remembered digest
    assert file_digest(path) == hashlib.sha256(b"two, longer").hexdigest()


def test_a_cached_path_names_its_kind_version_checkpoint_and_tags(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path))
    path = cached_path("metrics", 3, "ab" * 32, ".json", "net0123")
    assert path == tmp_path / "metrics" / f"v3-{'ab' * 12}-net0123.json"
    assert cached_path("metrics", 4, "ab" * 32, ".json", "net0123") != path  # a new version finds nothing old


def test_missing_or_damaged_is_none_and_a_failed_write_only_warns(tmp_path, capsys):
    path = tmp_path / "kind" / "v1-x.json"

    def read(p):
        return json.loads(p.read_text())

    assert read_cached(path, read) is None
    assert write_cached(path, lambda p: atomic_write_bytes(p, b'{"a": 1}'), "thing")
    assert read_cached(path, read) == {"a": 1}
    path.write_text("{not json")
    assert read_cached(path, read) is None

    def full(p):
        raise OSError(28, "No space left on device")

    assert not write_cached(path, full, "thing")
    assert "could not cache the thing" in capsys.readouterr().err
