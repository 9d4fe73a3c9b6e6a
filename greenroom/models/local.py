"""Models already on this machine: the Hugging Face hub cache and greenroom's own models dir."""

from __future__ import annotations

from pathlib import Path

import msgspec


class LocalModel(msgspec.Struct, frozen=True, kw_only=True):
    repo: str
    path: str
    size_bytes: int


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) + sum(
        f.resolve().stat().st_size for f in path.rglob("*") if f.is_symlink() and f.resolve().is_file()
    )


def local_models(models_dir: Path | None = None, hub_cache: Path | None = None) -> list[LocalModel]:
    """Model repos in the hub cache (as ``scan_cache_dir`` reports them) and folders in ``models_dir``."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    found: list[LocalModel] = []
    try:
        cache = scan_cache_dir(hub_cache)
    except CacheNotFound:
        cache = None
    if cache is not None:
        for repo in cache.repos:
            if repo.repo_type == "model" and repo.revisions:
                newest = max(repo.revisions, key=lambda r: r.last_modified)
                found.append(
                    LocalModel(repo=repo.repo_id, path=str(newest.snapshot_path), size_bytes=repo.size_on_disk)
                )
    if models_dir is not None and models_dir.is_dir():
        for folder in sorted(models_dir.iterdir()):
            if (folder / "config.json").exists():
                found.append(LocalModel(repo=folder.name, path=str(folder), size_bytes=_size(folder)))
    return found
