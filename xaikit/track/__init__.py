"""Detections over video, identities across frames, and behaviour tables.

One job per module: :mod:`~xaikit.track.detection` runs a detector over a video,
:mod:`~xaikit.track.association` links detections into identities (with the Kalman filter of
:mod:`~xaikit.track.motion`), :mod:`~xaikit.track.smoothing` removes velocity spikes, fills
gaps and smooths the boxes, :mod:`~xaikit.track.occlusion` places animals hidden under another
one, :mod:`~xaikit.track.behaviour` and :mod:`~xaikit.track.zones` measure behaviour,
:mod:`~xaikit.track.appearance` describes each detection's colours for the tracker,
:mod:`~xaikit.track.evaluation` scores against ground truth, :mod:`~xaikit.track.export` writes
tables, :mod:`~xaikit.track.pipeline` chains them for one video and :mod:`~xaikit.track.batch`
runs many videos with failures isolated and finished ones skipped (the ``xaikit track``
command); :mod:`~xaikit.track.training` trains the detector on the lab's own labelled frames
(the ``xaikit train-detector`` command). Tracking draws nothing: the overlay video and figures
are in :mod:`xaikit.viz`
(:func:`~xaikit.viz.write_overlay`, :func:`~xaikit.viz.trajectory_figure`), and the maps of
each detection come from :func:`xaikit.explain.frames` with the track table as the target.
"""

from xaikit.track.association import track
from xaikit.track.batch import find_videos, run_batch
from xaikit.track.behaviour import (
    cm_per_pixel,
    distance_travelled,
    immobility_bouts,
    occupancy,
    speed,
    summary,
    trajectory,
)
from xaikit.track.detection import VideoDetections, detect_video
from xaikit.track.evaluation import (
    compare_detectors,
    evaluate_detections,
    evaluate_tracks,
    match_identities,
    paper_table,
    relabel_tracks,
)
from xaikit.track.export import save_table
from xaikit.track.occlusion import fill_hidden
from xaikit.track.pipeline import TrackingResult, analyse_video
from xaikit.track.smoothing import (
    filter_velocity_spikes,
    interpolate_gaps,
    smooth_tracks,
    spike_threshold,
)
from xaikit.track.training import Recipe, TrainedDetector, train_detector
from xaikit.track.zones import Zone, open_field_centre, read_zones, zone_visits

__all__ = [
    "Recipe",
    "TrainedDetector",
    "TrackingResult",
    "VideoDetections",
    "Zone",
    "analyse_video",
    "cm_per_pixel",
    "detect_video",
    "distance_travelled",
    "compare_detectors",
    "evaluate_detections",
    "evaluate_tracks",
    "match_identities",
    "fill_hidden",
    "filter_velocity_spikes",
    "find_videos",
    "immobility_bouts",
    "interpolate_gaps",
    "occupancy",
    "open_field_centre",
    "paper_table",
    "relabel_tracks",
    "read_zones",
    "run_batch",
    "save_table",
    "smooth_tracks",
    "speed",
    "spike_threshold",
    "train_detector",
    "summary",
    "track",
    "trajectory",
    "zone_visits",
]
