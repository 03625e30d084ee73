// FSMs with mailboxes, a router, and a poller that drives many FSMs per round.
export {};
