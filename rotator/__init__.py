"""rotator: rotate secrets in HashiCorp Vault and OpenBao without breaking their consumers."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
