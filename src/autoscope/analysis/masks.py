"""Particle mask generators behind one protocol.

A :class:`MaskGenerator` maps an image `(H, W)` to a stack of boolean masks
`(K, H, W)`, one per particle. Generators built on a partition (watershed,
superpixels) give disjoint masks; others (Segment Anything) may give
overlapping ones, so consumers must not assume disjointness.

Segmentation itself is scikit-image's (:func:`~skimage.segmentation.watershed`,
:func:`~skimage.segmentation.slic`, :func:`~skimage.segmentation.felzenszwalb`)
or Meta's ``segment_anything`` package. Written here are the option checks,
the choice of foreground segments and the conversions between label images
and mask stacks.

Segment Anything is optional: :class:`SAMMasks` imports it only when called
and never downloads weights; pass the path of a checkpoint you obtained
yourself.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import threshold_otsu
from skimage.segmentation import felzenszwalb, slic, watershed

from autoscope.analysis.filters import _smooth
from autoscope.analysis.image import _check_choice, _check_float, _check_int, normalize
from autoscope.errors import ConfigError, DataError

__all__ = [
    "MASK_GENERATORS",
    "FelzenszwalbMasks",
    "MaskGenerator",
    "SAMMasks",
    "SLICMasks",
    "ThresholdWatershed",
    "labels_to_masks",
    "make_mask_generator",
    "masks_to_labels",
]

Foreground = Literal["bright", "dark"]
SegmentForeground = Literal["bright", "dark", "all"]

#: Largest mask stack (bytes, one per pixel per mask) a generator returns.
MAX_MASK_BYTES = 2**30
#: 8-connectivity for labelling foreground regions.
_EIGHT = np.ones((3, 3), dtype=bool)


@runtime_checkable
class MaskGenerator(Protocol):
    """Anything that turns an image into a stack of particle masks.

    Example:
        >>> class Everything:
        ...     def __call__(self, image):
        ...         return np.ones((1, *np.shape(image)), dtype=bool)
        >>> isinstance(Everything(), MaskGenerator)
        True
    """

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Masks of the particles in ``image``.

        Args:
            image: Array of shape `(H, W)`.

        Returns:
            Bool array of shape `(K, H, W)`; `K` may be 0. Masks may overlap.
        """
        ...


def labels_to_masks(labels: ArrayLike) -> np.ndarray:
    """Split a label image into one boolean mask per label.

    Args:
        labels: Integer array of shape `(H, W)`; 0 is background, labels need
            not be consecutive.

    Returns:
        Bool array of shape `(K, H, W)`, one mask per distinct positive label
        in increasing label order; `(0, H, W)` when there is none.

    Raises:
        DataError: If ``labels`` is not a 2-D array of non-negative integers.

    Example:
        >>> labels_to_masks(np.array([[0, 1], [2, 2]])).shape
        (2, 2, 2)
    """
    array = np.asarray(labels)
    if array.ndim != 2:
        raise DataError(f"labels must be a 2-D (H, W) array, got shape {array.shape}")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise DataError(f"labels must hold integers, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise DataError(f"labels must be >= 0 (0 = background), found {int(array.min())}")
    values = np.unique(array)
    values = values[values > 0]
    return array[None, :, :] == values[:, None, None]


def masks_to_labels(masks: ArrayLike) -> np.ndarray:
    """Merge a mask stack into one label image.

    Args:
        masks: Bool array of shape `(K, H, W)`.

    Returns:
        Int32 array of shape `(H, W)`: 0 for background, `k + 1` where mask `k`
        is set. Where masks overlap, the later mask wins.

    Raises:
        DataError: If ``masks`` is not a 3-D boolean (or 0/1) array.

    Example:
        >>> masks = np.zeros((2, 2, 3), dtype=bool)
        >>> masks[0, :, :2] = True
        >>> masks[1, :, 1:] = True
        >>> masks_to_labels(masks).tolist()
        [[1, 2, 2], [1, 2, 2]]
    """
    array = np.asarray(masks)
    if array.ndim != 3:
        raise DataError(f"masks must be a (K, H, W) stack, got shape {array.shape}")
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.number) or not np.isin(array, (0, 1)).all():
            raise DataError("masks must be boolean (or hold only 0 and 1)")
        array = array.astype(bool)
    labels = np.zeros(array.shape[1:], dtype=np.int32)
    for k, mask in enumerate(array):
        labels[mask] = k + 1
    return labels


def _drop_small(masks: np.ndarray, min_area: int) -> np.ndarray:
    """Keep masks of at least ``min_area`` pixels."""
    if len(masks) == 0:
        return masks
    return masks[masks.sum(axis=(1, 2)) >= min_area]


def _label_masks(labels: np.ndarray, min_area: int) -> np.ndarray:
    """Masks `(K, H, W)` of the labels (> 0) covering at least ``min_area`` pixels.

    Raises:
        ConfigError: If the stack would exceed :data:`MAX_MASK_BYTES`.
    """
    sizes = np.bincount(labels.ravel())
    ids = np.flatnonzero(sizes >= max(min_area, 1))
    ids = ids[ids > 0]
    needed = len(ids) * labels.size
    if needed > MAX_MASK_BYTES:
        raise ConfigError(
            f"these options give {len(ids)} masks of {labels.shape[0]} x {labels.shape[1]} "
            f"pixels ({needed / 2**30:.1f} GiB as a (K, H, W) stack, limit "
            f"{MAX_MASK_BYTES / 2**30:.1f} GiB); raise min_area or coarsen the segmentation"
        )
    rank = np.full(len(sizes), -1, dtype=np.intp)
    rank[ids] = np.arange(len(ids))
    flat = rank[labels.ravel()]
    pixels = np.flatnonzero(flat >= 0)
    masks = np.zeros((len(ids), labels.size), dtype=bool)
    masks[flat[pixels], pixels] = True
    return masks.reshape(len(ids), *labels.shape)


def _select_segments(
    segments: np.ndarray,
    image: np.ndarray,
    *,
    foreground: SegmentForeground,
    merge: bool,
    min_area: int,
) -> np.ndarray:
    """Masks `(K, H, W)` of the foreground segments of a label image.

    ``"bright"`` (``"dark"``) keeps segments whose mean intensity is above
    (below) the Otsu threshold of the segment means; with ``merge`` touching
    kept segments become one mask. ``"all"`` keeps every segment unmerged.
    """
    ids, inverse = np.unique(segments, return_inverse=True)
    inverse = inverse.reshape(segments.shape)
    if foreground == "all":
        # Segment labels may start at 0 (Felzenszwalb): shift them all past background.
        return _label_masks(inverse + 1, min_area)
    sums = np.bincount(inverse.ravel(), weights=image.ravel(), minlength=len(ids))
    counts = np.bincount(inverse.ravel(), minlength=len(ids))
    means = sums / np.maximum(counts, 1)
    if np.ptp(means) == 0.0:
        # One segment, or all alike: no segment stands out from the others.
        return np.zeros((0, *image.shape), dtype=bool)
    level = threshold_otsu(means)
    keep = means > level if foreground == "bright" else means <= level
    selected = keep[inverse]
    if merge:
        labels, _ = ndi.label(selected, structure=_EIGHT)
    else:
        labels = np.where(selected, inverse + 1, 0)
    return _label_masks(labels, min_area)


class ThresholdWatershed:
    """Threshold, then split touching particles by a distance-transform watershed.

    The image is normalised to [0, 1] and smoothed; foreground pixels are
    above (``"bright"``) or below (``"dark"``) the threshold; the Euclidean
    distance to the background is flooded from its local maxima (at least
    ``min_distance`` apart) with :func:`skimage.segmentation.watershed`.

    Args:
        threshold: ``"otsu"`` or a level in [0, 1] on the normalised,
            smoothed image.
        sigma: Gaussian smoothing in pixels, >= 0.
        min_distance: Smallest distance between watershed seeds in pixels,
            >= 1.
        min_area: Masks with fewer pixels are dropped, >= 0.
        foreground: ``"bright"`` or ``"dark"`` particles.

    Raises:
        ConfigError: If an option is unknown or out of range.

    Example:
        >>> rows, cols = np.mgrid[:64, :64]
        >>> image = ((rows - 20) ** 2 + (cols - 20) ** 2 < 64).astype(float)
        >>> ThresholdWatershed()(image).shape
        (1, 64, 64)
    """

    def __init__(
        self,
        *,
        threshold: float | Literal["otsu"] = "otsu",
        sigma: float = 1.0,
        min_distance: int = 5,
        min_area: int = 10,
        foreground: Foreground = "bright",
    ) -> None:
        if isinstance(threshold, str):
            _check_choice("threshold", threshold, ("otsu",))
        else:
            threshold = _check_float("threshold", threshold, low=0.0, high=1.0)
        self.threshold = threshold
        self.sigma = _check_float("sigma", sigma, low=0.0)
        self.min_distance = _check_int("min_distance", min_distance, low=1)
        self.min_area = _check_int("min_area", min_area, low=0)
        self.foreground = _check_choice("foreground", foreground, ("bright", "dark"))

    def __repr__(self) -> str:
        return _repr(self)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Masks `(K, H, W)` of the particles in an image `(H, W)`; disjoint."""
        smoothed = _smooth(normalize(image), self.sigma)
        if self.threshold == "otsu":
            level = threshold_otsu(smoothed) if np.ptp(smoothed) > 0 else smoothed.max()
        else:
            level = float(self.threshold)
        fg = smoothed > level if self.foreground == "bright" else smoothed < level
        if not fg.any():
            return np.zeros((0, *smoothed.shape), dtype=bool)
        distance = ndi.distance_transform_edt(fg)
        regions, _ = ndi.label(fg, structure=_EIGHT)
        peaks = peak_local_max(
            distance, min_distance=self.min_distance, labels=regions, exclude_border=False
        )
        peaks = peaks[np.lexsort((peaks[:, 1], peaks[:, 0]))] if len(peaks) else peaks
        markers = np.zeros(fg.shape, dtype=np.intp)
        markers[peaks[:, 0], peaks[:, 1]] = np.arange(1, len(peaks) + 1)
        # A region without a seed (possible for tiny regions) is seeded at its own maximum.
        seeded = np.unique(regions[markers > 0])
        missing = np.setdiff1d(np.arange(1, regions.max() + 1), seeded)
        if len(missing):
            spots = ndi.maximum_position(distance, regions, missing)
            for k, spot in enumerate(spots):
                markers[spot] = len(peaks) + k + 1
        labels = watershed(-distance, markers, mask=fg, connectivity=2)
        return _label_masks(labels, self.min_area)


class SLICMasks:
    """Superpixels by SLIC, keeping the bright (or dark) ones as particles.

    Args:
        n_segments: Approximate number of superpixels, >= 1.
        compactness: Balance of intensity and space for SLIC on a [0, 1]
            grey image, > 0 (about 0.01 to 1 is useful; higher gives squarer
            superpixels).
        sigma: Gaussian smoothing inside SLIC in pixels, >= 0.
        min_area: Masks with fewer pixels are dropped, >= 0.
        foreground: ``"bright"``/``"dark"``: superpixels whose mean is above /
            at most the Otsu threshold of all superpixel means; ``"all"``:
            every superpixel.
        merge: With ``"bright"``/``"dark"``, join touching kept superpixels
            into one mask per particle; ``"all"`` never merges.

    Raises:
        ConfigError: If an option is unknown or out of range.

    Example:
        >>> rows, cols = np.mgrid[:64, :64]
        >>> image = ((rows - 20) ** 2 + (cols - 20) ** 2 < 64).astype(float)
        >>> SLICMasks(n_segments=50)(image).shape[1:]
        (64, 64)
    """

    def __init__(
        self,
        *,
        n_segments: int = 200,
        compactness: float = 0.1,
        sigma: float = 1.0,
        min_area: int = 10,
        foreground: SegmentForeground = "bright",
        merge: bool = True,
    ) -> None:
        self.n_segments = _check_int("n_segments", n_segments, low=1)
        self.compactness = _check_float("compactness", compactness, low=0.0, low_open=True)
        self.sigma = _check_float("sigma", sigma, low=0.0)
        self.min_area = _check_int("min_area", min_area, low=0)
        self.foreground = _check_choice("foreground", foreground, ("bright", "dark", "all"))
        self.merge = _check_bool("merge", merge)

    def __repr__(self) -> str:
        return _repr(self)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Masks `(K, H, W)` of the particles in an image `(H, W)`; disjoint."""
        array = normalize(image)
        segments = slic(
            array,
            n_segments=self.n_segments,
            compactness=self.compactness,
            sigma=self.sigma,
            channel_axis=None,
            start_label=1,
        )
        return _select_segments(
            segments, array, foreground=self.foreground, merge=self.merge, min_area=self.min_area
        )


class FelzenszwalbMasks:
    """Felzenszwalb's graph segmentation, keeping the bright (or dark) segments.

    Args:
        scale: Larger values give larger segments, > 0.
        sigma: Gaussian smoothing before segmentation in pixels, >= 0.
        min_size: Smallest segment of the graph segmentation in pixels, >= 1.
        min_area: Masks with fewer pixels are dropped, >= 0.
        foreground: ``"bright"``, ``"dark"`` or ``"all"``, as for
            :class:`SLICMasks`.
        merge: Join touching kept segments, as for :class:`SLICMasks`.

    Raises:
        ConfigError: If an option is unknown or out of range.

    Example:
        >>> rows, cols = np.mgrid[:64, :64]
        >>> image = ((rows - 20) ** 2 + (cols - 20) ** 2 < 64).astype(float)
        >>> FelzenszwalbMasks()(image).shape
        (1, 64, 64)
    """

    def __init__(
        self,
        *,
        scale: float = 100.0,
        sigma: float = 0.8,
        min_size: int = 20,
        min_area: int = 10,
        foreground: SegmentForeground = "bright",
        merge: bool = True,
    ) -> None:
        self.scale = _check_float("scale", scale, low=0.0, low_open=True)
        self.sigma = _check_float("sigma", sigma, low=0.0)
        self.min_size = _check_int("min_size", min_size, low=1)
        self.min_area = _check_int("min_area", min_area, low=0)
        self.foreground = _check_choice("foreground", foreground, ("bright", "dark", "all"))
        self.merge = _check_bool("merge", merge)

    def __repr__(self) -> str:
        return _repr(self)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Masks `(K, H, W)` of the particles in an image `(H, W)`; disjoint."""
        array = normalize(image)
        # scikit-image divides ``scale`` by 255 for float input, so on a [0, 1] image
        # it means what it means on a 0-255 image in the original paper.
        segments = felzenszwalb(
            array,
            scale=self.scale,
            sigma=self.sigma,
            min_size=self.min_size,
            channel_axis=None,
        )
        return _select_segments(
            segments, array, foreground=self.foreground, merge=self.merge, min_area=self.min_area
        )


#: How to install the optional Segment Anything package.
SAM_INSTALL = "pip install git+https://github.com/facebookresearch/segment-anything.git"
#: Model types of Segment Anything.
SAM_MODEL_TYPES = ("vit_b", "vit_l", "vit_h")


class SAMMasks:
    """Adapter for Meta's Segment Anything automatic mask generator (optional).

    ``segment_anything`` is imported, and the model loaded from
    ``checkpoint``, on the first call; the model is then kept. Weights are
    never downloaded. The grey image is normalised to [0, 1] and repeated to
    three uint8 channels. Masks may overlap.

    Args:
        checkpoint: Path of a Segment Anything checkpoint matching
            ``model_type`` (e.g. ``sam_vit_b_01ec64.pth``).
        model_type: ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.
        points_per_side: Prompt grid size, >= 1.
        pred_iou_thresh: Predicted-quality threshold, in [0, 1].
        min_area: Masks with fewer pixels are dropped, >= 0.
        device: Torch device for the model, e.g. ``"cpu"`` or ``"cuda"``.

    Raises:
        ConfigError: If the checkpoint file does not exist or an option is out
            of range; on call, if ``segment_anything`` is not installed.

    Example:
        >>> generator = SAMMasks("sam_vit_b_01ec64.pth")  # doctest: +SKIP
        >>> masks = generator(image)  # doctest: +SKIP
    """

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        model_type: str = "vit_b",
        points_per_side: int = 32,
        pred_iou_thresh: float = 0.88,
        min_area: int = 10,
        device: str = "cpu",
    ) -> None:
        path = Path(checkpoint)
        if not path.is_file():
            raise ConfigError(
                f"Segment Anything checkpoint not found: {path} (autoscope never downloads "
                "weights; download one from the segment-anything project and pass its path)"
            )
        self.checkpoint = path
        self.model_type = _check_choice("model_type", model_type, SAM_MODEL_TYPES)
        self.points_per_side = _check_int("points_per_side", points_per_side, low=1)
        self.pred_iou_thresh = _check_float("pred_iou_thresh", pred_iou_thresh, low=0.0, high=1.0)
        self.min_area = _check_int("min_area", min_area, low=0)
        self.device = str(device)
        self._generator: Any = None

    def __repr__(self) -> str:
        return _repr(self)

    def _load(self) -> Any:
        if self._generator is None:
            try:
                from segment_anything import SamAutomaticMaskGenerator, sam_model_registry
            except ImportError as exc:
                raise ConfigError(
                    f"SAMMasks needs the optional 'segment_anything' package: {SAM_INSTALL}"
                ) from exc
            model = sam_model_registry[self.model_type](checkpoint=str(self.checkpoint))
            model.to(device=self.device)
            self._generator = SamAutomaticMaskGenerator(
                model,
                points_per_side=self.points_per_side,
                pred_iou_thresh=self.pred_iou_thresh,
            )
        return self._generator

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Masks `(K, H, W)` of an image `(H, W)`, largest first; may overlap."""
        array = normalize(image)
        generator = self._load()
        rgb = np.repeat(np.round(array * 255.0).astype(np.uint8)[:, :, None], 3, axis=2)
        found = generator.generate(rgb)
        masks = [np.asarray(m["segmentation"], dtype=bool) for m in found]
        if not masks:
            return np.zeros((0, *array.shape), dtype=bool)
        stack = np.stack(masks)
        areas = stack.reshape(len(stack), -1).sum(axis=1)
        # Largest first; ties by first pixel, so the order does not depend on SAM's.
        firsts = np.argmax(stack.reshape(len(stack), -1), axis=1)
        stack = stack[np.lexsort((firsts, -areas))]
        return _drop_small(stack, self.min_area)


def _check_bool(name: str, value: bool) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _repr(generator: object) -> str:
    options = ", ".join(
        f"{key}={value!r}" for key, value in vars(generator).items() if not key.startswith("_")
    )
    return f"{type(generator).__name__}({options})"


#: Mask generator classes by name (see :func:`make_mask_generator`).
MASK_GENERATORS: dict[str, type] = {
    "threshold-watershed": ThresholdWatershed,
    "slic": SLICMasks,
    "felzenszwalb": FelzenszwalbMasks,
    "sam": SAMMasks,
}


def make_mask_generator(name: str, **options: Any) -> MaskGenerator:
    """Build a registered mask generator by name.

    Args:
        name: A key of :data:`MASK_GENERATORS`.
        **options: Constructor options of that generator.

    Returns:
        The generator.

    Raises:
        ConfigError: If the name or an option is unknown, or an option is out
            of range.

    Example:
        >>> make_mask_generator("slic", n_segments=100).n_segments
        100
    """
    if name not in MASK_GENERATORS:
        raise ConfigError(f"unknown mask generator {name!r}; known: {sorted(MASK_GENERATORS)}")
    cls = MASK_GENERATORS[name]
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as exc:
        raise ConfigError(f"mask generator {name!r}: {exc}") from exc
    return cls(**options)
