"""The field solver: a scene's retrieval with its plumes solved so the IME quantification returns ``q_true``.

Everything is a pure function of seeds (``grid.derive_seed``), so the same world gives the same
arrays on every machine.

Scene field (one per scene and gas, in ppm·m on the scene's UTM grid)::

    F = noise + sum_i s_i * P_i

* ``noise``: the scene's retrieval background (``retrieval_noise.background_noise``).
* ``P_i``: a steady Gaussian plume for 1 kg/h, advected downwind from the origin (the wind blows
  FROM ``wind_direction_avg_auto``), crosswind width ``sigma_y = sigma_0 + alpha * s``, a meandering
  centre line, a downwind taper and log-normal turbulence texture; the vertical column of a
  Gaussian plume is ``Q / (U_eff * sqrt(2 pi) * sigma_y)`` across-wind Gaussian, divided by
  ``ppmm_to_kg_m2``.
* ``s_i`` (kg/h): solved so the IME quantification over the plume's IME mask (the replica's frozen
  copy ``cm_assets.replica.physics``, independent of the pipeline's ``cm_assets.ime``)
  returns ``q_true`` exactly (see below); ``s_i / q_true`` stays near 1 as the plume model uses
  the same effective wind as the quantification.

IME mask (spec §8.3 v3a "dynamic noise masking"): inside the plume's 101×100 L3A window,
pixels above ``background + k * noise`` (``k = 2`` CH4, ``1`` CO2; background = median, noise =
1.4826 * MAD of the window), owned by this plume (it dominates the modelled enhancement there),
8-connected to the seed pixel (the template maximum over valid pixels, always included). The
replica uses this dynamic threshold for airborne instruments too, rather than the static
1000 ppm·m of ANG/GAO.
The broad (visualization) mask is the same with ``k = 1`` on a 3×3-smoothed field, united with
the IME mask.

Physics contract: masks and scales are iterated as a fixed point (threshold the current field,
then solve the scales of all plumes of the scene jointly — a small linear system, as the IME
sum is linear in ``s``); the final masks are those of the last threshold pass and the final
scales solve the system exactly for them. Hence ``emission_kg_h`` over the float32 IME raster
equals ``q_true`` to float32 rounding (relative error < 1e-5; tests assert 0.5 %), and the L2B
``cmf.tif`` holds the very same values on those pixels. Where a weak plume sits inside a strong
neighbour's plume so that no positive scale works (noise plus neighbour already exceed its target
on its seed pixel), the mask first shrinks to the plume core, then to the seed; failing that,
the neighbours' modelled plumes are thinned within ~2 px of the weak plume's seed and the passes
restart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cm_assets.replica.grid import Grid, Patch, read_window
from cm_assets.replica.physics import effective_wind, plume_length_m, ppmm_to_kg_m2
from cm_assets.replica.retrieval_noise import background_noise, correlated_noise, noise_sigma

VIS_SHAPE = (101, 100)  # L3A window (rows, cols), spec §8.4
VIS_CENTER = (50, 50)
TEMPLATE_HALF = 100  # plume template window half-size (px)
MASK_SIGMA = {"CH4": 2.0, "CO2": 1.0}
BROAD_SIGMA = 1.0
FALLBACK_WIND_M_S = 3.0  # used only when a record has no wind speed
FIXED_POINT_PASSES = 4
MAX_PASSES = 12
CARVE_RADIUS_PX = 2.0


@dataclass(frozen=True)
class PlumeSpec:
    """What the solver needs of one plume row."""

    plume_id: str
    x: float
    y: float
    q_kg_h: float
    wind_speed: float
    wind_from_deg: float
    seed: int


@dataclass
class PlumeSolution:
    """A plume's solved scale, seed pixel and masks (scene coordinates)."""

    spec: PlumeSpec
    scale: float
    seed_pixel: tuple[int, int]
    ime_mask: Patch
    broad_mask: Patch

    @property
    def vis_origin(self) -> tuple[int, int]:
        """(row, col) of the upper-left pixel of the 101×100 L3A window."""
        return self.ime_mask.row, self.ime_mask.col


@dataclass
class SceneField:
    """A scene's retrieval for one gas: values (ppm·m), validity, noise level and plumes."""

    grid: Grid
    gas: str
    instrument: str
    values: np.ndarray
    valid: np.ndarray
    sigma: float
    plumes: dict[str, PlumeSolution] = field(default_factory=dict)


def plume_template(grid: Grid, spec: PlumeSpec, gas: str) -> Patch:
    """Column enhancement (ppm·m) of a 1 kg/h plume on a window around the origin."""
    rng = np.random.default_rng(spec.seed)
    row, col = grid.pixel(spec.x, spec.y)
    r0, c0 = row - TEMPLATE_HALF, col - TEMPLATE_HALF
    size = 2 * TEMPLATE_HALF + 1
    gsd = grid.gsd
    east = (grid.x0 + (np.arange(c0, c0 + size) + 0.5) * gsd - spec.x)[None, :]
    north = (grid.y0 - (np.arange(r0, r0 + size) + 0.5) * gsd - spec.y)[:, None]
    towards = math.radians(spec.wind_from_deg + 180.0)
    ue, un = math.sin(towards), math.cos(towards)
    along = east * ue + north * un
    cross = -east * un + north * ue
    u_eff = effective_wind(spec.wind_speed)
    sigma0 = max(1.2 * gsd, 6.0)
    alpha = float(rng.uniform(0.12, 0.22)) * (1.0 + 1.0 / max(spec.wind_speed, 0.5))
    taper_m = float(np.clip(u_eff * rng.uniform(450.0, 900.0), 10 * gsd, 70 * gsd))
    downwind = np.maximum(along, 0.0)
    sigma_y = sigma0 + alpha * downwind
    meander = np.zeros_like(downwind)
    for _ in range(3):
        wavelength = float(rng.uniform(4.0, 12.0)) * sigma0 + 0.3 * taper_m
        meander += float(rng.uniform(0.2, 0.6)) * sigma_y * np.sin(
            2 * math.pi * downwind / wavelength + float(rng.uniform(0, 2 * math.pi)))
    shape = np.exp(-0.5 * ((cross - meander) / sigma_y) ** 2)
    shape *= np.exp(-0.5 * (np.minimum(along, 0.0) / sigma0) ** 2)
    shape *= np.exp(-((downwind / taper_m) ** 2))
    column_kg_m2 = (1.0 / 3600.0) / (u_eff * math.sqrt(2 * math.pi) * sigma_y) * shape
    texture = correlated_noise(rng, (size, size), float(rng.uniform(1.5, 3.0)))
    tau = 0.35
    values = column_kg_m2 / ppmm_to_kg_m2(gas) * np.exp(tau * texture - 0.5 * tau ** 2)
    return Patch(r0, c0, values)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """8-neighbourhood binary dilation."""
    out = mask.copy()
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    grown = out.copy()
    out[:, 1:] |= grown[:, :-1]
    out[:, :-1] |= grown[:, 1:]
    return out


def connected_to(candidate: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """The 8-connected component of ``candidate`` holding ``seed`` (seed always included)."""
    region = np.zeros_like(candidate)
    region[seed] = True
    allowed = candidate.copy()
    allowed[seed] = True
    while True:
        grown = _dilate(region) & allowed
        if np.array_equal(grown, region):
            return region
        region = grown


def box3(values: np.ndarray) -> np.ndarray:
    """3×3 mean filter with edge replication."""
    padded = np.pad(values, 1, mode="edge")
    h, w = values.shape
    return sum(padded[dr:dr + h, dc:dc + w] for dr in range(3) for dc in range(3)) / 9.0


def robust_level(values: np.ndarray) -> tuple[float, float]:
    """(median, 1.4826 * MAD) of the finite values."""
    med = float(np.median(values))
    return med, 1.4826 * float(np.median(np.abs(values - med)))


@dataclass
class _Work:
    spec: PlumeSpec
    template: Patch
    vis_row: int
    vis_col: int
    seed: tuple[int, int]  # in window coordinates
    ime: np.ndarray | None = None
    broad: np.ndarray | None = None


def _contribution(work: _Work, scales: np.ndarray, works: list[_Work], index: int) -> np.ndarray:
    """Modelled enhancement of plume ``index`` seen through ``work``'s L3A window."""
    return scales[index] * works[index].template.window(work.vis_row, work.vis_col, *VIS_SHAPE, 0.0)


def _threshold(work: _Work, field_values: np.ndarray, valid: np.ndarray, gas: str,
               scales: np.ndarray, works: list[_Work]) -> None:
    """Set the IME and broad masks of ``work`` from the current field."""
    win = read_window(field_values, work.vis_row, work.vis_col, *VIS_SHAPE, np.nan)
    ok = read_window(valid, work.vis_row, work.vis_col, *VIS_SHAPE, False)
    mine = works.index(work)
    own = _contribution(work, scales, works, mine)
    owned = np.ones(VIS_SHAPE, dtype=bool)
    for j in range(len(works)):
        if j != mine:
            owned &= own >= _contribution(work, scales, works, j)
    background, noise = robust_level(win[ok])
    ime = connected_to(ok & owned & (win > background + MASK_SIGMA[gas] * noise), work.seed)
    smooth = box3(np.where(ok, win, background))
    s_background, s_noise = robust_level(smooth[ok])
    broad = connected_to(ok & owned & (smooth > s_background + BROAD_SIGMA * s_noise) | ime, work.seed)
    work.ime, work.broad = ime, broad | ime


def _targets(works: list[_Work], gas: str, instrument: str, gsd: float) -> np.ndarray:
    """IME sums (ppm·m) that make ``emission_kg_h`` return each plume's rate on its mask."""
    area = gsd * gsd
    out = []
    for w in works:
        length = plume_length_m(int(w.ime.sum()), area, instrument)
        out.append(w.spec.q_kg_h * length / (3600.0 * effective_wind(w.spec.wind_speed)
                                             * ppmm_to_kg_m2(gas) * area))
    return np.array(out)


def _solve(works: list[_Work], noise: np.ndarray, gas: str, instrument: str, gsd: float) -> np.ndarray:
    """Scales making every plume's masked IME sum hit its target (masks fixed)."""
    n = len(works)
    matrix = np.zeros((n, n))
    rhs = _targets(works, gas, instrument, gsd)
    ones = np.ones(n)
    for i, w in enumerate(works):
        rhs[i] -= read_window(noise, w.vis_row, w.vis_col, *VIS_SHAPE, 0.0)[w.ime].sum()
        for j in range(n):
            matrix[i, j] = _contribution(w, ones, works, j)[w.ime].sum()
    return np.linalg.solve(matrix, rhs)


def _shrink(work: _Work, scales: np.ndarray, works: list[_Work]) -> None:
    """Restrict a mask whose noise alone exceeds its target to the plume core (then the seed)."""
    own = _contribution(work, scales, works, works.index(work))
    core = work.ime & (own >= 0.5 * own[work.seed])
    if core.sum() > 1 and not np.array_equal(core, work.ime):
        work.ime = connected_to(core, work.seed)
    else:
        work.ime = np.zeros(VIS_SHAPE, dtype=bool)
        work.ime[work.seed] = True
    work.broad |= work.ime


def _carve_neighbours(works: list[_Work], i: int) -> None:
    """Thin the other plumes' templates around plume ``i``'s seed so ``i`` can own it."""
    seed_row = works[i].vis_row + works[i].seed[0]
    seed_col = works[i].vis_col + works[i].seed[1]
    for j, w in enumerate(works):
        if j == i:
            continue
        t = w.template
        rows = np.arange(t.row, t.row + t.data.shape[0])[:, None] - seed_row
        cols = np.arange(t.col, t.col + t.data.shape[1])[None, :] - seed_col
        t.data = t.data * (1.0 - np.exp(-(rows ** 2 + cols ** 2) / (2.0 * CARVE_RADIUS_PX ** 2)))


def _valid_peak(template: Patch, valid: np.ndarray, plume_id: str) -> tuple[int, int]:
    """(row, col) in ``template`` of its maximum over valid scene pixels.

    That is the template maximum itself unless it falls on nodata (an origin by the swath edge).
    """
    covered = read_window(valid, template.row, template.col, *template.data.shape, False)
    candidates = np.where(covered, template.data, -np.inf)
    peak = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    if not candidates[peak] > 0:
        raise ValueError(f"plume {plume_id}: no valid pixel under its plume in its scene")
    return int(peak[0]), int(peak[1])


def solve_plumes(grid: Grid, gas: str, instrument: str, noise: np.ndarray, valid: np.ndarray,
                 specs: Sequence[PlumeSpec]) -> tuple[np.ndarray, dict[str, PlumeSolution]]:
    """Field values and per-plume solutions satisfying the physics contract."""
    works = []
    for spec in specs:
        template = plume_template(grid, spec, gas)
        peak = _valid_peak(template, valid, spec.plume_id)
        row, col = grid.pixel(spec.x, spec.y)
        vis_row, vis_col = row - VIS_CENTER[0], col - VIS_CENTER[1]
        seed = (template.row + peak[0] - vis_row, template.col + peak[1] - vis_col)
        works.append(_Work(spec, template, vis_row, vis_col, seed))
    initial = np.array([s.q_kg_h for s in specs], dtype="float64")
    scales = initial.copy()
    clean_passes = 0
    for _ in range(MAX_PASSES):
        values = _compose(noise, works, scales)
        for w in works:
            _threshold(w, values, valid, gas, scales, works)
        scales = _solve(works, noise, gas, instrument, grid.gsd)
        for _attempt in range(2):
            bad = [w for w, s in zip(works, scales) if not s > 0]
            if not bad:
                break
            for w in bad:
                _shrink(w, np.ones(len(works)), works)
            scales = _solve(works, noise, gas, instrument, grid.gsd)
        swamped = [i for i, s in enumerate(scales) if not s > 0]
        for i in swamped:
            _carve_neighbours(works, i)
        if swamped:
            scales[swamped] = initial[swamped]
            clean_passes = 0
            continue
        clean_passes += 1
        if clean_passes == FIXED_POINT_PASSES:
            break
    if clean_passes == 0:
        ids = [w.spec.plume_id for w, s in zip(works, scales) if not s > 0]
        raise ValueError(f"plumes {ids}: no positive scale reproduces q_true on the IME mask")
    values = _compose(noise, works, scales)
    solutions = {
        w.spec.plume_id: PlumeSolution(
            w.spec, float(s), (w.vis_row + w.seed[0], w.vis_col + w.seed[1]),
            Patch(w.vis_row, w.vis_col, w.ime), Patch(w.vis_row, w.vis_col, w.broad))
        for w, s in zip(works, scales)
    }
    return values, solutions


def _compose(noise: np.ndarray, works: list[_Work], scales: np.ndarray) -> np.ndarray:
    """noise + sum of scaled templates (float64)."""
    out = noise.astype("float64", copy=True)
    h, w = out.shape
    for work, s in zip(works, scales):
        t = work.template
        r0, c0 = max(t.row, 0), max(t.col, 0)
        r1, c1 = min(t.row + t.data.shape[0], h), min(t.col + t.data.shape[1], w)
        if r0 < r1 and c0 < c1:
            out[r0:r1, c0:c1] += s * t.data[r0 - t.row:r1 - t.row, c0 - t.col:c1 - t.col]
    return out


def synthesize_field(grid: Grid, gas: str, instrument: str, valid: np.ndarray,
                     specs: Sequence[PlumeSpec], seed: int) -> SceneField:
    """The scene's retrieval for ``gas`` on its valid pixels: background and solved plumes."""
    rng = np.random.default_rng(seed)
    sigma = noise_sigma(gas, instrument, rng)
    noise = background_noise(grid, sigma, rng)
    values, solutions = solve_plumes(grid, gas, instrument, noise, valid, specs)
    return SceneField(grid, gas, instrument, values.astype("float32"), valid, sigma, solutions)


def uncertainty(scene: SceneField, seed: int) -> np.ndarray:
    """Per-pixel 1-sigma (ppm·m): the scene noise modulated by slow albedo-like variation."""
    rng = np.random.default_rng(seed)
    modulation = np.exp(0.2 * correlated_noise(rng, scene.grid.shape, 25.0))
    signal = 0.03 * np.maximum(scene.values, 0.0)
    return (scene.sigma * modulation + signal).astype("float32")
