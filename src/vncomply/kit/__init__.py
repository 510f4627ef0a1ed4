"""Cross-cutting pieces no domain owns (docs/architecture.md)."""
