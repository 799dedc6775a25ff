"""Every file-taking command, given a path outside the project, a directory, a device, a
binary file or nothing at all: one clear line and a non-zero exit, never a traceback.
(`schutz restore FILE` is covered with the backups.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

UP = "../" * 12  # further up than any working directory goes


def schutz(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCHUTZ_DATA_DIR": str(tmp_path / "data")}
    env.pop("SCHUTZ_DATABASE_URL", None)
    env.pop("SCHUTZ_POLICY", None)
    return subprocess.run(
        [sys.executable, "-m", "schutz", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_clear_refusal(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert any(text in output for text in expected), output


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (f"{UP}etc/passwd", ("a policy file must be a mapping",)),
        (f"{UP}etc", ("holds no policy files",)),
        (f"{UP}no/such/policy.yaml", ("no such policy file",)),
        ("/dev/zero", ("not a regular file",)),
        (sys.executable, ("cannot read policy file", "not a YAML text file")),
        ("/proc/self/environ", ("not a YAML text file", "mapping", "cannot read")),
    ],
)
def test_policy_check_explains_what_is_wrong_with_the_file(
    tmp_path: Path, target: str, expected: tuple[str, ...]
) -> None:
    assert_clear_refusal(schutz(tmp_path, "policy", "check", target), *expected)


def test_policy_diff_names_the_file_it_cannot_use(tmp_path: Path) -> None:
    result = schutz(tmp_path, "policy", "diff", f"{UP}etc/passwd", f"{UP}etc/hostname")
    assert_clear_refusal(result, "etc/passwd")


def test_a_policy_setting_outside_the_project_is_refused_clearly(tmp_path: Path) -> None:
    env_policy = {"SCHUTZ_POLICY": f"{UP}etc/passwd"}
    result = subprocess.run(
        [sys.executable, "-m", "schutz", "policy", "show"],
        cwd=tmp_path,
        env={**os.environ, "SCHUTZ_DATA_DIR": str(tmp_path / "data"), **env_policy},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_clear_refusal(result, "a policy file must be a mapping")


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (f"{UP}etc/passwd", ("readable by others",)),
        (f"{UP}no/such/secret", ("cannot be read",)),
        ("/etc", ("not a regular file",)),
        ("/dev/zero", ("not a regular file",)),
    ],
)
def test_recipients_set_checks_the_secret_file(
    tmp_path: Path, secret: str, expected: tuple[str, ...]
) -> None:
    result = schutz(
        tmp_path, "recipients", "set", "bank",
        "--url", "https://bank.example/hook", "--secret-file", secret,
    )  # fmt: skip
    assert_clear_refusal(result, *expected)
