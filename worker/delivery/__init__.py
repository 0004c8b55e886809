"""Delivery: send runs, waves of claimed digests, the pause policy, the shared rate limit,
provider events, and the reaper that settles what a crash left behind."""
