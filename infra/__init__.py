"""Infrastructure: mechanisms with no opsbot domain in them (a value built once, the executor for
blocking work, a value opened in the background, a worker process's protocol, the wall clock).
A leaf like config: it imports nothing of ours."""
