"""blend_map (the widgets' fast overlay) and compose_frame: literal data checked by hand."""

import time

import numpy as np
import pytest

from xaikit.viz import overlay
from xaikit.viz.compose import blend_map, compose_frame, draw_marker


def textured(height=48, width=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


class TestBlendMap:
    def test_a_zero_map_leaves_the_frame_unchanged(self):
        frame = textured()
        for cmap in ("jet", "viridis", "inferno"):
            assert np.array_equal(blend_map(frame, np.zeros((6, 8)), 1.0, cmap), frame)

    def test_opacity_is_alpha_times_the_map(self):
        frame = np.full((1, 3, 3), 100, np.uint8)
        heat = np.array([[0.0, 0.5, 1.0]])
        out = blend_map(frame, heat, alpha=0.8, cmap="gray").astype(int)[0, :, 0]
        # weight 0, 0.4, 0.8 on grey levels 0, 128, 255
        expected = [100, 0.6 * 100 + 0.4 * 128, 0.2 * 100 + 0.8 * 255]
        assert np.abs(out - expected).max() <= 1

    def test_matches_the_reference_overlay_with_a_following_alpha(self):
        frame, heat = textured(), np.random.default_rng(1).random((48, 64))
        fast = blend_map(frame, heat, alpha=0.7, cmap="jet").astype(int)
        reference = overlay(frame, heat, alpha=0.7, cmap="jet", normalize=False, follow=True)
        assert np.abs(fast - reference.astype(int)).max() <= 2

    def test_without_follow_the_whole_frame_is_tinted(self):
        frame = np.full((2, 2, 3), 100, np.uint8)
        out = blend_map(frame, np.zeros((1, 1)), alpha=1.0, cmap="gray", follow=False)
        assert out.max() == 0  # the colormap's lowest colour everywhere

    def test_bad_inputs_say_what_was_expected(self):
        with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
            blend_map(textured(), np.zeros((2, 2)), alpha=1.5)
        with pytest.raises(ValueError, match=r"heatmap must have shape \(h, w\)"):
            blend_map(textured(), np.zeros((2, 2, 2)))

    def test_fast_at_640x480(self):
        frame, heat = textured(480, 640), np.random.default_rng(1).random((60, 80))
        blend_map(frame, heat)
        start = time.perf_counter()
        for _ in range(20):
            blend_map(frame, heat, alpha=0.6)
        per_call_ms = (time.perf_counter() - start) / 20 * 1000
        assert per_call_ms < 15, per_call_ms  # about 2 ms on one free core


class TestComposeFrame:
    def test_marker_is_a_cross_on_a_copy(self):
        frame = np.full((20, 20, 3), 60, np.uint8)
        out = compose_frame(frame, marker=(10, 10))
        assert out[10, 10].tolist() == [255, 255, 255] and out[10, 15].tolist() == [255] * 3
        assert out[9, 14].tolist() == [0, 0, 0]  # the dark outline
        assert out[2, 2].tolist() == [60, 60, 60] and frame.max() == 60  # input untouched

    def test_marker_drawn_over_the_map_and_boxes(self):
        frame = np.zeros((20, 20, 3), np.uint8)
        out = compose_frame(
            frame, np.ones((2, 2)), alpha=1.0, cmap="gray", boxes=[[1, 1, 19, 19]], marker=(5, 5)
        )
        assert out[5, 5].tolist() == [255, 255, 255] and out[5, 8].tolist() == [255] * 3

    def test_draw_marker_clips_at_the_border(self):
        picture = np.zeros((8, 8, 3), np.uint8)
        draw_marker(picture, (0, 7))
        assert picture[7, 0].tolist() == [255, 255, 255]
