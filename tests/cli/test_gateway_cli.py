"""`costwarden gateway`: the configuration is checked before serving; errors name the key (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_helpers import run

CONFIG = """\
gateway:
  port: 4123
  upstreams:
    - name: openai
      api: openai
      base_url: https://api.openai.com/v1/
      api_key_env: GW_TEST_OPENAI_KEY
    - name: local
      api: openai
      base_url: http://127.0.0.1:11434/v1
      provider: ollama
      models: [llama3.1]
  aliases:
    fast: openai/gpt-5-mini
"""


def test_check_lists_upstreams_without_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "costwarden.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("GW_TEST_OPENAI_KEY", "sk-secret-value")
    code, out, err = run(capsys, ["--no-color", "--config", str(config), "gateway", "--check"])
    assert code == 0, err
    assert (
        "upstream openai: openai at https://api.openai.com/v1 (provider openai, key $GW_TEST_OPENAI_KEY)"
        in out
    )
    assert "upstream local: openai at http://127.0.0.1:11434/v1 (provider ollama, key client's own)" in out
    assert "alias fast -> openai/gpt-5-mini" in out
    assert "sk-secret-value" not in out + err


def test_missing_key_names_the_variable_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "costwarden.yaml"
    config.write_text(CONFIG)
    monkeypatch.delenv("GW_TEST_OPENAI_KEY", raising=False)
    code, _, err = run(capsys, ["--config", str(config), "gateway", "--check"])
    assert code == 2
    assert "gateway.upstreams[0].api_key_env" in err and "$GW_TEST_OPENAI_KEY" in err
    assert str(config) in err


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "gateway:\n  upstreams:\n    - {name: a, api: grpc, base_url: http://x}\n",
            "gateway.upstreams[0].api",
        ),
        (
            "gateway:\n  upstreams:\n    - {name: a, api: openai, base_url: ftp://x}\n",
            "gateway.upstreams[0].base_url",
        ),
        ("gateway:\n  prot: 4000\n", "gateway.prot"),
        (
            "gateway:\n  upstreams:\n    - {name: a, api: openai, base_url: http://x}\n"
            "    - {name: a, api: openai, base_url: http://y}\n",
            "used twice",
        ),
    ],
)
def test_bad_config_exits_2_naming_the_key(
    text: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "costwarden.yaml"
    config.write_text(text)
    code, _, err = run(capsys, ["--config", str(config), "gateway", "--check"])
    assert code == 2
    assert where in err
