"""Private directories: created 0700 by us, or refused with a clear reason; never taken over."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from greenroom.runtime import UnsafeDirectoryError
from greenroom.runtime.paths import ensure_private_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestEnsurePrivateDir:
    def test_a_missing_dir_is_created_0700_whatever_the_umask(self, tmp_path: Path) -> None:
        """greenroom's own directories are exactly 0700 even under umask 0."""
        old = os.umask(0)
        try:
            made = ensure_private_dir(tmp_path / "b")
        finally:
            os.umask(old)
        assert mode(made) == 0o700

    def test_an_existing_private_dir_is_accepted_as_it_is(self, tmp_path: Path) -> None:
        """A 0700 directory of this user is used, unchanged."""
        (tmp_path / "d").mkdir(mode=0o700)
        assert ensure_private_dir(tmp_path / "d") == tmp_path / "d"
        assert mode(tmp_path / "d") == 0o700

    @pytest.mark.parametrize("loose", [0o755, 0o1777, 0o750])
    def test_a_shared_dir_is_refused_and_left_alone(self, tmp_path: Path, loose: int) -> None:
        """Pointing greenroom at a shared folder (say /tmp) is an error; its mode is not touched."""
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(loose)
        with pytest.raises(
            UnsafeDirectoryError, match=r"open to other users \(mode 0?" + f"{loose:o}" + r"\).*chmod 700"
        ):
            ensure_private_dir(shared)
        assert mode(shared) == loose

    def test_our_own_subdirectories_are_tightened(self, tmp_path: Path) -> None:
        """A subdirectory greenroom names inside its data dir is made private again."""
        sub = tmp_path / "models"
        sub.mkdir()
        sub.chmod(0o755)
        ensure_private_dir(sub, ours=True)
        assert mode(sub) == 0o700

    @pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a directory to another user")
    def test_a_dir_of_another_user_is_refused(self, tmp_path: Path) -> None:
        """A runtime dir pre-created by another user is refused (they could swap the sockets)."""
        other = tmp_path / "other"
        other.mkdir(mode=0o700)
        os.chown(other, 65534, 65534)
        with pytest.raises(UnsafeDirectoryError, match="belongs to another user"):
            ensure_private_dir(other)
        with pytest.raises(UnsafeDirectoryError, match=r"parent .* belongs to another user"):
            ensure_private_dir(other / "mine")

    def test_a_parent_others_can_write_is_refused(self, tmp_path: Path) -> None:
        """Inside a world-writable, non-sticky folder a private dir could be replaced: refused."""
        loose = tmp_path / "loose"
        loose.mkdir()
        loose.chmod(0o777)
        with pytest.raises(UnsafeDirectoryError, match="writable by other users"):
            ensure_private_dir(loose / "greenroom")
        assert not (loose / "greenroom").exists()

    def test_the_daemon_refuses_a_shared_runtime_dir_with_one_line(self, tmp_path: Path) -> None:
        """`greenroom --runtime-dir <shared> daemon` exits 2 with the reason and no traceback."""
        shared = tmp_path / "tmpish"
        shared.mkdir()
        shared.chmod(0o1777)
        (tmp_path / "c.toml").touch()
        proc = subprocess.run(
            [sys.executable, "-m", "greenroom", "--config", str(tmp_path / "c.toml"),
             "--data-dir", str(tmp_path / "data"), "--runtime-dir", str(shared), "daemon"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert "open to other users (mode 1777)" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert mode(shared) == 0o1777
