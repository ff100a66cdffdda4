"""Scheduled jobs: when they fire, what they find, whether they post, and the weekly figures."""
