"""What every page shares: the frame, cached resources, session-state keys, identity, jobs, pickers.
May import ``shared`` itself and the engine."""
