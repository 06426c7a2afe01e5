import numpy as np
import pytest

from xaikit.viz import draw_boxes, draw_trail, identity_color


def blank(height=30, width=40):
    return np.zeros((height, width, 3), np.uint8)


class TestDrawBoxes:
    def test_outline_only_and_input_untouched(self):
        frame = blank()
        drawn = draw_boxes(frame, [[5, 5, 25, 20]], identities=[1], thickness=1)
        assert frame.max() == 0
        assert drawn[5, 15].tolist() == list(identity_color(1))  # top edge
        assert drawn[12, 15].tolist() == [0, 0, 0]  # inside stays clear

    def test_colours_are_the_okabe_ito_palette(self):
        drawn = draw_boxes(blank(), [[2, 2, 12, 12]], identities=[3], thickness=1)
        assert drawn[2, 5].tolist() == [213, 94, 0]  # vermillion

    def test_default_colours_follow_box_order(self):
        drawn = draw_boxes(blank(), [[2, 2, 10, 10], [20, 2, 30, 10]], thickness=1)
        assert drawn[2, 5].tolist() == list(identity_color(0))
        assert drawn[2, 25].tolist() == list(identity_color(1))

    def test_extra_columns_such_as_scores_are_ignored(self):
        with_score = draw_boxes(blank(), [[2, 2, 10, 10, 0.9]])
        assert np.array_equal(with_score, draw_boxes(blank(), [[2, 2, 10, 10]]))

    def test_empty_and_non_finite_boxes_draw_nothing(self):
        assert draw_boxes(blank(), np.zeros((0, 4))).max() == 0
        assert draw_boxes(blank(), []).max() == 0
        assert draw_boxes(blank(), [[np.nan, 1, 5, 5]]).max() == 0

    def test_caption_is_drawn_inside_the_frame(self):
        drawn = draw_boxes(blank(40, 80), [[0, 0, 30, 30]], labels=["m1"], thickness=1)
        assert (drawn[1:10, 1:20].min(axis=2) > 200).any()  # white text on the caption band

    def test_errors(self):
        with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
            draw_boxes(np.zeros((4, 4)), [[0, 0, 1, 1]])
        with pytest.raises(ValueError, match=r"boxes must be \(N, 4\)"):
            draw_boxes(blank(), [[0, 0, 1]])
        with pytest.raises(ValueError, match="got 2 labels for 1 boxes"):
            draw_boxes(blank(), [[0, 0, 1, 1]], labels=["a", "b"])


class TestDrawTrail:
    def test_gap_is_not_bridged(self):
        points = [[2, 5], [12, 5], [np.nan, np.nan], [28, 5], [38, 5]]
        drawn = draw_trail(blank(10, 40), points, identity=2, thickness=1)
        assert drawn[5, 7].tolist() == list(identity_color(2))
        assert drawn[5, 20].tolist() == [0, 0, 0]
        assert drawn[5, 33].tolist() == list(identity_color(2))

    def test_single_point_draws_nothing(self):
        assert draw_trail(blank(), [[3, 3]]).max() == 0

    def test_bad_points(self):
        with pytest.raises(ValueError, match=r"points must be \(N, 2\)"):
            draw_trail(blank(), [1, 2, 3])
