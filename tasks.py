"""invoke tasks: wire the llmrec packages together through their CLIs and files.

Tasks hold no logic of their own: every step is one package's CLI.
"""

from __future__ import annotations

from invoke import Context, task


@task
def lint(c: Context) -> None:
    """ruff lint and format check."""
    c.run("ruff check .", pty=False)
    c.run("ruff format --check .", pty=False)


@task(pre=[lint])
def test(c: Context) -> None:
    """Lint, then every package's tests (and the workspace's end-to-end tests)."""
    c.run("pytest", pty=False)
