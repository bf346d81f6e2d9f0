"""Practitioners' answers built on the plan and the engine (SPEC section 8).

* :mod:`~rfgraph.answers.tiling`: ``halo`` and ``tiles``, tiled inference that stitches back exactly;
* :mod:`~rfgraph.answers.exposure`: ``valid_region`` and ``padding_share``, how much of each field
  lies in the padding;
* :mod:`~rfgraph.answers.sizes`: ``min_input_shape`` and the per-layer field ranges;
* :mod:`~rfgraph.answers.pyramid`: per pyramid level stride, field, exact ERF and anchor ratios;
* :mod:`~rfgraph.answers.borders`: the per-axis fields of every output position that the others use;
* :mod:`~rfgraph.answers.units`: pixels and physical units;
* :mod:`~rfgraph.answers.testing`: ``assert_receptive_field`` for a user's pytest suite.

The public functions are reached as ``rf.halo``, ``rf.tiles``, ``rf.valid_region`` ...;
importing this package imports none of its modules.
"""

__all__: list[str] = []
