"""Real local HTTP fakes of the upstreams, served on loopback ports for tests."""
