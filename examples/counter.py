"""A counter that keeps state between warm calls.

Deployed with style `handler` and handler `counter.count`. The module is
loaded once per instance, so `calls` grows while the instance stays warm and
starts again at 1 on a new (cold or prewarmed) instance: a way to see warm
reuse, and a reminder that state in memory is per instance, not durable.
"""
import uuid

calls = 0
# Made once, when the module loads in an instance: calls on the same instance share it.
INSTANCE = uuid.uuid4().hex[:8]


def count(event, context):
    global calls
    calls += 1
    return {"calls": calls, "instance": INSTANCE}
