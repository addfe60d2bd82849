#!/bin/bash
while true; do psql -h 127.0.0.1 -U postgres -d test -Atc "SELECT now()::time, datname, sessions, numbackends, xact_commit FROM pg_stat_database WHERE datname LIKE 'cocon_bench_%'" >> /tmp/r19/sessions.log 2>&1; sleep 2; done
