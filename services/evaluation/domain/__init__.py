"""The evaluation domain: frameworks as data, rule kinds, meeting scores and period ratings (pure)."""
