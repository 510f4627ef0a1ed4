"""`python -m vncomply.cli …`: how `vncomply up` starts its children."""

from vncomply.cli import app

# Guarded: tools that import every module (tests/registry walks the package) must not run it.
if __name__ == "__main__":
    app()
