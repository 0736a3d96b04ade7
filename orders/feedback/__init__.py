"""Decisions go back to the institution (审批结论反馈): outbox, signing, sending, retries, health.

- `wire`: the wire values of decisions: the channel `args`, the webhook `data`, the pulls;
- `signing`: the MD5 envelope and the HMAC-SHA256 header;
- `destinations`: which URLs and resolved addresses may be contacted (SSRF);
- `sender`: one bounded POST to a checked address;
- `schedule`: the retry schedule, a pure function;
- `services`: record a decision's delivery, attempt it, send again;
- `tasks`: the job per attempt and the sweep;
- `selectors`: what the admin shows (health, an order's delivery).

Nothing here is imported by `orders.models` but `destinations` (the URL check of an institution).
"""
