"""Tests of the read side (`costwarden.views`), calling the views directly."""
