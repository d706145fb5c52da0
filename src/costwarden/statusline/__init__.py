"""`costwarden statusline`: one line for Claude Code's status bar, a shell prompt or tmux.

Claude Code runs its statusline command on every update with a JSON object on stdin (`payload`). The
command imports the new lines of that session's transcript into the ledger (the offsets `costwarden import
claude-code` keeps, so nothing is read twice), then prints the session's cost, today's cost, the budget with
the least room left and Claude Code's own rate-limit windows (`render`).

Two ways to the figures, one answer:
- `full`: the Warden, the importer and the budget views; it leaves a `snapshot` of what the fast way needs;
- `fast`: when the transcript has nothing new and the snapshot still holds (same configuration, same
  budgets, same day and budget windows, nothing folded by retention), a few indexed SQLite queries with the
  standard library only, so the command answers in tens of milliseconds on a large ledger.
"""
