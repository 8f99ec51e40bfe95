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
    "  --tls-cert F --tls-key F   serve wss:// and https:// with this certificate\n"    "\n"
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
        fprintf(stderr, "feltd: bad --table '%s': name [A-Za-z0-9_-]{1,32}, 2-%d seats, "
                        "0 <= SB <= BB, BB <= BUYIN\n", spec, ENGINE_MAX_SEATS);
        return -1;
    }
    snprintf(cfg->id, sizeof(cfg->id), "%s", name);
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
    if (srv->shutting_down)
        return;
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

int main(int argc, char **argv)
{
    enum { O_TABLE = 256, O_BOTS, O_TIMEOUT, O_HAND_DELAY, O_BOT_DELAY, O_HISTORY, O_NO_SPEC_CHAT,
           O_PING, O_HANGUP, O_CERT, O_KEY, O_VERSION, O_HOST, O_PORT, O_SPEC_CHAT, O_IDLE_SEAT,
           O_SITOUT_HANDS, O_JOINS, O_SEATS_ADDR, O_CONNS_ADDR, O_CONNS, O_HELLO, O_CHAT_ADDR,
           O_CHAT_TABLE, O_POLL_MAX, O_TRUST_PROXY };
    static const struct option opts[] = {
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
    struct server *srv = &feltd_server;
    struct net_options no = {.host = "127.0.0.1", .port = 8000, .ping_secs = 20,
                             .hangup_secs = 60, .on_ready = feltd_ready};
    struct table_config defaults = {.action_timeout_ms = 30000, .hand_delay_ms = 3000,
                                    .bot_delay_ms = 800, .spectator_chat = false, .history = 4096};
    struct limits *l = &srv->limits;
    *l = (struct limits){.idle_seat_secs = 120, .sitout_hands = 10, .joins_per_minute = 6,
                         .seats_per_address = 2, .max_conns_per_address = 64, .max_conns = 0,
                         .hello_secs = 10, .chat_per_address = 10, .chat_per_table = 30,
                         .poll_max_events = 256};
    struct table_config *cfgs = NULL;
    int ncfgs = 0, c;

    while ((c = getopt_long(argc, argv, "vqh", opts, NULL)) != -1) {
        switch (c) {
        case O_HOST: no.host = optarg; break;
        case O_PORT: no.port = (int)feltd_number("--port", optarg, 0, 65535); break;
        case O_TABLE:
            cfgs = xrealloc(cfgs, sizeof(*cfgs) * (size_t)(ncfgs + 1));
            memset(&cfgs[ncfgs], 0, sizeof(cfgs[ncfgs]));
            if (feltd_parse_table(optarg, &cfgs[ncfgs]) != 0)
                return 2;
            ncfgs++;
            break;
        case O_BOTS: feltd_bots = (int)feltd_number("--bots", optarg, 0, ENGINE_MAX_SEATS); break;
        case O_TIMEOUT:
            defaults.action_timeout_ms = feltd_number("--action-timeout", optarg, 1, 3600) * 1000;
            break;
        case O_HAND_DELAY:
            defaults.hand_delay_ms = feltd_number("--hand-delay", optarg, 0, 600000);
            break;
        case O_BOT_DELAY:
            defaults.bot_delay_ms = feltd_number("--bot-delay", optarg, 0, 600000);
            break;
        case O_HISTORY:
            defaults.history = (size_t)feltd_number("--history", optarg, 1024, 1 << 20);
            break;
        case O_NO_SPEC_CHAT: defaults.spectator_chat = false; break;
        case O_SPEC_CHAT: defaults.spectator_chat = true; break;
        case O_IDLE_SEAT:
            l->idle_seat_secs = (int)feltd_number("--idle-seat-secs", optarg, 0, 86400 * 30);
            break;
        case O_SITOUT_HANDS:
            l->sitout_hands = (int)feltd_number("--sitout-hands", optarg, 0, 1000000);
            break;
        case O_JOINS:
            l->joins_per_minute = (int)feltd_number("--joins-per-minute", optarg, 0, 1000000);
            break;
        case O_SEATS_ADDR:
            l->seats_per_address = (int)feltd_number("--seats-per-address", optarg, 0,
                                                     ENGINE_MAX_SEATS);
            break;
        case O_CONNS_ADDR:
            l->max_conns_per_address =
                (int)feltd_number("--max-conns-per-address", optarg, 0, 1 << 24);
            break;
        case O_CONNS: l->max_conns = (int)feltd_number("--max-conns", optarg, 0, 1 << 24); break;
        case O_HELLO: l->hello_secs = (int)feltd_number("--hello-secs", optarg, 1, 3600); break;
        case O_CHAT_ADDR:
            l->chat_per_address = (int)feltd_number("--chat-per-address", optarg, 0, 1000000);
            break;
        case O_CHAT_TABLE:
            l->chat_per_table = (int)feltd_number("--chat-per-table", optarg, 0, 1000000);
            break;
        case O_POLL_MAX:
            l->poll_max_events = (int)feltd_number("--poll-max-events", optarg, 0, 1 << 20);
            break;
        case O_TRUST_PROXY: {
            struct in_addr a;
            if (inet_pton(AF_INET, optarg, &a) != 1) {
                fprintf(stderr, "feltd: --trust-proxy wants the proxy's IPv4 address, not '%s'\n",
                        optarg);
                return 2;
            }
            l->trust_proxy = optarg;
            break;
        }
        case O_PING: no.ping_secs = (int)feltd_number("--ping-secs", optarg, 1, 3600); break;
        case O_HANGUP: no.hangup_secs = (int)feltd_number("--hangup-secs", optarg, 2, 7200); break;
        case O_CERT: no.tls_cert = optarg; break;
        case O_KEY: no.tls_key = optarg; break;
        case 'v': log_set_level(LOG_VERBOSE); break;
        case 'q': log_set_level(LOG_QUIET); break;
        case 'h': fputs(feltd_usage, stdout); return 0;
        case O_VERSION: printf("feltd %s (protocol %s)\n", FELT_VERSION, PROTO_SUBPROTOCOL); return 0;
        default: fputs(feltd_usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "feltd: unexpected argument '%s'\n%s", argv[optind], feltd_usage);
        return 2;
    }
    if (!no.tls_cert != !no.tls_key) {
        fprintf(stderr, "feltd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (ncfgs == 0) {
        cfgs = xcalloc(1, sizeof(*cfgs));
        feltd_parse_table("main:6:5/10:1000", &cfgs[0]);
        ncfgs = 1;
    }
    eval_init();
    for (int i = 0; i < ncfgs; i++) {
        struct table_config cfg = defaults;
        memcpy(cfg.id, cfgs[i].id, sizeof(cfg.id));
        cfg.seats = cfgs[i].seats;
        cfg.small_blind = cfgs[i].small_blind;
        cfg.big_blind = cfgs[i].big_blind;
        cfg.ante = cfgs[i].ante;
        cfg.buy_in = cfgs[i].buy_in;
        if (lobby_find(srv, cfg.id, strlen(cfg.id))) {
            fprintf(stderr, "feltd: table '%s' is defined twice\n", cfg.id);
            return 2;
        }
        lobby_add(srv, table_new(srv, &cfg));
    }
    /* The table's own config outlives cfgs (freed below), so the name points there. */
    feltd_bot_table = lobby_find(srv, "main", 4) ? "main" : table_config(srv->tables[0])->id;
    if (feltd_bots > table_config(lobby_find(srv, feltd_bot_table, strlen(feltd_bot_table)))->seats) {
        fprintf(stderr, "feltd: --bots %d does not fit at table %s\n", feltd_bots, feltd_bot_table);
        return 2;
    }
    free(cfgs);
    int rc = net_run(srv, &no);
    timer_free(feltd_sweep_timer);
    lobby_free(srv);
    limit_free(&srv->addrs);
    log_line(LOG_NORMAL, "stopped");
    return rc;
}
