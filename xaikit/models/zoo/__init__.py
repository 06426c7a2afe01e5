"""The offline demo zoo: small models trained on ``xaikit.data.synthetic``, shipped as files.

* ``demo-shapes``: :class:`~xaikit.models.zoo.vgg.VGG16Narrow`, blocks ``conv1`` .. ``conv5``.
* ``demo-actions``: :class:`~xaikit.models.zoo.resnet3d.ResNet3D`, and its layer-wise gated
  variant :class:`~xaikit.models.zoo.resnet3d.GatedResNet3D` (``weights="gated"``).
* ``demo-mice``: a YOLOv3-tiny-style Darknet detector (``demo-mice.cfg`` + ``.weights``).

Load them with ``xaikit.models.load(name)``; reproduce them with
``python -m xaikit.models.train NAME``. Each card (``weights/<name>.json``) holds the data,
recipe and held-out scores.
"""

from xaikit.models.zoo.loading import NAMES, load_demo

__all__ = ["NAMES", "load_demo"]
