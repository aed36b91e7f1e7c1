"""The NumPy interpreter: plan once, run forward, differentiate in reverse, train."""
