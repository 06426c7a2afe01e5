"""The offline demo zoo: small models trained on ``xaikit.data.synthetic``, shipped as files.

* ``demo-shapes``: :class:`~xaikit.models.zoo.vgg.VGG16Narrow`, blocks ``conv1`` .. ``conv5``.
* ``demo-actions``: :class:`~xaikit.models.zoo.resnet3d.ResNet3D`, and its layer-wise gated
  variant :class:`~xaikit.models.zoo.resnet3d.GatedResNet3D` (``weights="gated"``).
* ``demo-mice``: a YOLOv3-tiny-style Darknet detector (``demo-mice.cfg`` + ``.weights``).
* ``demo-mice-full``: its YOLOv3-style ("full") partner: a Darknet-53-like residual
  backbone and three detection scales (``weights/demo-mice-full.cfg`` + ``.weights``).

Load them with ``xaikit.models.load(name)``. This package holds their architectures, data and
fitting code; reproducing one from its seed, scoring it on held-out data and writing its card
is :mod:`xaikit.study.zoo` (``python -m xaikit.study.zoo NAME``), since scoring needs
:mod:`xaikit.metrics`. Each card (``weights/<name>.json``) holds the data, recipe and held-out
scores.
"""

from xaikit.models.zoo.loading import NAMES, load_demo

__all__ = ["NAMES", "load_demo"]
