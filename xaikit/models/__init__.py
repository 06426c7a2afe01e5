"""Model loading (torchvision, Darknet, the offline demo zoo) and layer catalogues."""

from xaikit.models.darknet import Darknet, load_darknet
from xaikit.models.darknet_weights import save_darknet_weights
from xaikit.models.evaluation import VideoAccuracy, accuracy, top_classes, video_accuracy
from xaikit.models.geometry import InputMapping
from xaikit.models.layers import LayerInfo, layers, stage_layers
from xaikit.models.registry import ModelInfo, available, info, load
from xaikit.models.torchvision_preprocess import detector_canvas_mapping

__all__ = [
    "Darknet",
    "InputMapping",
    "LayerInfo",
    "ModelInfo",
    "VideoAccuracy",
    "accuracy",
    "available",
    "detector_canvas_mapping",
    "info",
    "layers",
    "load",
    "load_darknet",
    "save_darknet_weights",
    "stage_layers",
    "top_classes",
    "video_accuracy",
]
