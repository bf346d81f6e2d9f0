"""Importers: real models in (torch, ONNX) and rfgraph networks out to torch.

* :mod:`rfgraph.importers.torch`: ``from_torch``, a ``torch.nn.Module`` traced with torch.fx;
* :mod:`rfgraph.importers.onnx`: ``from_onnx``, an ONNX model or file;
* :mod:`rfgraph.importers._convert`: the translation layer both share (ops, merges, reshapes);
* :mod:`rfgraph.importers._dag`: the tensor DAG they fill, turned into an rfgraph network;
* :mod:`rfgraph.importers.to_torch`: the other direction, an rfgraph network as a torch module
  (random or all-ones weights), used for autograd checks and empirical ERFs.

torch and onnx are optional extras, imported only when a function needs them; importing
this package imports neither.
"""

__all__: list[str] = []
