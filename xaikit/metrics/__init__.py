"""Scores for maps and detections: saliency, localization, detection, faithfulness, sanity, tracking."""
