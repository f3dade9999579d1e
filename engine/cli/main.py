"""``python -m engine.cli.main``: the CLI without the console script (for subprocesses and tests)."""

from engine.cli import app

if __name__ == "__main__":
    app()
