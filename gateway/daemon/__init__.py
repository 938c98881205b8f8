"""The daemon's steps: intake now; batching, exchange and replies come with `gateway run`."""
