"""One module per scheduled job, each declaring its JOB; the registry lists them."""
