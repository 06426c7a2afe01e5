"""Scores for maps and detections.

Families: saliency, localization, detection, faithfulness, sanity, tracking.
"""
