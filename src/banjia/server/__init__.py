"""The HTTP layer: app factory, thin routes, auth, framing."""
