"""Constant-velocity Kalman filter of one box, the motion model of the tracker."""

from __future__ import annotations

import numpy as np

# Noise of position and velocity as fractions of the box size per frame (ByteTrack / BoT-SORT).
POSITION_NOISE = 1 / 20
VELOCITY_NOISE = 1 / 160
# Uncertainty of a new track: its first box, and no idea yet of its velocity.
START_POSITION_NOISE = 2 * POSITION_NOISE
START_VELOCITY_NOISE = 10 * VELOCITY_NOISE


class BoxKalman:
    """Kalman filter of a box ``(cx, cy, w, h)`` moving at constant velocity, one step per frame.

    The state is ``(cx, cy, w, h, vcx, vcy, vw, vh)``; process and measurement noise scale with
    the box's width and height, as in BoT-SORT's ``KalmanFilterXYWH``.

    Args:
        box: ``(4,)`` first measurement ``x0, y0, x1, y1`` in pixels.

    Examples:
        >>> kalman = BoxKalman([0, 0, 10, 10])
        >>> for step in range(1, 11):  # the box moves 2 px per frame to the right
        ...     _ = kalman.predict()
        ...     kalman.update([2 * step, 0, 2 * step + 10, 10])
        >>> [round(float(value), 1) for value in kalman.predict()]  # measured next: 22, 0, 32, 10
        [21.8, 0.0, 31.8, 10.0]
    """

    def __init__(self, box):
        measurement = to_xywh(box)
        self.mean = np.concatenate([measurement, np.zeros(4)])
        size = np.tile(measurement[2:], 2)
        std = np.concatenate([START_POSITION_NOISE * size, START_VELOCITY_NOISE * size])
        self.covariance = np.diag(np.square(std))
        self._transition = np.eye(8)
        self._transition[:4, 4:] = np.eye(4)

    def predict(self) -> np.ndarray:
        """Advance one frame; return the predicted box ``(4,)`` as ``x0, y0, x1, y1``."""
        size = np.tile(self.mean[2:4], 2)
        noise = np.diag(np.square(np.concatenate([POSITION_NOISE * size, VELOCITY_NOISE * size])))
        self.mean = self._transition @ self.mean
        self.mean[2:4] = np.maximum(self.mean[2:4], 1e-3)
        self.covariance = self._transition @ self.covariance @ self._transition.T + noise
        return self.box

    def update(self, box) -> None:
        """Correct the state with a measured box ``x0, y0, x1, y1``."""
        measurement = to_xywh(box)
        noise = np.diag(np.square(POSITION_NOISE * np.tile(self.mean[2:4], 2)))
        projected = self.covariance[:4, :4] + noise
        gain = np.linalg.solve(projected, self.covariance[:4, :]).T
        self.mean = self.mean + gain @ (measurement - self.mean[:4])
        self.covariance = self.covariance - gain @ projected @ gain.T

    @property
    def box(self) -> np.ndarray:
        """The current box estimate ``(4,)`` as ``x0, y0, x1, y1``."""
        return to_corners(self.mean[:4])


def to_xywh(boxes) -> np.ndarray:
    """Boxes ``(..., 4)`` as ``x0, y0, x1, y1`` → centre and size ``cx, cy, w, h``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.concatenate(
        [(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], -1
    )


def to_corners(xywh) -> np.ndarray:
    """Boxes ``(..., 4)`` as ``cx, cy, w, h`` → corners ``x0, y0, x1, y1``."""
    xywh = np.asarray(xywh, dtype=np.float64)
    centre, half = xywh[..., :2], xywh[..., 2:] / 2
    return np.concatenate([centre - half, centre + half], -1)
