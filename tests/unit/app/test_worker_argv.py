"""`marketprism worker`'s command line for Faust: what the settings ask for, in options
Faust's own ``worker`` command accepts."""

from __future__ import annotations

from pathlib import Path

import click
import faust.cli.worker  # noqa: F401 (registers the worker command)
import pytest
from faust.cli.base import cli

from app.cli import worker_argv
from app.settings import Settings


def settings(tmp_path: Path, **web: object) -> Settings:
    return Settings(store={"data_dir": tmp_path}, web=web, log={"level": "WARNING"})


def parses(argv: list[str]) -> dict[str, object]:
    """Faust's worker options parsed from ``argv`` (as its CLI would, without running)."""
    command = cli.commands["worker"]
    with click.Context(command) as ctx:
        command.parse_args(ctx, argv[2:])
        return dict(ctx.params)


def test_the_web_server_is_left_out_when_disabled(tmp_path: Path) -> None:
    argv = worker_argv(settings(tmp_path, enabled=False), [])
    assert argv == ["marketprism worker", "worker", "--loglevel", "warn", "--without-web"]
    assert parses(argv)["with_web"] is False


def test_enabled_web_and_the_log_level(tmp_path: Path) -> None:
    argv = worker_argv(settings(tmp_path), [])
    assert "--without-web" not in argv
    assert parses(argv)["with_web"] is True


@pytest.mark.parametrize("given", [["--with-web"], ["-l", "debug"], ["--loglevel=error"]])
def test_faust_options_given_win(tmp_path: Path, given: list[str]) -> None:
    argv = worker_argv(settings(tmp_path, enabled=False), given)
    at = argv.index(given[0])
    assert argv[at : at + len(given)] == given
    assert argv.count("--without-web") == (0 if "--with-web" in given else 1)
    assert sum(arg.startswith(("-l", "--loglevel")) for arg in argv) == 1
    parses(argv)
