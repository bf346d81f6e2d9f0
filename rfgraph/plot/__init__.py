"""Pictures of receptive fields and contribution maps (the ``plot`` extra).

matplotlib is imported lazily, inside the functions, so this package imports
without it (``import rfgraph`` never imports it at all); every drawing function
raises :class:`~rfgraph.RFGraphError` with the install hint when it is missing.

Drawing functions take an optional ``ax`` and return the Axes they drew on (new
ones through :mod:`matplotlib.pyplot` when ``ax`` is None, so that notebooks show
them); :func:`compare` returns a Figure.  The ``save_*`` helpers used by the
command line build a bare :class:`matplotlib.figure.Figure` (no pyplot, no GUI)
and write PNG/SVG/PDF by the file's extension.

Coordinates are input-pixel indices: pixel ``i`` is centred on ``i`` and spans
``[i - 0.5, i + 0.5]``; 2-D maps are drawn with row 0 at the top (``y`` down),
like an image.

One module per kind of picture, every name also here as ``rfgraph.plot.<name>``:
:mod:`~rfgraph.plot.maps` (heatmaps, theoretical RF box, effective-RF square),
:mod:`~rfgraph.plot.profiles` (1-D bars), :mod:`~rfgraph.plot.surfaces` (3-D
surface), :mod:`~rfgraph.plot.graph` (the unrolled graph), :mod:`~rfgraph.plot.lengths`
(paths by length, SPEC section 11) and
:mod:`~rfgraph.plot.comparison` (:func:`compare`).

>>> import numpy as np
>>> erf = effective_rf(np.array([0, 1, 8, 1, 0]), mass=0.95)
>>> erf.center, erf.half_width, erf.size
((2.0,), 1.0, (3,))
>>> import rfgraph as rf
>>> theoretical_box(rf.receptive_field(rf.Sequential(*[rf.Conv(3)] * 5), (15,)))
((2, 12),)
"""

# Only the API and the submodules live in this namespace (no helper imports): see
# tests/test_plot.py::test_namespace_is_clean.
from ._common import IMAGE_SUFFIXES, INSTALL_HINT, Box, Scale
from .comparison import compare
from .graph import GRAPH_MAX_NODES, path_edges, plot_graph, save_graph_figure
from .lengths import plot_path_lengths
from .maps import ERF, ERF_STYLE, RF_BOX_STYLE, effective_rf, exact_box, plot_map, save_map_figure, theoretical_box
from .profiles import plot_profile, save_profile_figure
from .surfaces import plot_surface

__all__ = [
    "ERF",
    "IMAGE_SUFFIXES",
    "compare",
    "effective_rf",
    "exact_box",
    "path_edges",
    "plot_graph",
    "plot_map",
    "plot_path_lengths",
    "plot_profile",
    "plot_surface",
    "save_graph_figure",
    "save_map_figure",
    "save_profile_figure",
    "theoretical_box",
    # Defaults and types of the signatures above (public, without underscore, in rfgraph 0.1).
    "Box",
    "ERF_STYLE",
    "GRAPH_MAX_NODES",
    "INSTALL_HINT",
    "RF_BOX_STYLE",
    "Scale",
]
