from __future__ import annotations

from pathlib import Path

import pytest

from costwarden.config import (
    CONFIG_ENV,
    DATABASE_ENV,
    default_database_url,
    find_config_file,
    load_settings,
)
from costwarden.errors import ConfigError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    settings = load_settings()
    assert settings.source is None
    assert settings.timezone == "UTC"
    assert settings.database == default_database_url()
    assert settings.database.startswith("sqlite:///")
    assert settings.database.endswith("costwarden.db")
    assert settings.retention.detailed_days == 90
    assert settings.retention.daily_days == 365
    assert settings.retention.monthly_days is None


def test_yaml_and_toml_are_read(tmp_path: Path) -> None:
    yaml_file = write(tmp_path, "c.yaml", "timezone: Europe/Berlin\ndatabase: sqlite:///x.db\n")
    toml_file = write(tmp_path, "c.toml", 'timezone = "America/New_York"\n')
    assert load_settings(yaml_file).timezone == "Europe/Berlin"
    assert load_settings(yaml_file).database == "sqlite:///x.db"
    assert load_settings(toml_file).timezone == "America/New_York"


def test_precedence_of_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path, "c.yaml", "database: sqlite:///from-file.db\n")
    monkeypatch.setenv(DATABASE_ENV, "sqlite:///from-env.db")
    assert load_settings(cfg, database="sqlite:///from-flag.db").database == "sqlite:///from-flag.db"
    assert load_settings(cfg).database == "sqlite:///from-env.db"
    monkeypatch.delenv(DATABASE_ENV)
    assert load_settings(cfg).database == "sqlite:///from-file.db"


def test_precedence_of_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env = write(tmp_path, "env.yaml", "timezone: Asia/Tokyo\n")
    explicit = write(tmp_path, "explicit.yaml", "timezone: Europe/Paris\n")
    monkeypatch.setenv(CONFIG_ENV, str(from_env))
    assert find_config_file() == from_env
    assert load_settings(explicit).timezone == "Europe/Paris"
    assert load_settings().timezone == "Asia/Tokyo"


def test_user_config_dir_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "costwarden").mkdir(parents=True)
    write(tmp_path / "xdg" / "costwarden", "config.yaml", "timezone: Europe/Rome\n")
    assert load_settings().timezone == "Europe/Rome"


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_settings(missing)
    assert str(info.value) == f"{missing}: config file not found"


def test_missing_file_from_env_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "gone.yaml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value) == f"{missing}: config file not found (named by $COSTWARDEN_CONFIG)"


def test_unknown_key_names_file_and_path(tmp_path: Path) -> None:
    cfg = write(tmp_path, "c.yaml", "retention:\n  detailed_dayz: 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert str(info.value) == f"{cfg}: retention.detailed_dayz: unknown key"
    assert info.value.key == "retention.detailed_dayz"
    assert info.value.source == str(cfg)


def test_wrong_type_names_expectation(tmp_path: Path) -> None:
    cfg = write(tmp_path, "c.yaml", "retention:\n  detailed_days: -4\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert (
        str(info.value)
        == f"{cfg}: retention.detailed_days: Input should be greater than or equal to 1, got -4"
    )


def test_bad_timezone(tmp_path: Path) -> None:
    cfg = write(tmp_path, "c.yaml", "timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert str(info.value) == (
        f"{cfg}: timezone: unknown timezone 'Mars/Olympus' (use an IANA name such as UTC or Europe/Berlin)"
    )


def test_invalid_yaml_gives_line(tmp_path: Path) -> None:
    cfg = write(tmp_path, "c.yaml", "timezone: UTC\nretention: [1,\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert str(info.value).startswith(f"{cfg}: invalid YAML at line 3, column 1:")


def test_invalid_toml(tmp_path: Path) -> None:
    cfg = write(tmp_path, "c.toml", "timezone = \n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert str(info.value).startswith(f"{cfg}: invalid TOML:")


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    cfg = write(tmp_path, "c.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert str(info.value) == f"{cfg}: expected a mapping of sections at the top, got list"


def test_empty_file_is_defaults(tmp_path: Path) -> None:
    cfg = write(tmp_path, "c.yaml", "")
    assert load_settings(cfg).timezone == "UTC"
