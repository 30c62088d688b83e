// A script that never ends must be stopped by the sandbox's time limit, not stall the session.
let spins = 0;
for (;;) spins++;
