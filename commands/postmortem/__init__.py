"""Postmortems: a blameless draft prefilled from what opsbot saw, edited by people, exported."""
