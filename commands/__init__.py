"""One module per operation: typed request in, typed result out, no Slack imports."""
