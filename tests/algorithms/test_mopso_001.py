"""MOPSO's boundary switch and 001's preset (sec. 5.3, 6.2)."""

import numpy as np
import pytest
from pymoo.core.callback import Callback
from pymoo.optimize import minimize
from pymoo.problems.multi.zdt import ZDT1

from algorithms import ALGORITHMS, MOPSO, AlgorithmConfigError, mopso_001


class Swarm(Callback):
    def __init__(self):
        super().__init__()
        self.X, self.V = [], []

    def notify(self, algorithm):
        self.X.append(algorithm._X.copy())
        self.V.append(algorithm._V.copy())


def _run(alg, n_gen=15, seed=4):
    cb = Swarm()
    res = minimize(ZDT1(n_var=6), alg, ("n_gen", n_gen), seed=seed, callback=cb)
    return res, cb


def test_default_boundary_is_reflect_and_unchanged():
    a, _ = _run(MOPSO(pop_size=12))
    b, _ = _run(MOPSO(pop_size=12, boundary="reflect"))
    np.testing.assert_array_equal(a.F, b.F)
    c, _ = _run(MOPSO(pop_size=12, boundary="clip"))
    assert not np.array_equal(a.F, c.F)  # the switch changes the search


def test_clip_keeps_the_velocity_that_carried_a_particle_out():
    """With "clip" every move is ``x <- clip(x + v)`` with ``v`` the stored velocity (001 eqs. (25)-(26)
    and the bound rule); with "reflect" the stored velocity of a particle that left is reversed."""
    _, clip = _run(MOPSO(pop_size=20, boundary="clip", mutation_share=0.0), n_gen=10)
    _, refl = _run(MOPSO(pop_size=20, boundary="reflect", mutation_share=0.0), n_gen=10)
    n_out = 0
    for t in range(1, len(clip.X)):
        moved = clip.X[t - 1] + clip.V[t]
        n_out += int(np.sum((moved < 0) | (moved > 1)))
        np.testing.assert_allclose(clip.X[t], np.clip(moved, 0.0, 1.0), atol=1e-12)
    assert n_out > 0  # some particles did leave the box
    reversed_ = 0
    for t in range(1, len(refl.X)):
        moved = refl.X[t - 1] + refl.V[t]
        reversed_ += int(np.sum(~np.isclose(refl.X[t], np.clip(moved, 0.0, 1.0), atol=1e-12)))
    assert reversed_ > 0  # reflect stored the reversed velocity of those that left


def test_preset_001():
    a = ALGORITHMS["mopso001"]()
    assert isinstance(a, MOPSO)
    assert (a.pop_size, a.w_start, a.w_end, a.c_min, a.c_max) == (60, 0.85, 0.4, 1.25, 1.25)
    assert (a.constriction, a.boundary, a.mutation_share, a.r_per_particle) == ("none", "clip", 0.0, False)
    assert mopso_001(pop_size=10, boundary="reflect").boundary == "reflect"
    res = minimize(ZDT1(n_var=6), mopso_001(pop_size=20), ("n_gen", 60), seed=1)
    assert res.F.shape[0] >= 5 and np.all(res.F[:, 0] >= 0)


def test_unknown_boundary_is_refused():
    with pytest.raises(AlgorithmConfigError, match="boundary"):
        MOPSO(boundary="bounce")
