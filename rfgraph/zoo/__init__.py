"""Built-in architectures: a registry of builders with keyword options.

Four families:

* ``seed``: the AlexNet table of seed 001 (``alexnet_seed``, 227x227).
* ``torchvision``: the geometry *and the tensor names* of torchvision's models
  (``alexnet``, ``vgg11`` ... ``vgg19``, ``resnet18`` ... ``resnet152``,
  ``inception_v3``, ``densenet121``, ``mobilenet_v2``), so that
  ``rf.from_torch(torchvision.models.X(weights=None), shape)`` and
  ``rf.zoo.build("X")`` give the same graph, tensor by tensor, under the same
  names (``layer4.2.conv3``, ``features.28``, ``Mixed_7c``).  Heads follow
  :func:`rfgraph.from_torch`: ``flatten`` + the first ``Linear`` is a
  :class:`~rfgraph.ops.GlobalPool`, every later ``Linear`` a 1x1 convolution, and an
  adaptive average pool that keeps the size (AlexNet's and VGG's ``avgpool`` at
  224x224) is pointwise, so it is left out.
* ``tf-slim``: the TF-Slim networks of the receptive-field table of Araujo,
  Norris & Sim (Distill 2019), with TensorFlow ``"same"``/``"valid"`` padding
  exactly as in TF-Slim and the article's end-point names (``pool5``,
  ``block4``, ``Mixed_7c``, ``Conv2d_13_pointwise``, ``Conv2d_7b_1x1``).  They
  end at the last end-point of that table unless ``include_top=True``.
* ``segmentation``: U-Net (valid and same padding) and DeepLab-v3 (ResNet
  backbone with dilation, ASPP head; torchvision names).

The builders live in one module per architecture: :mod:`~rfgraph.zoo.classic` (seed 001,
AlexNet, VGG), :mod:`~rfgraph.zoo.resnet`, :mod:`~rfgraph.zoo.inception`,
:mod:`~rfgraph.zoo.densenet`, :mod:`~rfgraph.zoo.mobile` and :mod:`~rfgraph.zoo.segmentation`;
each registers its networks when imported.

Every network names its end-points, so any tensor can be analysed:

>>> import rfgraph as rf
>>> "vgg16" in rf.zoo.names()
True
>>> rf.zoo.default_input("inception_v3")
(299, 299)
>>> rec = rf.receptive_field(rf.zoo.build("vgg16", fc_as_conv=True), (224, 224), endpoint="pool5")[-1]
>>> rec.size, rec.stride
((212, 212), (32, 32))
"""

# The registry lives in ``_registry``; each family module registers its networks when it is
# imported, so importing the families here fills the registry (``names()`` is sorted, so the
# import order does not show).  Only ``rfgraph.ops``/``rfgraph.errors`` are imported: cheap.
from . import classic, densenet, inception, mobile, resnet, segmentation  # noqa: F401 (they register
from ._registry import FAMILIES as FAMILIES
from ._registry import ZooEntry, build, default_input, describe, entries, names, options

__all__ = ["ZooEntry", "names", "build", "describe", "default_input", "entries", "options"]
