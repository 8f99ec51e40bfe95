/*
 * felt.c: the entry point of the felt command.
 *
 *   felt [--server URL] [--game ID] [--name NAME] [--buy-in N] [--spectate] [--json]
 *        [--json-events TYPES]
 *        [--transport auto|ws|poll] [--ascii] [--no-color] [--quiet] [--four-color]
 *        [--color] [--no-ascii] [--two-color] [--bell] [--config FILE | --no-config]
 *        [--ca FILE]
 *   felt replay [--json [--steps]] FILE|-      (replay.c)
 *   felt replay [--json] --hand N [--server URL] [--game ID] [--ca FILE]
 *   felt history [--server URL] [--game ID] [--since ID] [--limit N] [--format F] [--ca FILE]
 *                                                                            (history.c)
 *
 * It lays the config file over felt's defaults, then reads the command line (which wins), creates
 * the event loop and the session, and hands them to the terminal UI (tui_run) or to the bot mode
 * (jsonmode_run). Failures are one line on stderr, never a library's log: exit 2 for a usage error
 * (bad option, bad URL, bad name, a --ca file that cannot be used), 1 when the table could not be
 * joined or reached, or the session ended badly.
 */
#include <getopt.h>
#include <pwd.h>
#include <unistd.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "config.h"
#include "hands.h"
#include "replay.h"
#include "wsclient.h"

static const char felt_usage[] =
    "usage: felt [options]\n"
    "       felt replay [--json [--steps]] FILE|-\n"
    "       felt replay [--json [--steps]] --hand N [--server URL] [--game ID] [--name NAME]\n"
    "                   [--ca FILE]\n"
    "       felt history [--server URL] [--game ID] [--name NAME] [--since ID] [--limit N]\n"
    "                    [--format text|json|pokerstars] [--ca FILE]\n"
    "\n"
    "Play No-Limit Hold'em at a feltd table in the terminal.\n"
    "\n"
    "  --server URL           the server (default ws://127.0.0.1:8000); wss:// for TLS, whose\n"
    "                         certificate is checked against the system's trusted CAs; up to\n"
    "                         4 times for servers of the same tables, tried in turn\n"
    "  --ca FILE              trust the certificates in FILE (PEM: the server's CA, or its\n"
    "                         self-signed certificate) instead of the system's, for wss:// and\n"
    "                         https:// (also felt replay and felt history)\n"
    "  --game ID              the table (default main)\n"
    "  --name NAME            your name at the table (default $USER, or your login name)\n"
    "  --buy-in N             chips to sit down with (default: the table's buy-in)\n"
    "  --spectate             watch without a seat\n"
    "  --json                 no screen: server messages as JSON lines on stdout, commands as\n"
    "                         JSON lines on stdin (for bots; see docs/examples/)\n"
    "  --json-events TYPES    with --json, print only these comma-separated types: message\n"
    "                         types (snapshot, state_update, notification, ack, pong, ...),\n"
    "                         connection, update events (action, street, ...) or notification\n"
    "                         and animation kinds (your_turn, ...); felt's own keep-alive pongs\n"
    "                         are never printed, a ping you send always gets its pong\n"
    "  --transport T          auto (default: WebSocket, HTTP polling if that fails), ws, poll\n"
    "  --ascii                cards as text (Ah Kd) instead of suit symbols\n"
    "  --no-color             no colours (also when $NO_COLOR is set)\n"
    "  --four-color           a four-colour deck\n"
    "  --quiet                no terminal bell on your turn\n"
    "  --color, --no-ascii, --two-color, --bell\n"
    "                         undo color = off, ascii, four-color or quiet from the config file\n"
    "  --config FILE          settings from FILE instead of $XDG_CONFIG_HOME/felt/config\n"
    "                         (default ~/.config/felt/config)\n"
    "  --no-config            read no config file\n"
    "  -h, --help             this help;  -V, --version  print the version\n"
    "\n"
    "The config file holds defaults for these options, one `key = value` a line (lines starting\n"
    "with # are comments): server, game, name, ca (a path relative to the file's folder), and\n"
    "color, ascii, four-color, quiet as on or off. An option on the command line wins over the\n"
    "file.\n"
    "\n"
    "Your seat's token is kept under $XDG_STATE_HOME/felt/, so running felt again with the same\n"
    "server, game and name takes back the same seat.\n"
    "\n"
    "At the table: f fold, c check/call, r raise (type the amount), a all-in; F, K, C choose\n"
    "check/fold, check or call any before your turn; Enter or / chat until Esc or an empty\n"
    "Enter (the input row says CHAT or TABLE); s sit out/in, h hands, q quit; ? lists every key.\n";

static int felt_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int felt_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "felt: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(felt --help lists the options)\n");
    return 2;
}

enum {
    O_SERVER = 256,
    O_GAME,
    O_NAME,
    O_BUY_IN,
    O_SPECTATE,
    O_JSON,
    O_JSON_EVENTS,
    O_TRANSPORT,
    O_ASCII,
    O_NO_COLOR,
    O_QUIET,
    O_FOUR_COLOR,
    O_CONFIG,
    O_NO_CONFIG,
    O_COLOR,
    O_NO_ASCII,
    O_TWO_COLOR,
    O_BELL,
    O_CA,
    O_VERSION,
};

static const struct {
    const char *name;
    enum session_transport t;
} felt_transports[] = {
    {"auto", SESSION_TRANSPORT_AUTO},
    {"ws", SESSION_TRANSPORT_WS},
    {"poll", SESSION_TRANSPORT_POLL},
};

/* $USER, or the account's name when the environment has none (sudo, cron, a bare root shell). */
static const char *felt_default_name(void)
{
    const char *user = getenv("USER");
    if (user && *user)
        return user;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name && *pw->pw_name ? pw->pw_name : NULL;
}

/* --buy-in's value: a whole number of chips from 1 to PROTO_AMOUNT_MAX; false for anything else. */
static bool felt_parse_buy_in(const char *arg, int64_t *out)
{
    char *end;
    long long v = strtoll(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 1 || v > PROTO_AMOUNT_MAX) return false;
    *out = v;
    return true;
}

/* --transport's value, by name from felt_transports; false for an unknown name. */
static bool felt_parse_transport(const char *arg, enum session_transport *out)
{
    for (size_t i = 0; i < FELT_ARRAY_LEN(felt_transports); i++)
        if (strcmp(arg, felt_transports[i].name) == 0) {
            *out = felt_transports[i].t;
            return true;
        }
    return false;
}

/* Lays the config file over so and to: path is --config's FILE (which must exist), or NULL for
 * the default file (read when it exists). Returns 0, or 2 after reporting the file's error in
 * one line (FILE:LINE: reason). */
static int felt_config(const char *path, struct session_options *so, struct tui_options *to)
{
    static struct config cfg; /* so and to point into it until felt exits */
    char def[CONFIG_PATH_MAX];
    struct felt_err err;
    bool must_exist = path != NULL;
    if (!path) {
        if (config_default_path(def, sizeof(def), &err) != 0) return 0; /* no home, no file */
        path = def;
    }
    if (config_load(&cfg, path, must_exist, &err) < 0) {
        fprintf(stderr, "felt: %s\n", err.message);
        return 2;
    }
    config_apply(&cfg, so, to);
    return 0;
}

/* Reads the config file (felt_config), the options and $NO_COLOR into so, to and json. Returns -1
 * to go on, or the exit code to end with: 0 after --help or --version, 2 after a usage error
 * (already reported). */
static int felt_parse_args(int argc, char **argv, struct session_options *so,
                           struct tui_options *to, bool *json)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, O_SERVER},
        {"game", required_argument, NULL, O_GAME},
        {"name", required_argument, NULL, O_NAME},
        {"buy-in", required_argument, NULL, O_BUY_IN},
        {"spectate", no_argument, NULL, O_SPECTATE},
        {"json", no_argument, NULL, O_JSON},
        {"json-events", required_argument, NULL, O_JSON_EVENTS},
        {"transport", required_argument, NULL, O_TRANSPORT},
        {"ascii", no_argument, NULL, O_ASCII},
        {"no-color", no_argument, NULL, O_NO_COLOR},
        {"quiet", no_argument, NULL, O_QUIET},
        {"four-color", no_argument, NULL, O_FOUR_COLOR},
        {"config", required_argument, NULL, O_CONFIG},
        {"no-config", no_argument, NULL, O_NO_CONFIG},
        {"color", no_argument, NULL, O_COLOR},
        {"no-ascii", no_argument, NULL, O_NO_ASCII},
        {"two-color", no_argument, NULL, O_TWO_COLOR},
        {"bell", no_argument, NULL, O_BELL},
        {"ca", required_argument, NULL, O_CA},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    int opt;
    bool json_events = false, server_given = false;
    const char *config_path = NULL;
    bool no_config = false, skip_config = false;

    /* Precedence: felt's defaults, then $NO_COLOR, then the config file, then the command line.
     * A first pass finds the file to read (--help, --version and a usage error need none, so a
     * broken file never hides them); the second reads the options over it. */
    const char *nc = getenv("NO_COLOR");
    if (nc && nc[0]) to->no_color = true;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        if (opt == O_CONFIG) {
            config_path = optarg;
            no_config = false;
        } else if (opt == O_NO_CONFIG) {
            no_config = true;
        } else if (opt == 'h' || opt == 'V' || opt == O_VERSION || opt == '?') {
            skip_config = true;
        }
    }
    if (!skip_config && !no_config && felt_config(config_path, so, to) != 0) return 2;
    optind = 0; /* glibc: start the scan afresh */
    while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (opt) {
        case O_SERVER: /* the first replaces the config file's; each further one adds a server */
            if (!server_given) {
                so->server = optarg;
                so->nmore = 0;
                server_given = true;
            } else if (so->nmore < SESSION_SERVERS_MAX - 1) {
                so->more_servers[so->nmore++] = optarg;
            } else {
                return felt_usage_error("at most %d --server options", SESSION_SERVERS_MAX);
            }
            break;
        case O_GAME:
            so->game = optarg;
            break;
        case O_NAME:
            so->name = optarg;
            break;
        case O_BUY_IN:
            if (!felt_parse_buy_in(optarg, &so->buy_in))
                return felt_usage_error("--buy-in wants a positive whole number of chips, not "
                                        "'%s'",
                                        optarg);
            break;
        case O_SPECTATE:
            so->spectate = to->spectate = true;
            break;
        case O_JSON:
            *json = true;
            break;
        case O_JSON_EVENTS: {
            struct felt_err err;
            if (jsonmode_set_events(optarg, &err) != 0) return felt_usage_error("%s", err.message);
            json_events = true;
            break;
        }
        case O_TRANSPORT:
            if (!felt_parse_transport(optarg, &so->transport))
                return felt_usage_error("--transport is auto, ws or poll, not '%s'", optarg);
            break;
        case O_ASCII:
            to->ascii = true;
            break;
        case O_NO_COLOR:
            to->no_color = true;
            break;
        case O_QUIET:
            to->quiet = true;
            break;
        case O_FOUR_COLOR:
            to->four_color = true;
            break;
        case O_CONFIG:
        case O_NO_CONFIG:
            break; /* read by the first pass */
        case O_COLOR:
            to->no_color = false;
            break;
        case O_NO_ASCII:
            to->ascii = false;
            break;
        case O_TWO_COLOR:
            to->four_color = false;
            break;
        case O_BELL:
            to->quiet = false;
            break;
        case O_CA: {
            /* One line, exit 2, as an unreadable --config file. */
            char why[256];
            if (wsloop_ca_check(optarg, why, sizeof(why)) != 0) {
                fprintf(stderr, "felt: --ca: %s\n", why);
                return 2;
            }
            so->ca_file = optarg;
            break;
        }
        case 'h':
            fputs(felt_usage, stdout);
            return 0;
        case 'V':
        case O_VERSION:
            printf("felt %s\n", FELT_VERSION);
            return 0;
        default:
            return felt_usage_error("unknown option or missing value: '%s'",
                                    argv[optind - 1] ? argv[optind - 1] : "?");
        }
    }
    if (optind < argc) return felt_usage_error("unexpected argument '%s'", argv[optind]);
    if (json_events && !*json) return felt_usage_error("%s", "--json-events goes with --json");
    if (!so->spectate && (!so->name || !so->name[0]))
        return felt_usage_error("%s", "give your name with --name (or set $USER)");
    return -1;
}

/* Creates the loop and the session, runs the terminal UI or the bot mode until the session
 * ends, reports a failed or rejected session on stderr, and returns the exit code. */
static int felt_run(const struct session_options *so, const struct tui_options *to, bool json)
{
    struct wsloop_config lc = {.quiet = true, .ca_file = so->ca_file};
    struct felt_err err;
    struct wsloop *felt_loop = wsloop_new(&lc);
    if (!felt_loop) {
        fprintf(stderr, "felt: cannot start the network layer\n");
        return 1;
    }
    struct session *s = session_new(felt_loop, so, &err);
    if (!s) {
        wsloop_free(felt_loop);
        fprintf(stderr, "felt: %s\n", err.message);
        return 2;
    }
    session_start(s);
    /* Forget the servers not seen for TOKEN_PRUNE_DAYS, never this one. A failure only leaves
     * old files for the next start, so it is not reported. */
    const char *key = session_token_key(s);
    token_prune(key, (int64_t)time(NULL), TOKEN_PRUNE_DAYS, NULL, NULL);

    int rc;
    if (json) {
        rc = jsonmode_run(felt_loop, s); /* each mode handles its own signals */
    } else {
#ifdef FELT_NO_TUI
        (void)to;
        rc = 2;
#else
        rc = tui_run(felt_loop, s, to);
#endif
    }

    struct session_status st;
    session_status(s, &st);
    if (st.state == SESSION_FAILED || (st.state == SESSION_REJECTED && rc != 0)) {
        fprintf(stderr, "felt: %s\n", st.reason);
        if (rc == 0) rc = 1;
    }
    wsloop_free(felt_loop);
    session_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    struct session_options so = {
        .server = "ws://127.0.0.1:8000",
        .game = "main",
        .name = felt_default_name(),
        .transport = SESSION_TRANSPORT_AUTO,
    };
    struct tui_options to = {0};
    bool json = false;

    if (argc >= 2 && strcmp(argv[1], "replay") == 0) return replay_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "history") == 0) return history_main(argc - 1, argv + 1);
    int rc = felt_parse_args(argc, argv, &so, &to, &json);
    if (rc >= 0) return rc;
#ifdef FELT_NO_TUI
    if (!json) {
        fprintf(stderr, "felt: this build has no terminal UI (client-tui/tui.c is missing); "
                        "use --json\n");
        return 2;
    }
#endif
    setlocale(LC_ALL, "");
    signal(SIGPIPE, SIG_IGN);
    return felt_run(&so, &to, json);
}
