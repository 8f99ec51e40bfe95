/*
 * replay.h: `felt replay [--json [--steps]] FILE|-`, the hand-record replayer of the felt command,
 * and `felt replay [--json] --hand N [--server URL] [--game ID] [--name NAME] [--ca FILE]`, the
 * same for hand N of a server's history (--ca: the certificates to trust for wss:// and https://).
 *
 * The contract (docs/hand-format.md): exit 0 after printing the hand (text) or the result object
 * (--json); exit 1 when an action is illegal, with the error object (--json) or the hand up to it
 * and the reason (text); exit 2 for a usage error or a malformed record, with one line on stderr.
 * With --hand, also exit 1 when the server cannot be reached, refuses, or has no hand N.
 * --json --steps prints one line per action instead (replay.c), ending with the error object at
 * an illegal action (exit 1); --steps without --json is a usage error.
 */
#ifndef FELT_REPLAY_H
#define FELT_REPLAY_H

/* argv[0] is "replay" (felt.c passes its argv shifted by one). Returns the exit status. */
int replay_main(int argc, char **argv);

#endif
