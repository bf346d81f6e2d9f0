"""The teaching page: ``rfgraph serve`` (a local, offline web page) and its JSON API.

Only the standard library is used; the page's files live in ``static/`` inside the
package.  See :mod:`rfgraph.web.server` for the limits that keep the server safe and
:mod:`rfgraph.web.api` for the endpoints.
"""

from __future__ import annotations

from .api import LIMITS, dispatch
from .server import make_server, serve

__all__ = ["LIMITS", "dispatch", "make_server", "serve"]
