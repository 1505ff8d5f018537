#!/bin/sh
# Apply the migrations, then run Debian's apache2 in the foreground.
set -e
: "${BULKIO_JWT_SECRET:?set BULKIO_JWT_SECRET (32 characters or more)}"
: "${BULKIO_DBD_PARAMS:?set BULKIO_DBD_PARAMS (a libpq connection string)}"
BULKIO_DATABASE_URL="$BULKIO_DBD_PARAMS" scripts/bulkio.sh migrate
. /etc/apache2/envvars
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
exec apache2 -DFOREGROUND
