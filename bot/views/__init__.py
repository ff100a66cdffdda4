"""Block Kit views built with slack_sdk's typed models from the commands' typed results."""
