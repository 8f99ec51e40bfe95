/*
 * felt.c: the entry point of the felt command.
 *
 * For now it only dispatches `felt replay ...` (client-tui/replay.c), --help and --version; the
 * table client will replace the rest of this main. Any other use exits 2 with a hint.
 */
#include <stdio.h>
#include <string.h>

#include "replay.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "replay") == 0) return replay_main(argc - 1, argv + 1);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: felt replay [--json] FILE|-\n"
               "       felt --version\n"
               "The table client is not built yet; 'felt replay FILE' replays a hand record.\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("felt %s\n", FELT_VERSION);
        return 0;
    }
    fprintf(stderr, "felt: the table client is not built yet; try 'felt replay FILE'\n");
    return 2;
}
