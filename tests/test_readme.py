"""The README stays true: every setting is documented, and every command and make target it names
exists."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from vncomply.cli import app as cli_app
from vncomply.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = set(re.findall(r"^\| `(VNCOMPLY_[A-Z0-9_]+)` \|", README, re.M))
    settings = {f"VNCOMPLY_{name.upper()}" for name in Settings.model_fields}
    assert settings - documented == set(), "undocumented settings"
    assert documented - settings == set(), "documented settings that do not exist"


def test_every_vncomply_command_in_the_readme_exists() -> None:
    root = typer.main.get_command(cli_app)
    # As written in code: `vncomply …` or .venv/bin/vncomply … (not prose like "vncomply is").
    named = re.findall(r"(?:`|/bin/)vncomply ([a-z-]+)(?: ([a-z-]+))?", README)
    assert named
    for first, second in named:
        sub = root.commands.get(first)  # type: ignore[attr-defined]
        assert sub is not None, f"`vncomply {first}` does not exist"
        children = getattr(sub, "commands", None)
        if children is not None and second:
            assert second in children, f"`vncomply {first} {second}` does not exist"


def test_every_make_target_in_the_readme_exists() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    for target in re.findall(r"(?:`|^)make ([a-z]+)", README, re.M):
        assert target in targets, f"`make {target}` is not in the Makefile"


def test_the_architecture_list_matches_the_tree() -> None:
    block = README.split("## Architecture", 1)[1].split("```", 2)[1]
    listed = set(re.findall(r"^  ([a-z_]+(?:\.py|/))", block, re.M))
    src = ROOT / "src" / "vncomply"
    present = {p.name + "/" for p in src.iterdir() if (p / "__init__.py").exists()}
    present |= {p.name for p in src.glob("*.py") if p.name != "__init__.py"}
    assert present - listed == set(), "in the tree, missing from README's architecture list"
    assert listed - present == set(), "in README's architecture list, not in the tree"
    kit = {p.stem for p in (src / "kit").glob("*.py") if p.stem != "__init__"}
    named = set(re.findall(r"[a-z_]+", block.split("kit/", 1)[1].split("embedded/", 1)[0]))
    assert kit - named == set(), "kit modules missing from README's architecture list"
