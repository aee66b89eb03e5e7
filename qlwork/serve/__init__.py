"""The dashboard server (Voilà behind a gate) and its access policy (issue 18)."""
