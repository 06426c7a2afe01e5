"""Detections over video, identities across frames, and behaviour tables."""
