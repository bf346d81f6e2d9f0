"""Placeholder."""
from typing import Any
def to_networkx(*a: Any, **k: Any) -> Any: raise NotImplementedError
