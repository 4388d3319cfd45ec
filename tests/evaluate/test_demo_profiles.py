"""The demo's profiles size the loop; a --set on the command line wins over them."""

from echo_spark.config import load_config
from echo_spark.demo import PROFILES, profiled


def test_profile_settings_apply_unless_the_command_line_set_the_key():
    explicit = ["evaluate.max_requests=50"]
    config = profiled(load_config(None, explicit), PROFILES["demo"], explicit)
    assert config.evaluate.max_requests == 50
    assert config.train.max_steps == int(dict(s.split("=") for s in PROFILES["demo"].settings)["train.max_steps"])


def test_every_profile_is_a_valid_configuration():
    for profile in PROFILES.values():
        profiled(load_config(None, []), profile, [])
