/*
 * feltd.c: the felt game server's entry point: command line, tables, bots, the sweeps.
 *
 * feltd serves No-Limit Hold'em tables over WebSocket (server push, resume, heartbeats) and the
 * HTTP polling fallback, on one port from one libwebsockets event loop (net.c); no threads.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "server.h"

static const char feltd_usage[] =
    "usage: feltd [options]\n"
    "\n"
    "The felt No-Limit Hold'em server: WebSocket and HTTP on one port.\n"
    "\n"
    "  --host ADDR            address to listen on (default 127.0.0.1)\n"
    "  --port N               port (default 8000; 0 picks a free one, printed on stdout)\n"
    "  --table NAME:SEATS:SB/BB:BUYIN[:ANTE]\n"
    "                         serve a table (repeatable; default main:6:5/10:1000)\n"
    "  --bots N               seat N built-in bots at 'main' (or the first table)\n"
    "  --action-timeout S     seconds a player has to act (default 30)\n"
    "  --hand-delay MS        pause between hands in ms (default 3000)\n"
    "  --bot-delay MS         bots' thinking time in ms (default 800)\n"
    "  --history N            events kept per table for resume (default 4096, min 1024)\n"
    "  --spectator-chat       let spectators chat (default: they watch, players chat)\n"
    "  --ping-secs S          ping an idle WebSocket after S seconds (default 20)\n"
    "  --hangup-secs S        drop a WebSocket silent for S seconds (default 60)\n"
    "  --tls-cert F --tls-key F   serve wss:// and https:// with this certificate\n"
    "\n"
    "Limits against abusive clients (docs/security.md; 0 turns a limit off):\n"
    "  --idle-seat-secs S     stand up a player away (no socket, no poll) for S s (default 120)\n"
    "  --sitout-hands N       stand up a player sat out for N hands (default 10)\n"
    "  --joins-per-minute N   joins (and leaves) per client address (default 6)\n"
    "  --seats-per-address N  seats one address may hold at a table (default 2)\n"
    "  --max-conns-per-address N  open connections per address (default 64)\n"
    "  --max-conns N          open connections in all (default: the descriptor limit less a\n"
    "                         reserve for /healthz; never more than that)\n"
    "  --hello-secs S         a player's socket must say hello within S s (default 10)\n"
    "  --chat-per-address N   chat messages per 10 s per address (default 10)\n"
    "  --chat-per-table N     chat messages per 10 s per table (default 30)\n"
    "  --poll-max-events N    a poll further behind gets a snapshot (default 256)\n"
    "  --trust-proxy ADDR     take the client address from X-Forwarded-For when the peer is\n"
    "                         this reverse proxy (default: never)\n"
    "  -v, --verbose          log more;  -q, --quiet  log only errors\n"
    "  -h, --help             this help;  --version  print the version\n";

static struct server feltd_server;
static void feltd_seat_bots(struct server *srv);
static const char *feltd_bot_table;
static int feltd_bots;

/* NAME:SEATS:SB/BB:BUYIN[:ANTE]. Returns 0 or -1 with a message on stderr. */
static int feltd_parse_table(const char *spec, struct table_config *cfg)
{
    char name[64];
    long long seats, sb, bb, buyin, ante = 0;
    int n = 0;
    if (sscanf(spec, "%63[^:]:%lld:%lld/%lld:%lld%n", name, &seats, &sb, &bb, &buyin, &n) != 5 ||
        (spec[n] != '\0' && (sscanf(spec + n, ":%lld%n", &ante, &n) != 1))) {
        fprintf(stderr, "feltd: bad --table '%s' (want NAME:SEATS:SB/BB:BUYIN[:ANTE])\n", spec);
        return -1;
    }
    if (!proto_game_id_valid(name, strlen(name)) || seats < 2 || seats > ENGINE_MAX_SEATS ||
        sb < 0 || bb < 1 || sb > bb || ante < 0 || buyin < bb || buyin > PROTO_AMOUNT_MAX ||
        bb > PROTO_AMOUNT_MAX) {
        fprintf(stderr,
                "feltd: bad --table '%s': name [A-Za-z0-9_-]{1,32}, 2-%d seats, "
                "0 <= SB <= BB, BB <= BUYIN\n",
                spec, ENGINE_MAX_SEATS);
        return -1;
    }
    snprintf(cfg->id, sizeof(cfg->id), "%.*s", PROTO_GAME_ID_MAX, name);
    cfg->seats = (int)seats;
    cfg->small_blind = sb;
    cfg->big_blind = bb;
    cfg->buy_in = buyin;
    cfg->ante = ante;
    return 0;
}

static long long feltd_number(const char *opt, const char *s, long long lo, long long hi)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "feltd: %s wants a whole number from %lld to %lld\n", opt, lo, hi);
        exit(2);
    }
    return v;
}

/* Every few seconds: stand up the players who went away, forget idle client addresses. */
#define FELTD_SWEEP_MS 2000
static struct timer *feltd_sweep_timer;

static void feltd_sweep(void *arg)
{
    struct server *srv = arg;
    int64_t now = timer_wall_ms();
    if (srv->shutting_down) return;
    for (int i = 0; i < srv->ntables; i++)
        table_sweep(srv->tables[i], now);
    limit_sweep(&srv->addrs, &srv->limits, now);
    timer_arm(feltd_sweep_timer, FELTD_SWEEP_MS);
}

static void feltd_ready(struct server *srv)
{
    feltd_sweep_timer = timer_new(feltd_sweep, srv);
    timer_arm(feltd_sweep_timer, FELTD_SWEEP_MS);
    feltd_seat_bots(srv);
}

static void feltd_seat_bots(struct server *srv)
{
    static const char *names[] = {"ada", "bo", "cy", "di", "ed", "flo", "gus", "hal", "ivy"};
    struct table *t = lobby_find(srv, feltd_bot_table, strlen(feltd_bot_table));
    struct felt_err err;
    for (int i = 0; i < feltd_bots; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s-bot", names[i % FELT_ARRAY_LEN(names)]);
        if (!table_join(t, name, 0, true, NULL, NULL, &err)) {
            fprintf(stderr, "feltd: cannot seat bot %s: %s\n", name, err.message);
            break;
        }
    }
}

enum {
    O_TABLE = 256,
    O_BOTS,
    O_TIMEOUT,
    O_HAND_DELAY,
    O_BOT_DELAY,
    O_HISTORY,
    O_NO_SPEC_CHAT,
    O_PING,
    O_HANGUP,
    O_CERT,
    O_KEY,
    O_VERSION,
    O_HOST,
    O_PORT,
    O_SPEC_CHAT,
    O_IDLE_SEAT,
    O_SITOUT_HANDS,
    O_JOINS,
    O_SEATS_ADDR,
    O_CONNS_ADDR,
    O_CONNS,
    O_HELLO,
    O_CHAT_ADDR,
    O_CHAT_TABLE,
    O_POLL_MAX,
    O_TRUST_PROXY
};

static const struct option feltd_opts[] = {
    {"host", required_argument, NULL, O_HOST},
    {"port", required_argument, NULL, O_PORT},
    {"table", required_argument, NULL, O_TABLE},
    {"bots", required_argument, NULL, O_BOTS},
    {"action-timeout", required_argument, NULL, O_TIMEOUT},
    {"hand-delay", required_argument, NULL, O_HAND_DELAY},
    {"bot-delay", required_argument, NULL, O_BOT_DELAY},
    {"history", required_argument, NULL, O_HISTORY},
    {"no-spectator-chat", no_argument, NULL, O_NO_SPEC_CHAT},
    {"spectator-chat", no_argument, NULL, O_SPEC_CHAT},
    {"idle-seat-secs", required_argument, NULL, O_IDLE_SEAT},
    {"sitout-hands", required_argument, NULL, O_SITOUT_HANDS},
    {"joins-per-minute", required_argument, NULL, O_JOINS},
    {"seats-per-address", required_argument, NULL, O_SEATS_ADDR},
    {"max-conns-per-address", required_argument, NULL, O_CONNS_ADDR},
    {"max-conns", required_argument, NULL, O_CONNS},
    {"hello-secs", required_argument, NULL, O_HELLO},
    {"chat-per-address", required_argument, NULL, O_CHAT_ADDR},
    {"chat-per-table", required_argument, NULL, O_CHAT_TABLE},
    {"poll-max-events", required_argument, NULL, O_POLL_MAX},
    {"trust-proxy", required_argument, NULL, O_TRUST_PROXY},
    {"ping-secs", required_argument, NULL, O_PING},
    {"hangup-secs", required_argument, NULL, O_HANGUP},
    {"tls-cert", required_argument, NULL, O_CERT},
    {"tls-key", required_argument, NULL, O_KEY},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0},
};

/* The limits against abusive clients: whole numbers kept in struct limits (docs/security.md). */
static const struct {
    int opt;
    const char *name;
    size_t offset; /* of an int in struct limits */
    long long lo, hi;
} feltd_limit_opts[] = {
    {O_IDLE_SEAT, "--idle-seat-secs", offsetof(struct limits, idle_seat_secs), 0, 86400 * 30},
    {O_SITOUT_HANDS, "--sitout-hands", offsetof(struct limits, sitout_hands), 0, 1000000},
    {O_JOINS, "--joins-per-minute", offsetof(struct limits, joins_per_minute), 0, 1000000},
    {O_SEATS_ADDR, "--seats-per-address", offsetof(struct limits, seats_per_address), 0,
     ENGINE_MAX_SEATS},
    {O_CONNS_ADDR, "--max-conns-per-address", offsetof(struct limits, max_conns_per_address), 0,
     1 << 24},
    {O_CONNS, "--max-conns", offsetof(struct limits, max_conns), 0, 1 << 24},
    {O_HELLO, "--hello-secs", offsetof(struct limits, hello_secs), 1, 3600},
    {O_CHAT_ADDR, "--chat-per-address", offsetof(struct limits, chat_per_address), 0, 1000000},
    {O_CHAT_TABLE, "--chat-per-table", offsetof(struct limits, chat_per_table), 0, 1000000},
    {O_POLL_MAX, "--poll-max-events", offsetof(struct limits, poll_max_events), 0, 1 << 20},
};

/* What the command line asks for. */
struct feltd_args {
    struct net_options net;
    struct table_config defaults; /* every table's settings but its own spec */
    struct table_config *tables;  /* the --table specs (id, seats, blinds, buy-in, ante) */
    int ntables;
};

/* Sets a limit option; false if c is not one. */
static bool feltd_limit_option(struct limits *l, int c, const char *arg)
{
    for (size_t i = 0; i < FELT_ARRAY_LEN(feltd_limit_opts); i++)
        if (feltd_limit_opts[i].opt == c) {
            int *field = (int *)((char *)l + feltd_limit_opts[i].offset);
            *field = (int)feltd_number(feltd_limit_opts[i].name, arg, feltd_limit_opts[i].lo,
                                       feltd_limit_opts[i].hi);
            return true;
        }
    return false;
}

/* One option of the server or its tables. Returns -1 to go on, else the exit status. */
static int feltd_option(struct server *srv, struct feltd_args *a, int c, const char *arg)
{
    struct in_addr proxy;
    if (feltd_limit_option(&srv->limits, c, arg)) return -1;
    switch (c) {
    case O_HOST:
        a->net.host = arg;
        break;
    case O_PORT:
        a->net.port = (int)feltd_number("--port", arg, 0, 65535);
        break;
    case O_TABLE:
        a->tables = xrealloc(a->tables, sizeof(*a->tables) * (size_t)(a->ntables + 1));
        memset(&a->tables[a->ntables], 0, sizeof(a->tables[0]));
        if (feltd_parse_table(arg, &a->tables[a->ntables]) != 0) return 2;
        a->ntables++;
        break;
    case O_BOTS:
        feltd_bots = (int)feltd_number("--bots", arg, 0, ENGINE_MAX_SEATS);
        break;
    case O_TIMEOUT:
        a->defaults.action_timeout_ms = feltd_number("--action-timeout", arg, 1, 3600) * 1000;
        break;
    case O_HAND_DELAY:
        a->defaults.hand_delay_ms = feltd_number("--hand-delay", arg, 0, 600000);
        break;
    case O_BOT_DELAY:
        a->defaults.bot_delay_ms = feltd_number("--bot-delay", arg, 0, 600000);
        break;
    case O_HISTORY:
        a->defaults.history = (size_t)feltd_number("--history", arg, 1024, 1 << 20);
        break;
    case O_NO_SPEC_CHAT:
        a->defaults.spectator_chat = false;
        break;
    case O_SPEC_CHAT:
        a->defaults.spectator_chat = true;
        break;
    case O_TRUST_PROXY:
        if (inet_pton(AF_INET, arg, &proxy) != 1) {
            fprintf(stderr, "feltd: --trust-proxy wants the proxy's IPv4 address, not '%s'\n", arg);
            return 2;
        }
        srv->limits.trust_proxy = arg;
        break;
    case O_PING:
        a->net.ping_secs = (int)feltd_number("--ping-secs", arg, 1, 3600);
        break;
    case O_HANGUP:
        a->net.hangup_secs = (int)feltd_number("--hangup-secs", arg, 2, 7200);
        break;
    case O_CERT:
        a->net.tls_cert = arg;
        break;
    case O_KEY:
        a->net.tls_key = arg;
        break;
    case 'v':
        log_set_level(LOG_VERBOSE);
        break;
    case 'q':
        log_set_level(LOG_QUIET);
        break;
    case 'h':
        fputs(feltd_usage, stdout);
        return 0;
    case O_VERSION:
        printf("feltd %s (protocol %s)\n", FELT_VERSION, PROTO_SUBPROTOCOL);
        return 0;
    default:
        fputs(feltd_usage, stderr);
        return 2;
    }
    return -1;
}

/* Parses the command line into a and the server's limits. Returns -1 to go on, else the exit
 * status (--help, --version, or 2 for a bad command line). */
static int feltd_parse_args(struct server *srv, struct feltd_args *a, int argc, char **argv)
{
    int c, rc;
    while ((c = getopt_long(argc, argv, "vqh", feltd_opts, NULL)) != -1)
        if ((rc = feltd_option(srv, a, c, optarg)) >= 0) return rc;
    if (optind < argc) {
        fprintf(stderr, "feltd: unexpected argument '%s'\n%s", argv[optind], feltd_usage);
        return 2;
    }
    if (!a->net.tls_cert != !a->net.tls_key) {
        fprintf(stderr, "feltd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (a->ntables == 0) {
        a->tables = xcalloc(1, sizeof(*a->tables));
        feltd_parse_table("main:6:5/10:1000", &a->tables[0]);
        a->ntables = 1;
    }
    return -1;
}

/* Opens the tables, each with the defaults and its own spec. Returns 0 or 2. */
static int feltd_open_tables(struct server *srv, const struct feltd_args *a)
{
    for (int i = 0; i < a->ntables; i++) {
        struct table_config cfg = a->defaults;
        memcpy(cfg.id, a->tables[i].id, sizeof(cfg.id));
        cfg.seats = a->tables[i].seats;
        cfg.small_blind = a->tables[i].small_blind;
        cfg.big_blind = a->tables[i].big_blind;
        cfg.ante = a->tables[i].ante;
        cfg.buy_in = a->tables[i].buy_in;
        if (lobby_find(srv, cfg.id, strlen(cfg.id))) {
            fprintf(stderr, "feltd: table '%s' is defined twice\n", cfg.id);
            return 2;
        }
        lobby_add(srv, table_new(srv, &cfg));
    }
    /* The table's own config outlives a->tables, so the name points there. */
    feltd_bot_table = lobby_find(srv, "main", 4) ? "main" : table_config(srv->tables[0])->id;
    if (feltd_bots >
        table_config(lobby_find(srv, feltd_bot_table, strlen(feltd_bot_table)))->seats) {
        fprintf(stderr, "feltd: --bots %d does not fit at table %s\n", feltd_bots, feltd_bot_table);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct server *srv = &feltd_server;
    rng_token_hex(srv->epoch, SERVER_EPOCH_BYTES);
    struct feltd_args a = {
        .net = {.host = "127.0.0.1",
                .port = 8000,
                .ping_secs = 20,
                .hangup_secs = 60,
                .on_ready = feltd_ready},
        .defaults = {.action_timeout_ms = 30000,
                     .hand_delay_ms = 3000,
                     .bot_delay_ms = 800,
                     .spectator_chat = false,
                     .history = 4096},
    };
    srv->limits = (struct limits){.idle_seat_secs = 120,
                                  .sitout_hands = 10,
                                  .joins_per_minute = 6,
                                  .seats_per_address = 2,
                                  .max_conns_per_address = 64,
                                  .max_conns = 0,
                                  .hello_secs = 10,
                                  .chat_per_address = 10,
                                  .chat_per_table = 30,
                                  .poll_max_events = 256};
    int rc = feltd_parse_args(srv, &a, argc, argv);
    if (rc >= 0) return rc;
    eval_init();
    rc = feltd_open_tables(srv, &a);
    free(a.tables);
    if (rc != 0) return rc;
    rc = net_run(srv, &a.net);
    timer_free(feltd_sweep_timer);
    lobby_free(srv);
    limit_free(&srv->addrs);
    log_line(LOG_NORMAL, "stopped");
    return rc;
}
