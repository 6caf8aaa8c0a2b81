from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from autoscope.errors import DataError
from autoscope.viz.latent import labels_on_grid, plot_latent, plot_latent_clusters

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def blobs(grid=(6, 8), seed=0):
    """Left half of the grid in one latent blob, right half in another, far apart."""
    rng = np.random.default_rng(seed)
    coords = np.argwhere(np.ones(grid, dtype=bool))
    right = coords[:, 1] >= grid[1] // 2
    latents = rng.normal(scale=0.1, size=(len(coords), 4))
    latents[right, :2] += 5.0
    return latents, coords, right


def render(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


@pytest.mark.parametrize("measured", [None, [], [5, 0, 17]])
def test_plot_latent_builds(measured):
    latents, _, _ = blobs()
    ax = plot_latent(latents, measured=measured, title="run 1")
    assert ax.get_title() == "run 1"
    assert render(ax.figure).startswith(PNG_MAGIC)
    assert len(ax.collections) == (2 if measured else 1)


def test_plot_latent_colours_by_order_on_given_axes():
    latents, _, _ = blobs()
    ax = Figure().add_subplot()
    assert plot_latent(latents, measured=[5, 0, 17], order=[10, 20, 30], ax=ax) is ax
    measured = ax.collections[1]
    np.testing.assert_array_equal(measured.get_offsets(), latents[[5, 0, 17], :2])
    np.testing.assert_array_equal(measured.get_array(), [10, 20, 30])
    assert "3 of 48 measured" in ax.get_title()


def test_plot_latent_bad_input():
    latents, _, _ = blobs()
    with pytest.raises(DataError, match="d >= 2"):
        plot_latent(latents[:, :1])
    with pytest.raises(DataError, match="NaN"):
        plot_latent(np.full((3, 2), np.nan))
    with pytest.raises(DataError, match="pool indices"):
        plot_latent(latents, measured=[48])
    with pytest.raises(DataError, match="one finite measurement number"):
        plot_latent(latents, measured=[1, 2], order=[1])


@pytest.mark.parametrize("measured", [None, [3, 40]])
def test_plot_latent_clusters_maps_labels_to_their_cells(measured):
    latents, coords, right = blobs()
    labels, (ax_z, ax_xy) = plot_latent_clusters(
        latents, coords, (6, 8), k=2, seed=0, measured=measured
    )
    # two well separated blobs: renumbered by first latent dimension, left blob = 0
    np.testing.assert_array_equal(labels, right.astype(int))
    image = np.asarray(ax_xy.images[0].get_array())
    expected = np.zeros((6, 8))
    expected[:, 4:] = 1
    np.testing.assert_array_equal(image, expected)
    assert render(ax_z.figure).startswith(PNG_MAGIC)
    n_marks = 0 if measured is None else 1
    assert len(ax_xy.collections) == n_marks
    if measured is not None:
        np.testing.assert_array_equal(ax_xy.collections[0].get_offsets(), coords[measured][:, ::-1])


def test_plot_latent_clusters_on_a_sparse_grid_and_given_axes():
    latents, coords, _ = blobs()
    keep = np.arange(0, len(coords), 3)  # candidates on every third cell only
    axes = Figure().subplots(1, 2)
    labels, drawn = plot_latent_clusters(latents[keep], coords[keep], (6, 8), k=3, axes=axes)
    assert tuple(drawn) == tuple(axes) and set(labels) <= {0, 1, 2}
    image = np.ma.filled(np.asarray(axes[1].images[0].get_array(), dtype=float), np.nan)
    np.testing.assert_array_equal(image[coords[keep, 0], coords[keep, 1]], labels)
    assert np.isnan(image).sum() == 48 - len(keep)


def test_plot_latent_clusters_is_seeded():
    latents = np.random.default_rng(3).standard_normal((40, 3))
    coords = np.argwhere(np.ones((5, 8), dtype=bool))
    first, _ = plot_latent_clusters(latents, coords, (5, 8), k=4, seed=7)
    again, _ = plot_latent_clusters(latents, coords, (5, 8), k=4, seed=7)
    np.testing.assert_array_equal(first, again)


def test_labels_on_grid_and_bad_coords():
    grid = labels_on_grid(np.array([1, 0, 2]), np.array([[0, 0], [1, 2], [0, 2]]), (2, 3))
    np.testing.assert_array_equal(grid, [[1, np.nan, 2], [np.nan, np.nan, 0]])
    with pytest.raises(DataError, match="inside the grid"):
        labels_on_grid(np.array([0]), np.array([[2, 0]]), (2, 3))
    with pytest.raises(DataError, match="inside the grid"):
        labels_on_grid(np.array([0]), np.array([[0.5, 0]]), (2, 3))
    with pytest.raises(DataError, match="repeat a grid cell"):
        labels_on_grid(np.array([0, 1]), np.array([[1, 1], [1, 1]]), (2, 3))
    with pytest.raises(DataError, match="must match"):
        labels_on_grid(np.array([0, 1]), np.array([[1, 1]]), (2, 3))
    latents, coords, _ = blobs()
    with pytest.raises(DataError, match=r"\(N, 2\)"):
        plot_latent_clusters(latents, coords[:-1], (6, 8))
    with pytest.raises(ValueError, match="two axes"):
        plot_latent_clusters(latents, coords, (6, 8), axes=[Figure().add_subplot()])
