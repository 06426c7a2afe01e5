"""Synthetic scenes with exact ground truth, deterministic from a seed.

* :func:`arena`: mouse-behaviour videos (top-view open field, side-view home cage,
  resident-intruder pair) with per-frame boxes, identities, centroids and headings.
* :func:`shapes`: still images of several objects on cluttered backgrounds, with boxes,
  labels and masks.
* :func:`actions`: short clips of an actor performing one of several actions, with
  per-frame boxes.
* :func:`observers`: eye-tracking sessions (fixations) drawn towards objects with a centre
  bias.
"""

from xaikit.data.synthetic._actions import ACTIONS, ActionSet, actions
from xaikit.data.synthetic._arena import MIN_VISIBLE, SETUPS, ArenaClip, arena
from xaikit.data.synthetic._observers import observers
from xaikit.data.synthetic._shapes import CLASSES, ShapeSet, shapes

__all__ = [
    "ACTIONS",
    "CLASSES",
    "MIN_VISIBLE",
    "SETUPS",
    "ActionSet",
    "ArenaClip",
    "ShapeSet",
    "actions",
    "arena",
    "observers",
    "shapes",
]
