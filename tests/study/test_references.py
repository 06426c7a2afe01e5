"""Study ground truth: boxes pass through unchanged (continuous), fixations pooled per image."""

import pandas as pd
import pytest

from xaikit.data.annotations import Annotations
from xaikit.study import clip_boxes, human_references, image_boxes


def _box_table():
    return pd.DataFrame(
        {
            "clip": [0, 0, 1],
            "frame": [0, 1, 1],
            "x0": [2.0, 3.0, 0.0],
            "y0": [1.0, 1.0, 0.0],
            "x1": [6.0, 7.0, 4.0],
            "y1": [4.0, 4.0, 2.0],
        }
    )


def test_clip_boxes_keep_the_continuous_boxes_per_clip_and_frame():
    boxes = clip_boxes(_box_table(), clips=2, frames=2)
    assert [len(clip) for clip in boxes] == [2, 2]
    assert boxes[0][0].tolist() == [[2.0, 1.0, 6.0, 4.0]]  # pixels 2..5 and 1..3, unchanged
    assert boxes[1][0].shape == (0, 4)  # clip 1 has no box in frame 0
    assert boxes[1][1].tolist() == [[0.0, 0.0, 4.0, 2.0]]
    assert [len(clip) for clip in clip_boxes(_box_table())] == [2, 2]  # sizes from the table


def test_clip_boxes_needs_the_columns():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['frame', 'x0'"):
        clip_boxes(pd.DataFrame({"clip": [0]}))


def test_image_boxes_keep_the_labelled_class():
    annotations = Annotations(
        images=pd.DataFrame({"image": ["a", "b"], "width": [9, 9], "height": [9, 9]}),
        boxes=pd.DataFrame(
            {
                "image": ["a", "a", "b"],
                "label": ["dot", "bar", "bar"],
                "x0": [0.0, 4.0, 1.0],
                "y0": [0.0, 4.0, 1.0],
                "x1": [2.0, 8.0, 3.0],
                "y1": [2.0, 5.0, 3.0],
            }
        ),
        classes=["dot", "bar"],
    )
    assert [len(b) for b in image_boxes(annotations)] == [2, 1]
    assert [b.tolist() for b in image_boxes(annotations, classes=[0, 0])] == [
        [[0.0, 0.0, 2.0, 2.0]],
        [],
    ]
    with pytest.raises(ValueError, match="one class per image"):
        image_boxes(annotations, classes=[0])


def test_human_references_pool_subjects_per_image_in_the_given_order():
    fixations = pd.DataFrame(
        {
            "x": [0.5, 2.5, 1.2],
            "y": [0.5, 0.5, 0.9],
            "duration": [100.0, 300.0, 200.0],
            "subject": ["s01", "s02", "s01"],
            "image": ["a", "a", "b"],
        }
    )
    # images of height 1, width 3; kernel 1: no blur; image a: durations 100 and 300 over 300
    with pytest.warns(UserWarning, match="all zeros"):
        maps, masks = human_references(fixations, ["b", "a", "c"], (1, 3), kernel=1)
    assert maps.tolist() == [[[0.0, 1.0, 0.0]], [[pytest.approx(1 / 3), 0.0, 1.0]], [[0.0] * 3]]
    assert masks.astype(int).tolist() == [[[0, 1, 0]], [[1, 0, 1]], [[0, 0, 0]]]
    with pytest.raises(ValueError, match="duration"):
        human_references(fixations.drop(columns="duration"), ["a"], (1, 3))
