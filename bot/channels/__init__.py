"""Channel adapters: turn a channel's messages into `Received` and replies into its format."""
