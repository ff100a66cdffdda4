"""The deploy operation, one module per job.

- `tools`: what a rollout acts on (Cloud Run, Monitoring, Logging, git, the store, a clock).
- `checklist`: what a deploy would ship and what stands in its way; nothing changes.
- `lifecycle`: start, analyse, promote, complete: each step claimed in the store, then made.
- `abort`: ending a rollout, with traffic restored to the stable revision recorded at its start.
- `driver`: what moves a rollout on without a click (analyses on schedule, expiry, resumption).
- `verdict` and `policy`: the rules that need no platform (canary judgement, freezes, approvals).
"""
