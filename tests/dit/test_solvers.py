"""The solvers against a case with a known answer: Gaussian data, whose exact x0-denoiser is closed form."""
import torch

from generation.dit.sampling import sample_iter

VAR = 0.25  # data ~ N(0, VAR)


def exact_x0(z, t):
    # E[x0 | z_t] for z_t = (1 - t) x0 + t eps
    return ((1 - t) * VAR / ((1 - t) ** 2 * VAR + t ** 2)).view(-1, 1) * z


def final(solver, steps, noise):
    return list(sample_iter(exact_x0, noise, steps=steps, solver=solver))[-1].z


def test_solvers_agree_with_a_converged_solution_and_dpm2m_needs_fewer_steps():
    noise = torch.randn(3, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    converged = final("euler", 4000, noise)
    err = {k: float((final(*k, noise) - converged).norm() / converged.norm())
           for k in [("euler", 50), ("euler", 25), ("dpm2m", 25), ("heun", 25)]}
    assert err[("dpm2m", 25)] < err[("euler", 50)] / 3  # second order at half the network calls
    assert err[("euler", 25)] > err[("euler", 50)]  # first order: error shrinks with steps
    assert max(err.values()) < 0.15


def test_every_solver_returns_a_clean_sample_for_a_point_mass():
    target = torch.randn(2, 8)
    for solver in ("euler", "heun", "dpm2m"):
        steps = list(sample_iter(lambda z, t: target, torch.randn(2, 8), steps=7, solver=solver))
        assert len(steps) == 7 and steps[-1].t == 0.0
        torch.testing.assert_close(steps[-1].z, target)
