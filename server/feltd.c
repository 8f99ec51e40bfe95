/*
 * feltd.c: the felt game server's entry point: command line, tables, bots, the sweeps.
 *
 * feltd serves No-Limit Hold'em tables over WebSocket (server push, resume, heartbeats) and the
 * HTTP polling fallback, on one port from one libwebsockets event loop (net.c). The game runs on
 * that one thread; the store (store.h) writes to disk on a thread of its own.
 *
 * At start the data folder (--data; or a PostgreSQL database, --postgres) is opened and loaded
 * before anything listens: every stored
 * table comes back (with the command line's settings where it names the table), then every
 * stored seat, then the hands the last run was playing when it stopped are voided. --bots tops
 * the bot table up to N bots, counting the bots already back in their seats.
 *
 * The settings come from a config file first (--config FILE, else FELTD_SYSTEM_CONFIG when it
 * exists, read by common/conffile.c), then from the command line, which wins: a key is an
 * option's long name, and a --table or --bots on the command line replaces all of the file's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "conffile.h"
#include "eval.h"
#include "outbox.h"
#include "server.h"

/* The config file an installed feltd reads when no --config is given (CMake sets it from
 * GNUInstallDirs: /etc/felt/feltd.conf for a /usr install). */
#ifndef FELTD_SYSTEM_CONFIG
#define FELTD_SYSTEM_CONFIG "/etc/felt/feltd.conf"
#endif

static const char feltd_usage[] =
    "usage: feltd [options]\n"
    "\n"
    "The felt No-Limit Hold'em server: WebSocket and HTTP on one port.\n"
    "\n"
    "  --host HOST            address or name to listen on (default 127.0.0.1; ::1 for IPv6)\n"
    "  --port N               port (default 8000; 0 picks a free one); the URL feltd listens\n"
    "                         on is printed on stdout\n"
    "  --table NAME:SEATS:SB/BB:BUYIN[:ANTE]\n"
    "                         serve a table (repeatable; default main:6:5/10:1000)\n"
    "  --bots [TABLE:]N       keep N built-in bots at TABLE (default 'main', or the first\n"
    "                         table); repeatable\n"
    "  --data DIR             keep tables, seats, chips and hand histories in DIR\n"
    "                         (default $FELT_DATA, else $XDG_DATA_HOME/felt, i.e.\n"
    "                         ~/.local/share/felt);\n"
    "                         ':memory:' keeps nothing after feltd stops\n"
    "  --postgres CONNINFO    keep them in this PostgreSQL database instead (a libpq\n"
    "                         connection string; the password in ~/.pgpass, not here)\n"
    "  --node-id ID --redis URL --advertise URL\n"
    "                         run as one node of several sharing --postgres: each table is\n"
    "                         played by one node, chosen through Redis (redis://HOST[:PORT]);\n"
    "                         clients are sent to it by its --advertise ws://HOST:PORT\n"
    "  --action-timeout S     seconds a player has to act (default 30)\n"
    "  --hand-delay MS        pause between hands in ms (default 3000)\n"
    "  --bot-delay MS         bots' thinking time in ms (default 800)\n"
    "  --history N            events kept per table for resume (default 4096, min 1024)\n"
    "  --spectator-chat       let spectators chat (default: they watch, players chat);\n"
    "                         --no-spectator-chat undoes it\n"
    "  --ping-secs S          ping an idle WebSocket after S seconds (default 20)\n"
    "  --hangup-secs S        drop a WebSocket silent for S seconds (default 60)\n"
    "  --tls-cert F --tls-key F   serve wss:// and https:// with this certificate\n"
    "  --event-lib libev|poll the event loop: libev (epoll; default) or lws's own poll()\n"
    "\n"
    "Limits against abusive clients (docs/security.md; 0 turns a limit off):\n"
    "  --idle-seat-secs S     stand up a player away (no socket, no poll) for S s (default 120)\n"
    "  --sitout-hands N       stand up a player sat out for N hands (default 10)\n"
    "  --joins-per-minute N   joins (and leaves) per client address (default 6)\n"
    "  --seats-per-address N  seats one address may hold at a table (default 2)\n"
    "  --max-conns-per-address N  open connections per address (default 64)\n"
    "  --max-conns N          open connections in all (default and 0: the descriptor limit\n"
    "                         less a reserve for /healthz; never more than that)\n"
    "  --hello-secs S         a player's socket must say hello within S s (default 10; 1 to\n"
    "                         3600, never off)\n"
    "  --chat-per-address N   chat messages per 10 s per address (default 10)\n"
    "  --chat-per-table N     chat messages per 10 s per table (default 30)\n"
    "  --poll-max-events N    a poll further behind gets a snapshot (default 256)\n"
    "  --trust-proxy ADDR     take the client address from X-Forwarded-For when the peer is\n"
    "                         this reverse proxy (default: never)\n"
    "\n"
    "  --config FILE          settings from FILE, one `key = value` a line, the keys being\n"
    "                         these options' names (default $FELTD_CONFIG, else\n"
    "                         " FELTD_SYSTEM_CONFIG " if it exists); the command line wins\n"
    "  --no-config            read no config file\n"
    "  --log-json             log lines as JSON objects (ts, level, msg)\n"
    "  -v, --verbose          log debug lines too;  -q, --quiet  log only errors and warnings\n"
    "  -h, --help             this help;  -V, --version  print the version\n";

static struct server feltd_server;
static const char *feltd_bad_arg; /* the argument getopt_long just read, for its error */
/* Where the setting being read comes from, for its error: "" (the command line) or
 * "FILE:LINE: " (the config file). */
static char feltd_where[256];

/* A bad setting: one line on stderr, "feltd: [FILE:LINE: ]message". */
static void feltd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void feltd_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "feltd: %s", feltd_where);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
static void feltd_seat_bots(struct server *srv, struct table *only);
/* --bots [TABLE:]N, in the order given; "" is the default table ('main', else the first). */
static struct feltd_bots {
    char table[PROTO_GAME_ID_MAX + 1];
    int n;
} feltd_bots[16];
static int feltd_nbots;

/* One whole number of a --table spec, from *p up to the next `stop` character (or the end),
 * with its field's name for the error. Returns 0 or -1 with a message on stderr. */
static int feltd_table_number(const char *spec, const char **p, char stop, const char *field,
                              long long min, long long max, long long *out)
{
    const char *end = stop ? strchr(*p, stop) : NULL;
    size_t len = end ? (size_t)(end - *p) : strlen(*p);
    char buf[32], *tail;
    if (stop && !end) {
        feltd_fail("bad --table '%s': nothing after %s (want "
                        "NAME:SEATS:SB/BB:BUYIN[:ANTE])", spec, field);
        return -1;
    }
    if (len == 0 || len >= sizeof(buf)) {
        feltd_fail("bad --table '%s': %s is %s", spec, field,
                len == 0 ? "empty" : "too long");
        return -1;
    }
    memcpy(buf, *p, len);
    buf[len] = '\0';
    errno = 0;
    long long v = strtoll(buf, &tail, 10);
    if (*tail != '\0' || errno != 0 || buf[0] == '+' || buf[0] == ' ') {
        feltd_fail("bad --table '%s': %s '%s' is not a whole number", spec, field,
                buf);
        return -1;
    }
    if (v < min || v > max) {
        feltd_fail("bad --table '%s': %s %lld is out of range (%lld to %lld)",
                spec, field, v, min, max);
        return -1;
    }
    *out = v;
    *p += len + (end ? 1 : 0);
    return 0;
}

/* NAME:SEATS:SB/BB:BUYIN[:ANTE]. Returns 0 or -1 with a message on stderr naming the field
 * that is wrong and why. */
static int feltd_parse_table(const char *spec, struct table_config *cfg)
{
    char name[PROTO_GAME_ID_MAX + 1];
    long long seats, sb, bb, buyin, ante = 0;
    const char *colon = strchr(spec, ':'), *p;
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (!colon) {
        feltd_fail("bad --table '%s': want NAME:SEATS:SB/BB:BUYIN[:ANTE], e.g. "
                        "main:6:5/10:1000", spec);
        return -1;
    }
    if (nlen == 0 || nlen > PROTO_GAME_ID_MAX || !proto_game_id_valid(spec, nlen)) {
        feltd_fail("bad --table '%s': the name '%.*s' must be 1 to %d of "
                        "A-Z a-z 0-9 _ -", spec, (int)(nlen > 64 ? 64 : nlen), spec,
                PROTO_GAME_ID_MAX);
        return -1;
    }
    memcpy(name, spec, nlen);
    name[nlen] = '\0';
    p = colon + 1;
    int colons = 0;
    for (const char *q = p; *q; q++)
        colons += *q == ':';
    bool has_ante = colons >= 3; /* SEATS:SB/BB:BUYIN has two */
    if (feltd_table_number(spec, &p, ':', "the seat count", 2, ENGINE_MAX_SEATS, &seats) ||
        feltd_table_number(spec, &p, '/', "the small blind", 0, PROTO_AMOUNT_MAX, &sb) ||
        feltd_table_number(spec, &p, ':', "the big blind", 1, PROTO_AMOUNT_MAX, &bb) ||
        feltd_table_number(spec, &p, has_ante ? ':' : '\0', "the buy-in", 1, PROTO_AMOUNT_MAX,
                           &buyin) ||
        (has_ante && feltd_table_number(spec, &p, '\0', "the ante", 0, PROTO_AMOUNT_MAX, &ante)))
        return -1;
    if (sb > bb) {
        feltd_fail("bad --table '%s': the small blind (%lld) is more than the big "
                        "blind (%lld)", spec, sb, bb);
        return -1;
    }
    if (buyin < bb) {
        feltd_fail("bad --table '%s': the buy-in (%lld) is less than the big blind "
                        "(%lld)", spec, buyin, bb);
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
        feltd_fail("%s wants a whole number from %lld to %lld", opt, lo, hi);
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

/* Several nodes: the cluster's options (main's), and the cluster once the loop runs. */
static const struct cluster_options *feltd_cluster_opts;
static struct cluster *feltd_cluster;

static void feltd_ready(struct server *srv)
{
    feltd_sweep_timer = timer_new(feltd_sweep, srv);
    timer_arm(feltd_sweep_timer, FELTD_SWEEP_MS);
    if (feltd_cluster_opts) {
        struct felt_err err = {0};
        feltd_cluster = cluster_new(srv, net_loop(), feltd_cluster_opts, &err);
        if (!feltd_cluster)
            felt_fatal("feltd: %s", err.message); /* checked before listening: cannot happen */
        return; /* each table's bots sit down once this node plays it (feltd_seat_bots) */
    }
    feltd_seat_bots(srv, NULL);
}

static void feltd_stop(struct server *srv)
{
    (void)srv;
    cluster_stop(feltd_cluster); /* cluster_free after store_close releases its leases */
}

/* Tops each --bots table (only t's, unless NULL) up to its number of bots: bots restored from
 * the data folder count, and a name already taken is passed over. A table standing by (another
 * node plays it) gets none. */
static void feltd_seat_bots(struct server *srv, struct table *only)
{
    static const char *names[] = {"ada", "bo", "cy", "di", "ed", "flo", "gus", "hal", "ivy", "jo"};
    struct felt_err err;
    for (int b = 0; b < feltd_nbots; b++) {
        struct table *t = lobby_find(srv, feltd_bots[b].table, strlen(feltd_bots[b].table));
        if ((only && t != only) || table_standby(t))
            continue;
        for (size_t i = 0; table_bots(t) < feltd_bots[b].n && i < FELT_ARRAY_LEN(names); i++) {
            char name[32];
            snprintf(name, sizeof(name), "%s-bot", names[i]);
            if (!table_join(t, name, 0, true, NULL, NULL, NULL, &err) &&
                strcmp(err.code, "name_taken") != 0) {
                log_line(LOG_ERROR, "cannot seat bot %s: %s", name, err.message);
                break;
            }
        }
    }
}

/* --bots N or --bots TABLE:N. Returns 0 or 2. */
static int feltd_parse_bots(const char *arg)
{
    const char *colon = strrchr(arg, ':');
    struct feltd_bots *b = &feltd_bots[feltd_nbots];
    if (feltd_nbots == (int)FELT_ARRAY_LEN(feltd_bots)) {
        feltd_fail("too many --bots");
        return 2;
    }
    b->table[0] = '\0';
    if (colon) {
        if (!proto_game_id_valid(arg, (size_t)(colon - arg))) {
            feltd_fail("bad --bots '%s' (want N or TABLE:N)", arg);
            return 2;
        }
        snprintf(b->table, sizeof(b->table), "%.*s", (int)(colon - arg), arg);
        arg = colon + 1;
    }
    b->n = (int)feltd_number("--bots", arg, 0, ENGINE_MAX_SEATS);
    feltd_nbots++;
    return 0;
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
    O_EVENT_LIB,
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
    O_TRUST_PROXY,
    O_DATA,
    O_POSTGRES,
    O_NODE_ID,
    O_REDIS,
    O_ADVERTISE,
    O_CONFIG,
    O_NO_CONFIG,
    O_LOG_JSON
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
    {"data", required_argument, NULL, O_DATA},
    {"postgres", required_argument, NULL, O_POSTGRES},
    {"node-id", required_argument, NULL, O_NODE_ID},
    {"redis", required_argument, NULL, O_REDIS},
    {"advertise", required_argument, NULL, O_ADVERTISE},
    {"ping-secs", required_argument, NULL, O_PING},
    {"hangup-secs", required_argument, NULL, O_HANGUP},
    {"event-lib", required_argument, NULL, O_EVENT_LIB},
    {"tls-cert", required_argument, NULL, O_CERT},
    {"tls-key", required_argument, NULL, O_KEY},
    {"config", required_argument, NULL, O_CONFIG},
    {"no-config", no_argument, NULL, O_NO_CONFIG},
    {"log-json", no_argument, NULL, O_LOG_JSON},
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
    const char *data;             /* --data, or NULL for the default folder */
    const char *postgres;         /* --postgres, or NULL: the data folder */
    struct cluster_options cluster; /* --node-id, --redis, --advertise: several nodes */
    bool log_json;                /* --log-json */
    /* While the command line is read: the tables and bots still those of the config file,
     * which the command line's first --table (or --bots) replaces. */
    bool file_tables, file_bots;
    bool file_store; /* --data or --postgres came from the config file */
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
        if (a->file_tables) {
            a->ntables = 0;
            a->file_tables = false;
        }
        a->tables = xrealloc(a->tables, sizeof(*a->tables) * (size_t)(a->ntables + 1));
        memset(&a->tables[a->ntables], 0, sizeof(a->tables[0]));
        if (feltd_parse_table(arg, &a->tables[a->ntables]) != 0) return 2;
        a->ntables++;
        break;
    case O_BOTS:
        if (a->file_bots) {
            feltd_nbots = 0;
            a->file_bots = false;
        }
        if (feltd_parse_bots(arg) != 0) return 2;
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
            feltd_fail("--trust-proxy wants the proxy's IPv4 address, not '%s'", arg);
            return 2;
        }
        srv->limits.trust_proxy = arg;
        break;
    case O_DATA:
    case O_POSTGRES: /* one store; the command line's first replaces the file's */
        if (!feltd_where[0] && a->file_store) {
            a->data = a->postgres = NULL;
            a->file_store = false;
        }
        *(c == O_DATA ? &a->data : &a->postgres) = arg;
        break;
    case O_NODE_ID:
        a->cluster.node_id = arg;
        break;
    case O_REDIS:
        a->cluster.redis_url = arg;
        break;
    case O_ADVERTISE:
        a->cluster.advertise = arg;
        break;
    case O_PING:
        a->net.ping_secs = (int)feltd_number("--ping-secs", arg, 1, 3600);
        break;
    case O_HANGUP:
        a->net.hangup_secs = (int)feltd_number("--hangup-secs", arg, 2, 7200);
        break;
    case O_EVENT_LIB:
        if (strcmp(arg, "libev") == 0)
            a->net.event_lib = NET_EVENT_LIBEV;
        else if (strcmp(arg, "poll") == 0)
            a->net.event_lib = NET_EVENT_POLL;
        else {
            feltd_fail("--event-lib is libev or poll, not '%s'", arg);
            return 2;
        }
        break;
    case O_CERT:
        a->net.tls_cert = arg;
        break;
    case O_KEY:
        a->net.tls_key = arg;
        break;
    case 'v':
        log_set_level(LOG_DEBUG);
        break;
    case 'q':
        log_set_level(LOG_WARNING);
        break;
    case O_LOG_JSON:
        a->log_json = true;
        break;
    case O_CONFIG:
    case O_NO_CONFIG: /* read before everything else (feltd_parse_args) */
        break;
    case 'h':
        fputs(feltd_usage, stdout);
        return 0;
    case 'V':
    case O_VERSION:
        printf("feltd %s (protocol %s)\n", FELT_VERSION, PROTO_SUBPROTOCOL);
        return 0;
    default: /* as felt says it */
        fprintf(stderr, "feltd: unknown option or missing value: '%s'\n(feltd --help lists the "
                        "options)\n", optind > 0 && feltd_bad_arg ? feltd_bad_arg : "?");
        return 2;
    }
    return -1;
}

/* The config file being read: what its settings go into, and the values they keep. */
struct feltd_conf {
    struct server *srv;
    struct feltd_args *a;
    const char *path;
    bool seen[FELT_ARRAY_LEN(feltd_opts)];  /* the keys given, by index in feltd_opts */
    int status;                             /* feltd_option's exit status once it refused */
};
/* The file's values, which the settings point into until feltd exits. */
static char **feltd_conf_values;
static size_t feltd_conf_nvalues;

static void feltd_conf_free(void)
{
    for (size_t i = 0; i < feltd_conf_nvalues; i++)
        free(feltd_conf_values[i]);
    free(feltd_conf_values);
    feltd_conf_values = NULL;
    feltd_conf_nvalues = 0;
}

/* One setting of the config file: the key is an option's long name (not config, no-config,
 * help or version); an option without a value takes on or off; only table and bots may be
 * given twice. Errors the option itself finds are printed by it, after "FILE:LINE: ". */
static int feltd_conf_setting(void *user, int line, const char *key, const char *value,
                              char *why, size_t whysz)
{
    struct feltd_conf *fc = user;
    size_t i;
    for (i = 0; feltd_opts[i].name; i++)
        if (strcmp(key, feltd_opts[i].name) == 0)
            break;
    int c = feltd_opts[i].val;
    if (!feltd_opts[i].name || c == O_CONFIG || c == O_NO_CONFIG || c == 'h' || c == O_VERSION) {
        snprintf(why, whysz, "unknown setting '%.64s' (the keys are the long options of "
                             "feltd --help, without the dashes)", key);
        return -1;
    }
    if (fc->seen[i] && c != O_TABLE && c != O_BOTS) {
        snprintf(why, whysz, "%s is set twice", key);
        return -1;
    }
    fc->seen[i] = true;
    const char *arg = NULL;
    if (feltd_opts[i].has_arg == no_argument) {
        int on = conffile_flag(value);
        if (on < 0) {
            snprintf(why, whysz, "%s is on or off, not '%.40s'", key, value);
            return -1;
        }
        if (!on) { /* off: the opposite option where there is one, else the default */
            if (c == O_SPEC_CHAT) c = O_NO_SPEC_CHAT;
            else if (c == O_NO_SPEC_CHAT) c = O_SPEC_CHAT;
            else return 0;
        }
    } else {
        feltd_conf_values = xrealloc(feltd_conf_values,
                                     sizeof(*feltd_conf_values) * (feltd_conf_nvalues + 1));
        arg = feltd_conf_values[feltd_conf_nvalues++] = xstrdup(value);
    }
    snprintf(feltd_where, sizeof(feltd_where), "%.200s:%d: ", fc->path, line);
    int rc = feltd_option(fc->srv, fc->a, c, arg);
    feltd_where[0] = '\0';
    if (rc >= 0) {
        fc->status = rc;
        return -1;
    }
    return 0;
}

/* Reads the config file: --config FILE, else $FELTD_CONFIG (both must exist; an empty
 * $FELTD_CONFIG, which the tests set, reads none), else FELTD_SYSTEM_CONFIG if it exists;
 * none with --no-config. Returns -1 to go on, else the exit status (2). */
static int feltd_read_config(struct server *srv, struct feltd_args *a, int argc, char **argv)
{
    const char *path = NULL;
    bool none = false;
    int c;
    struct felt_err err = {0};
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vqhV", feltd_opts, NULL)) != -1) {
        if (c == O_CONFIG) path = optarg;
        if (c == O_NO_CONFIG) none = true;
    }
    optind = 0; /* glibc: the next getopt_long starts afresh */
    const char *env = getenv("FELTD_CONFIG");
    if (!path && env) {
        if (!env[0]) return -1;
        path = env;
    }
    if (none) return -1;
    struct feltd_conf fc = {.srv = srv, .a = a, .path = path ? path : FELTD_SYSTEM_CONFIG};
    if (conffile_load(fc.path, path != NULL, feltd_conf_setting, &fc, &err) < 0) {
        if (fc.status > 0) /* the option said why and where */
            return fc.status;
        fprintf(stderr, "feltd: %s\n", err.message);
        return 2;
    }
    a->file_tables = a->ntables > 0;
    a->file_bots = feltd_nbots > 0;
    a->file_store = a->data || a->postgres;
    return -1;
}

/* Parses the config file and the command line into a and the server's limits. Returns -1 to
 * go on, else the exit status (--help, --version, or 2 for a bad setting). */
static int feltd_parse_args(struct server *srv, struct feltd_args *a, int argc, char **argv)
{
    int c, rc;
    if ((rc = feltd_read_config(srv, a, argc, argv)) >= 0) return rc;
    opterr = 0; /* an unknown option is reported in felt's words, not getopt's */
    while ((c = getopt_long(argc, argv, "vqhV", feltd_opts, NULL)) != -1) {
        feltd_bad_arg = optind > 0 && optind <= argc ? argv[optind - 1] : NULL;
        if ((rc = feltd_option(srv, a, c, optarg)) >= 0) return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "feltd: unexpected argument '%s'\n(feltd --help lists the options)\n",
                argv[optind]);
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

/* What the data folder held, collected by store_load's callbacks: tables come back first, so
 * their seats and voided hands wait here until every table exists. */
struct feltd_loaded {
    struct store_table *tables;
    int ntables;
    struct store_seat *seats;
    int nseats;
    struct store_departure *departed;
    int ndeparted;
    struct {
        char table_id[PROTO_GAME_ID_MAX + 1];
        int64_t hand_id;
    } *voided;
    int nvoided;
};

static void feltd_load_table(void *user, const struct store_table *t)
{
    struct feltd_loaded *l = user;
    l->tables = xrealloc(l->tables, sizeof(*l->tables) * (size_t)(l->ntables + 1));
    l->tables[l->ntables++] = *t;
}

static void feltd_load_seat(void *user, const struct store_seat *s)
{
    struct feltd_loaded *l = user;
    l->seats = xrealloc(l->seats, sizeof(*l->seats) * (size_t)(l->nseats + 1));
    l->seats[l->nseats++] = *s;
}

static void feltd_load_departure(void *user, const struct store_departure *d)
{
    struct feltd_loaded *l = user;
    l->departed = xrealloc(l->departed, sizeof(*l->departed) * (size_t)(l->ndeparted + 1));
    l->departed[l->ndeparted++] = *d;
}

static void feltd_load_voided(void *user, const char *table_id, int64_t hand_id)
{
    struct feltd_loaded *l = user;
    l->voided = xrealloc(l->voided, sizeof(*l->voided) * (size_t)(l->nvoided + 1));
    snprintf(l->voided[l->nvoided].table_id, sizeof(l->voided[0].table_id), "%s", table_id);
    l->voided[l->nvoided++].hand_id = hand_id;
}

static const struct store_load_ops feltd_load_ops = {
    .table = feltd_load_table,
    .seat = feltd_load_seat,
    .departure = feltd_load_departure,
    .voided = feltd_load_voided,
};

/* The stored table named id, or NULL. */
static const struct store_table *feltd_loaded_table(const struct feltd_loaded *l, const char *id)
{
    for (int i = 0; i < l->ntables; i++)
        if (strcmp(l->tables[i].id, id) == 0)
            return &l->tables[i];
    return NULL;
}

/* Opens the tables: each --table with the defaults and its own spec, then every stored table
 * the command line does not name, with its stored settings (its players' chips are there). A
 * table keeps its hand numbers; its seat count never shrinks below what was stored, so every
 * stored seat fits. Then the seats, the departures and the voided hands. Returns 0 or 2. */
static int feltd_open_tables(struct server *srv, const struct feltd_args *a,
                             const struct feltd_loaded *l)
{
    for (int i = 0; i < a->ntables + l->ntables; i++) {
        struct table_config cfg = a->defaults;
        const struct store_table *st;
        if (i < a->ntables) {
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
            st = feltd_loaded_table(l, cfg.id);
            if (st && st->seats > cfg.seats)
                cfg.seats = st->seats;
        } else {
            st = &l->tables[i - a->ntables];
            if (lobby_find(srv, st->id, strlen(st->id)))
                continue;
            snprintf(cfg.id, sizeof(cfg.id), "%s", st->id);
            cfg.seats = st->seats;
            cfg.small_blind = st->small_blind;
            cfg.big_blind = st->big_blind;
            cfg.ante = st->ante;
            cfg.buy_in = st->buy_in;
            cfg.action_timeout_ms = st->action_timeout_ms;
        }
        struct table *t = table_new(srv, &cfg);
        if (st) {
            table_set_last_hand_id(t, st->last_hand_id);
            table_set_write_seq(t, st->write_seq);
        }
        lobby_add(srv, t);
    }
    for (int i = 0; i < l->nseats; i++) {
        struct table *t = lobby_find(srv, l->seats[i].table_id, strlen(l->seats[i].table_id));
        if (t)
            table_restore(t, &l->seats[i]);
    }
    for (int i = 0; i < l->ndeparted; i++) { /* oldest first: a table keeps the newest */
        const struct store_departure *d = &l->departed[i];
        struct table *t = lobby_find(srv, d->table_id, strlen(d->table_id));
        if (t)
            table_departed(t, d->player_id, d->token_hash, d->stack);
    }
    for (int i = 0; i < l->nvoided; i++) {
        struct table *t = lobby_find(srv, l->voided[i].table_id, strlen(l->voided[i].table_id));
        if (t)
            table_voided(t, l->voided[i].hand_id);
    }
    /* The table's own config outlives a->tables, so the name points there. */
    for (int b = 0; b < feltd_nbots; b++) {
        struct feltd_bots *bt = &feltd_bots[b];
        if (!bt->table[0])
            snprintf(bt->table, sizeof(bt->table), "%s",
                     lobby_find(srv, "main", 4) ? "main" : table_config(srv->tables[0])->id);
        const struct table *t = lobby_find(srv, bt->table, strlen(bt->table));
        if (!t || bt->n > table_config(t)->seats) {
            fprintf(stderr, "feltd: --bots %d does not fit at table %s\n", bt->n, bt->table);
            return 2;
        }
    }
    return 0;
}

/* The data folder: --data, else $FELT_DATA (a service's setting; the tests set ":memory:"), else
 * $XDG_DATA_HOME/felt, else ~/.local/share/felt. */
static int feltd_data_dir(const char *arg, char *out, size_t size)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    const char *env = getenv("FELT_DATA");
    int n;
    if (!arg && env && env[0])
        arg = env;
    if (arg)
        n = snprintf(out, size, "%s", arg);
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, size, "%s/felt", xdg);
    else if (home && home[0])
        n = snprintf(out, size, "%s/.local/share/felt", home);
    else {
        fprintf(stderr, "feltd: no data folder: set HOME or XDG_DATA_HOME, or give --data DIR\n");
        return -1;
    }
    if (n < 0 || (size_t)n >= size || out[0] == '\0') {
        fprintf(stderr, "feltd: the data folder's path is too long or empty\n");
        return -1;
    }
    return 0;
}

/* How long a starting feltd waits for the previous one's session on its PostgreSQL database
 * to end (store_claim): a killed feltd's lasts until the server notices the closed socket. */
#define FELTD_CLAIM_MS 10000

/* Opens and loads the data folder, or the PostgreSQL database. Returns 0, or 1 with a one-line
 * error on stderr. The connection string is never logged (it may hold a password; the store
 * does not quote it in its errors either). */
static int feltd_open_store(struct server *srv, const struct feltd_args *a,
                            struct feltd_loaded *l)
{
    char dir[4096];
    struct felt_err err = {0};
    if (a->postgres && a->data) {
        fprintf(stderr, "feltd: give --data or --postgres, not both\n");
        return 1;
    }
    if (a->postgres)
        snprintf(dir, sizeof(dir), "PostgreSQL");
    else if (feltd_data_dir(a->data, dir, sizeof(dir)) != 0)
        return 1;
    if ((a->postgres ? store_open_pg(a->postgres, &srv->store, &err)
                     : store_open(dir, &srv->store, &err)) != 0) {
        fprintf(stderr, "feltd: %s\n", err.message);
        return 1;
    }
    if (feltd_cluster_opts) { /* the nodes share it: each table is read when its lease is won */
        log_line(LOG_INFO, "data in %s, shared by the nodes", dir);
        return 0;
    }
    if (store_claim(srv->store, FELTD_CLAIM_MS, &err) != 0 ||
        store_load(srv->store, &feltd_load_ops, l, &err) != 0) {
        fprintf(stderr, "feltd: %s\n", err.message);
        return 1;
    }
    log_line(LOG_INFO, "data in %s: %d table%s, %d seat%s", dir, l->ntables,
             l->ntables == 1 ? "" : "s", l->nseats, l->nseats == 1 ? "" : "s");
    return 0;
}

static void feltd_owned(struct server *srv, struct table *t)
{
    feltd_seat_bots(srv, t);
}

/* --node-id, --redis and --advertise: checked, and the cluster's start prepared (feltd_ready).
 * Returns -1 to go on, else the exit status (2). */
static int feltd_cluster_setup(struct feltd_args *a)
{
    struct felt_err err = {0};
    if (!a->cluster.node_id && !a->cluster.redis_url && !a->cluster.advertise)
        return -1;
    if (cluster_check(&a->cluster, &err) != 0) {
        fprintf(stderr, "feltd: %s\n", err.message);
        return 2;
    }
    if (!a->postgres) {
        fprintf(stderr, "feltd: the nodes of a cluster share a PostgreSQL database: give "
                        "--postgres\n");
        return 2;
    }
    if (a->net.event_lib != NET_EVENT_LIBEV) {
        fprintf(stderr, "feltd: the nodes of a cluster run on libev (--event-lib libev)\n");
        return 2;
    }
    a->cluster.owned = feltd_owned;
    a->net.on_stop = feltd_stop;
    feltd_cluster_opts = &a->cluster;
    return -1;
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
    if (rc >= 0) {
        free(a.tables); /* tables parsed before a bad argument */
        feltd_conf_free();
        return rc;
    }
    log_set_format(a.log_json ? LOG_JSON : log_stderr_is_journal() ? LOG_JOURNAL : LOG_TEXT);
    if ((rc = feltd_cluster_setup(&a)) >= 0) {
        free(a.tables);
        feltd_conf_free();
        return rc;
    }
    eval_init();
    struct feltd_loaded loaded = {0};
    rc = feltd_open_store(srv, &a, &loaded);
    if (rc == 0)
        rc = feltd_open_tables(srv, &a, &loaded);
    free(a.tables);
    free(loaded.tables);
    free(loaded.seats);
    free(loaded.departed);
    free(loaded.voided);
    if (rc != 0) {
        store_close(srv->store);
        lobby_free(srv);
        feltd_conf_free();
        return rc;
    }
    rc = net_run(srv, &a.net);
    timer_free(feltd_sweep_timer);
    /* Everything queued is written before feltd exits, if the store can (a hand cut short by the
     * shutdown stays "running" and is voided by the next start; the tables' outboxes queued what
     * waited for a retry when the shutdown began, table_shutdown). */
    store_close(srv->store);
    srv->store = NULL;
    outbox_free_orphans(); /* the tables a lost lease made let go of, still awaiting answers */
    cluster_free(feltd_cluster); /* every write stored: the next owners may take the tables */
    feltd_cluster = NULL;
    lobby_free(srv);
    limit_free(&srv->addrs);
    log_line(LOG_INFO, "stopped");
    feltd_conf_free();
    return rc;
}
