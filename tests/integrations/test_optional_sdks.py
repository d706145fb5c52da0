"""The SDKs are optional: importing costwarden (its capture modules, the provider adapters) imports none of
them."""

from __future__ import annotations

import subprocess
import sys


def test_importing_costwarden_imports_no_sdk() -> None:
    code = (
        "import sys, costwarden, costwarden.integrations, "
        "costwarden.importers, costwarden.testing, costwarden.quotas, costwarden.estimate, "
        "costwarden.integrations.providers, costwarden.integrations.patching\n"
        "assert [a.name for a in costwarden.integrations.providers.adapters()] == ['anthropic', 'openai']\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'anthropic', 'litellm'))\n"
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
