"""RQ job entry points, their queues and the schedule."""
