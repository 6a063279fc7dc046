"""Assessment (考核): the one-vote veto and the scoring rule table."""
