"""Talking HTTP to the outside world: requests bounded by a deadline and interruptible by a stop."""
