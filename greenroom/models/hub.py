"""Downloading models from the Hugging Face hub, and deleting them again.

Downloads go through huggingface_hub (its cache, its resume of interrupted
files) one file at a time, reporting progress after each file as a
``model.download.progress`` event. Offline, a model already in the cache is
"pulled" from there (the same events, nothing fetched).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from greenroom.bus.events import ModelDownloadProgress
from greenroom.models.backend import ModelError

Progress = Callable[[ModelDownloadProgress], object]

_NETWORK_ERRORS = ("ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException", "NetworkError", "ProxyError")


def hub_host() -> str:
    """The host the hub is reached at (``huggingface.co`` unless ``HF_ENDPOINT`` says otherwise)."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    return urlsplit(constants.ENDPOINT).hostname or constants.ENDPOINT


def unreachable(exc: BaseException) -> str | None:
    """ "cannot reach HOST (reason)" when ``exc`` (or what caused it) is a network failure, else None.

    The hub client wraps its HTTP library's errors (whose module name varies between
    versions), so they are recognised by class name along the cause chain.
    """
    seen: BaseException | None = exc
    while seen is not None:
        names = {cls.__name__ for cls in type(seen).__mro__}
        if names & set(_NETWORK_ERRORS) or isinstance(seen, (ConnectionError, TimeoutError)):
            request = getattr(seen, "_request", None) or getattr(seen, "__dict__", {}).get("request")
            url = getattr(request, "url", None)
            host = getattr(url, "host", None) or hub_host()
            reason = str(seen).strip().splitlines()[0] if str(seen).strip() else type(seen).__name__
            return f"cannot reach {host} ({reason})"
        if type(seen).__name__ == "gaierror":
            return f"cannot reach {hub_host()} (no network: {getattr(seen, 'strerror', None) or seen})"
        seen = seen.__cause__ or seen.__context__
    return None


def one_line(exc: BaseException) -> str:
    """An exception as one line: the network failure it stands for, or its first line."""
    text = str(exc).strip()
    return unreachable(exc) or (text.splitlines()[0] if text else type(exc).__name__)


def _cached_files(repo: str, cache_dir: Path | None) -> tuple[list[tuple[str, int]], str | None]:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo, cache_dir=cache_dir, local_files_only=True))
    except LocalEntryNotFoundError as exc:
        raise ModelError(f"{repo} is not in the local cache (offline: {hub_host()} was not asked)") from exc
    files = [(str(p.relative_to(folder)), p.stat().st_size) for p in sorted(folder.rglob("*")) if p.is_file()]
    return files, None


def pull(
    repo: str, *, on_progress: Progress | None = None, cache_dir: Path | None = None, offline: bool = False
) -> Path:
    """Download ``repo`` (a hub model id) into the cache; return its snapshot folder.

    Raises:
        ModelError: the repo does not exist, or it is neither reachable nor cached.
    """
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    revision: str | None = None
    if offline:
        files, revision = _cached_files(repo, cache_dir)
    else:
        try:
            info = HfApi().model_info(repo, files_metadata=True)
            files = [(s.rfilename, int(s.size or 0)) for s in info.siblings or []]
            revision = info.sha
        except RepositoryNotFoundError as exc:
            raise ModelError(f"no model {repo!r} on the hub") from exc
        except Exception as exc:  # the hub client's HTTP errors are not OSErrors
            if not isinstance(exc, (HfHubHTTPError, OSError, ValueError)) and unreachable(exc) is None:
                raise
            try:
                files, revision = _cached_files(repo, cache_dir)
            except ModelError:
                raise ModelError(
                    f"{one_line(exc)}, and {repo} is not in the local cache; connect, or pull it where the hub is"
                    " reachable"
                ) from None
    total = sum(size for _, size in files)
    done = 0
    path: Path | None = None
    for index, (name, size) in enumerate(files, start=1):
        try:
            local = hf_hub_download(
                repo, name, revision=revision, cache_dir=cache_dir, local_files_only=offline or revision is None
            )
        except Exception as exc:  # network errors of the hub client included
            if not isinstance(exc, (HfHubHTTPError, OSError, ValueError)) and unreachable(exc) is None:
                raise
            raise ModelError(f"downloading {repo}/{name} failed: {one_line(exc)} (run pull again to resume)") from exc
        done += size
        path = Path(local).parent if "/" not in name else Path(local).parents[name.count("/")]
        if on_progress:
            on_progress(
                ModelDownloadProgress(
                    model=repo, file=name, files_done=index, files_total=len(files), bytes_done=done, bytes_total=total
                )
            )
    if path is None:
        raise ModelError(f"{repo} has no files")
    return path


def remove(repo: str, *, cache_dir: Path | None = None, models_dir: Path | None = None) -> int:
    """Delete a model from the hub cache (or greenroom's models dir); return the bytes freed (0: none there)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    if models_dir is not None and (folder := models_dir / repo).is_dir():
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        shutil.rmtree(folder)
        return size
    try:
        cache = scan_cache_dir(cache_dir)
    except CacheNotFound:
        return 0
    for entry in cache.repos:
        if entry.repo_id == repo and entry.repo_type == "model":
            strategy = cache.delete_revisions(*(r.commit_hash for r in entry.revisions))
            freed = strategy.expected_freed_size
            strategy.execute()
            return int(freed)
    return 0
