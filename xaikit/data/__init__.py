"""Frames, clips, synthetic scenes, annotations and eye-tracking fixations."""
