"""Placeholder: the engine is being written."""
from typing import Any
def contribution_map(*a: Any, **k: Any) -> Any: raise NotImplementedError
def profile(*a: Any, **k: Any) -> Any: raise NotImplementedError
def reach(*a: Any, **k: Any) -> Any: raise NotImplementedError
