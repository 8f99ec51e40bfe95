/*
 * lobby.c: the set of tables a feltd serves, looked up by game id, and GET /api/games's answer
 * (with several nodes, also every node's URL: "servers").
 *
 * A handful of tables is the expected case, so lookups are a linear scan (O(tables)); a hash
 * would be the change to make if one server ever hosts thousands of tables for the benchmark's
 * sake and profiles say the scan matters.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "server.h"

void lobby_add(struct server *srv, struct table *t)
{
    srv->tables = xrealloc(srv->tables, sizeof(*srv->tables) * (size_t)(srv->ntables + 1));
    srv->tables[srv->ntables++] = t;
}

struct table *lobby_find(struct server *srv, const char *id, size_t len)
{
    for (int i = 0; i < srv->ntables; i++) {
        const char *tid = table_config(srv->tables[i])->id;
        if (strlen(tid) == len && memcmp(tid, id, len) == 0)
            return srv->tables[i];
    }
    return NULL;
}

struct json_object *lobby_json(struct server *srv)
{
    struct json_object *games = json_object_new_array();
    for (int i = 0; i < srv->ntables; i++)
        json_object_array_add(games, table_lobby_json(srv->tables[i]));
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "games", games);
    struct json_object *servers = lobby_servers_json(srv);
    if (servers)
        json_object_object_add(j, "servers", servers);
    return j;
}

struct json_object *lobby_servers_json(const struct server *srv)
{
    if (srv->nnode_urls <= 0)
        return NULL;
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < srv->nnode_urls; i++)
        json_object_array_add(a, json_object_new_string(srv->node_urls[i]));
    return a;
}

void lobby_free(struct server *srv)
{
    for (int i = 0; i < srv->ntables; i++)
        table_free(srv->tables[i]);
    free(srv->tables);
    srv->tables = NULL;
    srv->ntables = 0;
}
