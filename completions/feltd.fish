# feltd.fish: fish completion for feltd (the server): its options, the event loops for
# --event-lib, files for --tls-cert, --tls-key and --config, directories (or :memory:) for
# --data; --table NAME:SEATS:SB/BB:BUYIN[:ANTE], --bots [TABLE:]N and the numbers are the
# user's own. Load it with `source completions/feltd.fish`, or install it as
# /usr/share/fish/vendor_completions.d/feltd.fish (loaded on demand by command name).

# __feltd_data: --data's values: the directories, or :memory: (nothing kept after feltd stops).
function __feltd_data
    echo :memory:\tin memory
    # fish would complete ":" as if it began a path: only a word without it is one
    string match -q -- ':*' (commandline -ct); or __fish_complete_directories
end

complete -c feltd -f
complete -c feltd -l host -x -d 'address or name to listen on'
complete -c feltd -l port -x -d 'port (0: a free one)'
complete -c feltd -l table -x -d 'serve a table: NAME:SEATS:SB/BB:BUYIN[:ANTE]'
complete -c feltd -l bots -x -d 'keep N bots at a table: [TABLE:]N'
complete -c feltd -l data -x -a '(__feltd_data)' -d 'the data directory'
complete -c feltd -l postgres -x -d 'a PostgreSQL database instead (libpq conninfo)'
complete -c feltd -l node-id -x -d "this node's name in a cluster"
complete -c feltd -l redis -x -d "the cluster's Redis (redis://HOST[:PORT])"
complete -c feltd -l advertise -x -d 'the URL clients reach this node by (ws://HOST:PORT)'
complete -c feltd -l action-timeout -x -d 'seconds a player has to act'
complete -c feltd -l hand-delay -x -d 'pause between hands (ms)'
complete -c feltd -l bot-delay -x -d "bots' thinking time (ms)"
complete -c feltd -l history -x -d 'events kept per table for resume'
complete -c feltd -l spectator-chat -d 'let spectators chat'
complete -c feltd -l no-spectator-chat -d 'spectators watch, players chat'
complete -c feltd -l ping-secs -x -d 'ping an idle WebSocket after S seconds'
complete -c feltd -l hangup-secs -x -d 'drop a WebSocket silent for S seconds'
complete -c feltd -l tls-cert -r -F -d 'the TLS certificate file'
complete -c feltd -l tls-key -r -F -d 'the TLS private key file'
complete -c feltd -l event-lib -x -a 'libev poll' -d 'the event loop'
complete -c feltd -l idle-seat-secs -x -d 'stand up a player away for S seconds'
complete -c feltd -l sitout-hands -x -d 'stand up a player sat out for N hands'
complete -c feltd -l joins-per-minute -x -d 'joins per client address'
complete -c feltd -l seats-per-address -x -d 'seats one address may hold at a table'
complete -c feltd -l max-conns-per-address -x -d 'open connections per address'
complete -c feltd -l max-conns -x -d 'open connections in all'
complete -c feltd -l hello-secs -x -d 'seconds for a socket to say hello'
complete -c feltd -l chat-per-address -x -d 'chat messages per 10 s per address'
complete -c feltd -l chat-per-table -x -d 'chat messages per 10 s per table'
complete -c feltd -l poll-max-events -x -d 'a poll further behind gets a snapshot'
complete -c feltd -l trust-proxy -x -d 'the reverse proxy to take X-Forwarded-For from'
complete -c feltd -l config -r -F -d 'settings from this file'
complete -c feltd -l no-config -d 'read no config file'
complete -c feltd -l log-json -d 'log as JSON lines'
complete -c feltd -s v -l verbose -d 'log more'
complete -c feltd -s q -l quiet -d 'log only errors'
complete -c feltd -s h -l help -d usage
complete -c feltd -s V -l version -d 'print the version'
