import numpy as np
import pytest

from xaikit.track import Zone, open_field_centre, zone_visits


def test_contains_for_each_kind_and_nan():
    points = [[5, 5], [11, 5], [np.nan, 5]]
    assert Zone.rectangle("r", 10, 10, 0, 0).contains(points).tolist() == [True, False, False]
    assert Zone.circle("c", 5, 5, 6).contains(points).tolist() == [True, True, False]
    square = Zone.polygon("p", [[0, 0], [10, 0], [10, 10], [0, 10]])
    assert square.contains(points).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Zone("z", "hexagon", ((0, 0),)), "unknown zone kind"),
        (lambda: Zone.polygon("z", [[0, 0], [1, 1]]), "at least 3"),
        (lambda: Zone("z", "rectangle", ((0, 0),)), "exactly 2"),
        (lambda: Zone.circle("z", 0, 0, 0), "radius > 0"),
        (lambda: Zone.from_dict({"name": "z", "kind": "ellipse"}), "unknown zone kind"),
        (lambda: Zone.from_dict({"name": "z", "kind": "circle", "cx": 1}), "cy"),
        (lambda: open_field_centre((0, 0, 10, 10), fraction=0), "fraction"),
        (lambda: open_field_centre((10, 0, 0, 10)), "x1 > x0"),
        (lambda: open_field_centre(Zone.rectangle("a", 0, 0, 1, 1)), "circle Zone"),
    ],
)
def test_bad_zones_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_from_dict_builds_each_kind():
    polygon = Zone.from_dict({"name": "p", "kind": "polygon", "vertices": [[0, 0], [4, 0], [0, 4]]})
    assert polygon.kind == "polygon" and len(polygon.points) == 3
    assert Zone.from_dict({"name": "r", "kind": "rectangle", "x0": 0, "y0": 0, "x1": 2,
                           "y1": 2}).contains([[1, 1]]).tolist() == [True]  # fmt: skip


def test_open_field_centre_of_a_rectangle_covers_a_quarter():
    centre = open_field_centre((0, 0, 640, 480))
    assert centre.points == ((160.0, 120.0), (480.0, 360.0))


def test_zone_visits_entries_time_and_latency():
    zone = Zone.rectangle("z", 0, 0, 10, 10)
    x = [20, 20, 5, 5, 20, 5, 5, 5, 20, 20]
    points = np.column_stack([x, np.full(10, 5.0)])
    visits = zone_visits(points, np.arange(10) * 0.5, zone)
    assert visits == {"time_s": 2.5, "entries": 2, "latency_s": 1.0}
    never = zone_visits(points + 100, np.arange(10) * 0.5, zone)
    assert never["entries"] == 0 and never["time_s"] == 0 and np.isnan(never["latency_s"])
    with pytest.raises(ValueError, match="points must be"):
        zone_visits(points[:, :1], np.arange(10), zone)
