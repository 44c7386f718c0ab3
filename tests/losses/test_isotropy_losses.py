"""The isotropy loss dispatch (each kind routed, explicit errors) and the collapse test across kinds.

(File named test_isotropy_losses.py, not test_isotropy.py, so that its module name cannot clash with the
tests of the isotropy measurement module.)
"""

import pytest
from loss_inputs import correlated, gaussian, gen

from ragcun.config import ISOTROPY_KINDS
from ragcun.errors import ConfigError
from ragcun.losses.covariance import covariance_isotropy, identity_isotropy, shape_isotropy
from ragcun.losses.isotropy import isotropy_loss
from ragcun.losses.sigreg import sigreg


def test_identity_and_sigreg_do_not_reward_shrinking_a_standard_gaussian():
    z = gaussian(2000, 8)
    assert identity_isotropy(0.5 * z) > identity_isotropy(z)
    shrunk = sigreg(0.5 * z, num_directions=64, generator=gen(3))
    assert shrunk > sigreg(z, num_directions=64, generator=gen(3))


def test_dispatcher_routes_each_kind():
    z = correlated()
    assert isotropy_loss("covariance", z).item() == covariance_isotropy(z).item()
    assert isotropy_loss("identity", z).item() == identity_isotropy(z).item()
    via = isotropy_loss("sigreg", z, generator=gen(2), num_directions=5).item()
    assert via == sigreg(z, num_directions=5, generator=gen(2)).item()
    assert isotropy_loss("shape", z).item() == shape_isotropy(z).item()
    assert set(ISOTROPY_KINDS) == {"covariance", "identity", "shape", "sigreg"}


def test_dispatcher_errors_are_explicit():
    z = correlated()
    # a kind outside config.IsotropyKind cannot come from params.yaml (the schema refuses it): a programming error
    with pytest.raises(ValueError, match="'whitening' is not one of config.IsotropyKind"):
        isotropy_loss("whitening", z)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Generator"):
        isotropy_loss("sigreg", z)
    with pytest.raises(ConfigError, match="at least 2"):
        isotropy_loss("identity", z[:1])
    with pytest.raises(ConfigError, match="sigreg_directions"):
        sigreg(z, num_directions=0, generator=gen())
