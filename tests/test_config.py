"""Configuration: defaults, the shipped example, clear errors for wrong keys and values."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import ApplianceConfig, load_config
from appliance.errors import ConfigError
from tests.conftest import ROOT, run_appliance


def test_no_file_gives_the_demo_defaults() -> None:
    config = load_config(None, env={})
    assert config == ApplianceConfig()
    assert config.business.profile == ""
    assert config.web.port == 8080


def test_shipped_example_documents_exactly_the_defaults() -> None:
    assert load_config(ROOT / "config" / "appliance.toml", env={}) == ApplianceConfig()


def test_file_values_override_defaults(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[business]\nprofile = "smile.toml"\n[web]\nport = 9090\n[listen]\neot_complete_ms = 250\n')
    config = load_config(path, env={})
    assert (config.business.profile, config.web.port, config.listen.eot_complete_ms) == ("smile.toml", 9090, 250)
    assert config.listen.vad_threshold == 0.5


def test_integer_accepted_where_a_number_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text("[call]\nmax_duration_s = 300\n")
    assert load_config(path, env={}).call.max_duration_s == 300.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[web]\nprot = 80\n", "unknown key [web] prot; valid keys here: desk_token, host, port"),
        ("[web]\nport = '80'\n", "[web] port = '80' must be an integer"),
        ("[web]\nport = true\n", "[web] port = True must be an integer"),
        ("[listen]\nvad_threshold = 'high'\n", "[listen] vad_threshold = 'high' must be a number"),
        ("[listen]\neot_silence_ms = -5\n", "[listen] eot_silence_ms = -5 must not be negative"),
        ("[listen]\nend_of_turn = 'ai'\n", "[listen] end_of_turn = 'ai' must be one of 'rule', 'smart', 'both'"),
        ("[outbox]\nretries = 5\n", "unknown key outbox"),
        ("web = 3\n", "web must be a [web] table"),
        ("[web\n", "not valid TOML"),
    ],
)
def test_wrong_config_names_key_value_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text("[web]\nport = 9090\n")
    config = load_config(path, env={"VOCALIA_WEB_PORT": "9191", "VOCALIA_MODELS_STT_FIT_WINDOW": "false"})
    assert config.web.port == 9191
    assert config.models.stt_fit_window is False


def test_the_scripts_own_variables_pass_through(tmp_path: Path) -> None:
    """scripts/setup --dev with VOCALIA_VENV set runs `appliance models`: its variables are not config."""
    env = {"VOCALIA_VENV": str(tmp_path / "venv"), "VOCALIA_WHEEL_CACHE": str(tmp_path), "VOCALIA_ROOT": "/"}
    assert load_config(None, env=env) == load_config(None, env={})


def test_a_table_of_strings_per_language(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[models.voices]\nfr = "kokoro-ff-siwis"\n[models.stt_prompts]\nes = "Una clínica dental."\n')
    config = load_config(path, env={})
    assert config.models.voices == {"fr": "kokoro-ff-siwis"} and config.models.stt_prompts == {
        "es": "Una clínica dental."
    }
    path.write_text("[models.voices]\nfr = 3\n")
    with pytest.raises(ConfigError, match=r"\[models.voices\] fr = 3 must be a string"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match=r"\[models.voices\] is a table; set it in the config file"):
        load_config(None, env={"VOCALIA_MODELS_VOICES": "fr=x"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"VOCALIA_WEB_PORT": "eighty"}, "VOCALIA_WEB_PORT='eighty' must be an integer"),
        ({"VOCALIA_WEB_PROT": "80"}, "VOCALIA_WEB_PROT names no key of [web]"),
        ({"VOCALIA_NOPE": "1"}, "unknown variable VOCALIA_NOPE"),
        ({"VOCALIA_LISTEN_END_OF_TURN": "vad"}, "VOCALIA_LISTEN_END_OF_TURN = 'vad' must be one of 'rule'"),
    ],
)
def test_wrong_environment_is_reported(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_config(None, env=env)


def test_cli_reports_a_bad_config_in_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[web]\nport = 'eighty'\n")
    result = run_appliance(["--config", str(path), "run"], env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {path}: [web] port = 'eighty' must be an integer"]


def test_cli_reports_a_missing_config_file(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_appliance(["--config", str(tmp_path / "none.toml"), "models"], env)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_connector_secrets_and_the_web_token_come_from_the_environment() -> None:
    config = load_config(None, env={"VOCALIA_SECRET_WEBHOOK": "s", "VOCALIA_WEB_TOKEN": "t"})
    assert config.web.token == "t"


def test_a_wrong_sip_allow_list_is_a_config_error() -> None:
    from appliance.security import SipPolicy

    with pytest.raises(ConfigError, match=r"\[sip\] allow = '10.0.0.0/33'.*write networks as CIDR"):
        SipPolicy("10.0.0.0/33", 30, 120)
