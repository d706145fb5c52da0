"""Rendering for people: Rich renderables of the read side's results (tables, the report layout, one
session), printed by the CLI and the demo. `costwarden.reports` and `costwarden.views` stay free of Rich."""
