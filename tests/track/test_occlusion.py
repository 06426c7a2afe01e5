"""Hidden animals placed under the animal on top, on hand-worked track tables."""

import numpy as np
import pandas as pd
import pytest
import torch

from xaikit.track import analyse_video, fill_hidden


def _tracks(rows) -> pd.DataFrame:
    """Track table from ``(frame, track, x0, x1)`` rows: boxes 10 px high, 10 frames/s."""
    table = pd.DataFrame(rows, columns=["frame", "track", "x0", "x1"])
    return table.assign(
        time=table["frame"] / 10, y0=0.0, y1=10.0, cx=(table["x0"] + table["x1"]) / 2, cy=5.0,
        score=0.9,
    )  # fmt: skip


def _still(track: int, x0: float, frames) -> list[tuple]:
    return [(f, track, x0, x0 + 20) for f in frames]


def test_a_stretch_between_two_overlaps_gets_the_box_on_top():
    top = [(f, 0, 10.0 * f, 10.0 * f + 20) for f in range(8)]
    under = [(f, 1, 10.0 * f + 5, 10.0 * f + 25) for f in (0, 1, 6, 7)]
    filled = fill_hidden(_tracks(top + under), frames=8)
    hidden = filled[filled["hidden"]]
    assert hidden[["frame", "track", "x0", "x1", "cx"]].values.tolist() == [
        [f, 1, 10.0 * f, 10.0 * f + 20, 10.0 * f + 10] for f in (2, 3, 4, 5)
    ]
    assert hidden["interpolated"].all() and hidden["score"].isna().all()
    assert hidden["time"].tolist() == [0.2, 0.3, 0.4, 0.5]
    assert not filled.loc[~filled["hidden"], "interpolated"].any()
    assert filled["frame"].is_monotonic_increasing and len(filled) == 16


def test_stretches_at_the_start_and_the_end_need_one_overlap():
    rows = _still(0, 0, range(10)) + _still(1, 10, range(3, 7))
    filled = fill_hidden(_tracks(rows), frames=10)
    assert filled.loc[filled["hidden"], "frame"].tolist() == [0, 1, 2, 7, 8, 9]
    assert (filled.loc[filled["hidden"], "x0"] == 0).all()


def test_no_fill_without_an_overlap_on_every_side():
    # Track 1 leaves from under track 0 but comes back far away: it was not under track 0.
    rows = _still(0, 0, range(10)) + _still(1, 10, range(3)) + _still(1, 100, range(7, 10))
    filled = fill_hidden(_tracks(rows), frames=10)
    assert not filled["hidden"].any() and len(filled) == 16
    # Apart at the end of the video: the last stretch stays empty too.
    rows = _still(0, 0, range(10)) + _still(1, 50, range(5))
    assert not fill_hidden(_tracks(rows), frames=10)["hidden"].any()


def test_frames_where_the_animal_on_top_is_missing_stay_empty():
    rows = _still(0, 0, [0, 1, 2, 4, 5]) + _still(1, 5, [0, 5])
    filled = fill_hidden(_tracks(rows), frames=6)
    assert filled.loc[filled["hidden"], "frame"].tolist() == [1, 2, 4]


def test_the_animal_covering_most_is_the_one_on_top():
    rows = _still(0, 0, range(4)) + _still(2, 18, range(4)) + _still(1, 4, [0, 3])
    filled = fill_hidden(_tracks(rows), frames=4)  # track 1 is 80 % under 0, 30 % under 2
    assert filled.loc[filled["hidden"], "x0"].tolist() == [0, 0]


def test_complete_tracks_and_empty_tables_only_gain_the_column():
    complete = _tracks(_still(0, 0, range(3)) + _still(1, 5, range(3)))
    filled = fill_hidden(complete, frames=3)
    assert not filled["hidden"].any()
    expected = complete.sort_values(["frame", "track"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(filled.drop(columns=["hidden", "interpolated"]), expected)
    assert fill_hidden(complete.iloc[:0], frames=3).empty


@pytest.mark.parametrize(
    "table, frames, message",
    [
        (_tracks(_still(0, 0, range(3))).drop(columns="cx"), 3, "cx"),
        (_tracks(_still(0, 0, range(5))), 3, "outside"),
        (_tracks(_still(0, 0, range(3))), 0, "frames must be"),
    ],
)
def test_bad_input_is_refused(table, frames, message):
    with pytest.raises(ValueError, match=message):
        fill_hidden(table, frames)


class _Replay:
    """A detector that returns a fixed table's rows, frame after frame."""

    def __init__(self, table):
        self.rows = {f: rows for f, rows in table.groupby("frame")}
        self.next = 0

    def detect(self, frames, conf_threshold, iou_threshold):
        found = []
        for _ in frames:
            rows = self.rows.get(self.next)
            boxes = np.zeros((0, 6)) if rows is None else rows[["x0", "y0", "x1", "y1", "score"]]
            found.append(torch.as_tensor(np.column_stack([boxes, np.zeros(len(boxes))])))
            self.next += 1
        return found


def test_the_pipeline_places_hidden_animals_only_when_their_number_is_known():
    # Two mice walk side by side, overlapping; the detector misses mouse 1 for 15 frames,
    # more than max_gap: with animals=2 it is under mouse 0 there, otherwise it is unknown.
    frames = np.zeros((40, 60, 120, 3), np.uint8)
    rows = [(f, 2 + f, 10, 22 + f, 20, 0.9) for f in range(40)]
    rows += [(f, 14 + f, 12, 34 + f, 22, 0.9) for f in range(40) if not 10 <= f < 25]
    table = pd.DataFrame(rows, columns=["frame", "x0", "y0", "x1", "y1", "score"])
    runs = {
        (animals, smooth): analyse_video(
            _Replay(table), frames, animals=animals, fps=10, max_gap=10, smooth=smooth,
            appearance=False, progress=False,
        ).tracks
        for animals, smooth in ((None, True), (2, True), (2, False))
    }  # fmt: skip
    assert "hidden" not in runs[None, True] and len(runs[None, True]) == 65
    known = runs[2, True]
    assert len(known) == 80 and known.loc[known["hidden"], "frame"].tolist() == list(range(10, 25))
    raw = runs[2, False]  # unsmoothed: every row not filled is one of the detector's boxes
    detected = raw[~raw["interpolated"]].merge(table, on=["frame", "x0", "y0", "x1", "y1"])
    assert len(detected) == (~raw["interpolated"]).sum() > 50
    assert raw["frame"].tolist() == known["frame"].tolist()
    assert not np.allclose(raw[["x0", "x1"]], known[["x0", "x1"]])
