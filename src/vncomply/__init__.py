"""vncomply: compliance-as-a-service for Decree 147/2024 (Vietnam)."""

__version__ = "0.1.0"
