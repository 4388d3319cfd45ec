import pytest

from training.scaling import PowerLaw, fit_power_law


def test_fit_recovers_a_known_power_law_and_extrapolates():
    truth = PowerLaw(floor=1.1, scale=40.0, exponent=0.3)
    tokens = [1e6 * k for k in (1, 2, 3, 4, 6, 8, 10)]
    law = fit_power_law(tokens, [truth(t) for t in tokens])
    assert law is not None
    assert law(30e6) == pytest.approx(truth(30e6), rel=0.02)
    assert law.floor == pytest.approx(1.1, abs=0.1)


def test_no_fit_without_three_points_or_a_decrease():
    assert fit_power_law([1, 2], [3.0, 2.0]) is None
    assert fit_power_law([1, 2, 3], [2.0, 2.0, 2.1]) is None
