"""`python -m vncomply.cli …`: how `vncomply up` starts its children."""

from vncomply.cli import app

app()
