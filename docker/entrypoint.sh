#!/bin/sh
# Apply the migrations, then run httpd in the foreground.
set -e
: "${BULKIO_JWT_SECRET:?set BULKIO_JWT_SECRET (32 characters or more)}"
BULKIO_DATABASE_URL="$BULKIO_DBD_PARAMS" scripts/bulkio.sh migrate
exec apache2 -f /opt/mod_bulkio/docker/httpd.conf -DFOREGROUND
