import numpy as np
import pytest
import torch

from xaikit.viz import colorize, overlay


class TestColorizeNormalises:
    """colorize min-max normalises with xaikit's one helper: NaN ignored, constant -> lowest."""

    def test_literal(self):
        rgb = colorize([[2.0, 4.0], [3.0, 6.0]], cmap="gray")
        assert rgb[..., 0].tolist() == [[0, 128], [64, 255]]  # 0, 0.5, 0.25, 1 of 255, rounded

    def test_constant_map_shows_the_lowest_colour(self):
        lowest = colorize([[0.0, 1.0]], cmap="viridis")[0, 0].tolist()
        assert lowest != [0, 0, 0]  # not the black of NaN
        assert (colorize(np.full((3, 3), 7.0), cmap="viridis") == lowest).all()

    def test_nan_is_ignored_in_the_range(self):
        rgb = colorize([[0.0, np.nan], [2.0, 1.0]], cmap="gray")
        assert rgb[..., 0].tolist() == [[0, 0], [255, 128]]

    def test_accepts_tensors(self):
        assert colorize(torch.tensor([[1.0, 3.0]]), cmap="gray")[0, :, 0].tolist() == [0, 255]


class TestColorize:
    def test_gray_endpoints(self):
        rgb = colorize([[0.0, 0.5, 1.0]], cmap="gray")
        assert rgb.dtype == np.uint8
        assert rgb[0, :, 0].tolist() == [0, 128, 255]

    def test_without_normalisation_values_are_clipped(self):
        rgb = colorize([[-1.0, 2.0]], cmap="gray", normalize=False)
        assert rgb[0, :, 0].tolist() == [0, 255]

    def test_nan_is_black(self):
        assert colorize([[np.nan, 1.0, 0.0]], cmap="viridis")[0, 0].tolist() == [0, 0, 0]

    def test_unknown_cmap_names_the_problem(self):
        with pytest.raises(ValueError, match="unknown colormap 'nope'"):
            colorize(np.eye(2), cmap="nope")

    def test_wrong_shape(self):
        with pytest.raises(ValueError, match=r"\(H, W\)"):
            colorize(np.zeros((2, 2, 2)))


class TestOverlay:
    def test_alpha_zero_returns_the_image(self):
        image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
        assert np.array_equal(
            overlay(image, np.random.default_rng(1).random((5, 7)), alpha=0.0), image
        )

    def test_literal_blend(self):
        image = np.full((1, 2, 3), 100, np.uint8)
        result = overlay(image, [[0.0, 1.0]], alpha=0.5, cmap="gray", follow=False)
        assert result[0, :, 0].tolist() == [50, 178]  # 100/2 + 0/2, 100/2 + 255/2 rounded
        # the opacity follows the map: 0 leaves the pixel, 1 blends by alpha
        result = overlay(image, [[0.0, 1.0]], alpha=0.5, cmap="gray")
        assert result[0, :, 0].tolist() == [100, 178]
        wider = np.full((1, 3, 3), 100, np.uint8)
        quarter = overlay(wider, [[0.0, 0.25, 1.0]], alpha=1.0, cmap="gray")[0, 1, 0]
        assert quarter == round(100 * 0.75 + round(0.25 * 255) * 0.25)

    def test_small_map_is_resized_to_the_image(self):
        image = np.zeros((40, 60, 3), np.uint8)
        heat = torch.zeros(4, 6)
        heat[0, 0] = 1.0
        result = overlay(image, heat, alpha=1.0, cmap="gray")
        assert result.shape == (40, 60, 3)
        assert result[0, 0, 0] > result[-1, -1, 0]

    def test_nan_pixels_show_the_image(self):
        image = np.full((2, 2, 3), 60, np.uint8)
        heat = np.array([[np.nan, 1.0], [0.0, 0.5]])
        result = overlay(image, heat, alpha=0.8, cmap="gray")
        assert result[0, 0].tolist() == [60, 60, 60]
        assert result[0, 1, 0] != 60

    def test_grey_and_float_images(self):
        assert overlay(np.zeros((3, 3)), np.eye(3)).shape == (3, 3, 3)
        assert overlay(np.ones((3, 3, 3), np.float32), np.eye(3), alpha=0.0).max() == 255

    @pytest.mark.parametrize("alpha", [-0.1, 1.5])
    def test_alpha_out_of_range(self, alpha):
        with pytest.raises(ValueError, match="alpha must lie in"):
            overlay(np.zeros((2, 2, 3), np.uint8), np.eye(2), alpha=alpha)

    def test_bad_image_shape(self):
        with pytest.raises(ValueError, match=r"image must have shape"):
            overlay(np.zeros((2, 2, 4), np.uint8), np.eye(2))

    def test_bad_image_dtype(self):
        with pytest.raises(ValueError, match="uint8"):
            overlay(np.zeros((2, 2, 3), np.int64), np.eye(2))
