# mod_bulkio — build with apxs, run a local installation, test.
#
#   make            build .libs/mod_bulkio.so and the client client/bulkio
#   make run        deps, build, local PostgreSQL + httpd on 127.0.0.1:8080
#   make test       unit tests (plain, ASan/UBSan, valgrind), a fuzzing smoke
#                   run, then Apache::Test (plain and ASan/UBSan)
#   make help       everything else

APXS      ?= apxs
CC        ?= cc
SHELL     := /bin/bash

# docs/openapi.yaml, embedded into the module (GET /v1/openapi.yaml)
GEN_SRC   := src/gen_openapi.c
SRC       := mod_bulkio.c $(filter-out $(GEN_SRC),$(wildcard src/*.c)) \
             $(GEN_SRC) build/console_files.c
CONSOLE   := $(sort $(wildcard console/*))
CORE_SRC  := $(wildcard src/bulkio_*.c)
HDRS      := $(wildcard src/*.h)
LIBS      := -ljson-c -lpq -lcrypto -lz -lzstd -lcurl
WARN      := -Wall -Wextra -Werror
PG_INC    := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)

APR_CFLAGS = $(shell apr-1-config --cflags --cppflags --includes) \
             $(shell apu-1-config --includes)
APR_LIBS   = $(shell apu-1-config --link-ld --libs) \
             $(shell apr-1-config --link-ld --libs)

UNIT_SRC  := $(wildcard t/unit/test_*.c)
UNIT_BIN  := $(patsubst t/unit/%.c,build/unit/%,$(UNIT_SRC))
ASAN_BIN  := $(patsubst t/unit/%.c,build/unit-asan/%,$(UNIT_SRC))
SANITIZE  := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all

RUN       := scripts/bulkio.sh

# The version is written in one place, the first line of debian/changelog:
# the packages take it from there, the module's server-status section and
# bulkio --version from -DBULKIO_VERSION.
VERSION   := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
VERSION_DEF := -DBULKIO_VERSION='"$(VERSION)"'
# apxs hands its -D through one more shell
APXS_VERSION_DEF := -DBULKIO_VERSION='\"$(VERSION)\"'

# the command-line client: plain C over libcurl and json-c (no APR, no
# httpd, nothing of the module)
CLIENT_SRC  := $(wildcard client/*.c)
CLIENT_HDRS := $(wildcard client/*.h)
CLIENT_LIBS := -lcurl -ljson-c -lz
CLIENT_BIN  := client/bulkio
# its unit tests link the parts without libcurl (options, progress, files)
CLIENT_UNIT_OBJ_SRC := client/cli_opts.c client/cli_progress.c client/cli_file.c
CLIENT_UNIT_SRC  := $(wildcard client/test/test_*.c)
CLIENT_UNIT_BIN  := $(patsubst client/test/%.c,build/unit/%,$(CLIENT_UNIT_SRC))
CLIENT_ASAN_BIN  := $(patsubst client/test/%.c,build/unit-asan/%,$(CLIENT_UNIT_SRC))
BINDIR      ?= /usr/local/bin
MANDIR      ?= /usr/local/share/man

.PHONY: all install install-client deps run start stop migrate token unit unit-plain \
        unit-asan test apache-test test-static test-system test-faults \
        test-cluster test-replica test-browser bench clean help soak soak-short deb test-deb

all: .libs/mod_bulkio.so client/bulkio

# the web console, embedded into the module (nothing else to install)
build/console_files.c: $(CONSOLE) scripts/embed-console.py
	python3 scripts/embed-console.py $@ $(CONSOLE)

.libs/mod_bulkio.so: $(SRC) $(HDRS) debian/changelog
	$(APXS) -c -o mod_bulkio.la \
	    -Wc,-Wall -Wc,-Wextra -Wc,-Werror -Wc,-std=gnu11 -I$(PG_INC) \
	    $(APXS_VERSION_DEF) $(SRC) $(LIBS)

$(CLIENT_BIN): $(CLIENT_SRC) $(CLIENT_HDRS) debian/changelog
	$(CC) $(WARN) -std=gnu11 -O2 -g $(CPPFLAGS) $(CFLAGS) $(VERSION_DEF) \
	    -o $@ $(CLIENT_SRC) $(LDFLAGS) $(CLIENT_LIBS)

$(GEN_SRC): docs/openapi.yaml scripts/embed.pl
	perl scripts/embed.pl bulkio_openapi_yaml <docs/openapi.yaml >$@.tmp
	mv $@.tmp $@

# Debian layout: the .load/.conf pair for a2enmod bulkio
MODS_AVAILABLE ?= /etc/apache2/mods-available

install: all install-client
	$(APXS) -i -n bulkio mod_bulkio.la
	@if [ -d $(DESTDIR)$(MODS_AVAILABLE) ]; then \
	    install -m 644 conf/bulkio.load conf/bulkio.conf \
	        $(DESTDIR)$(MODS_AVAILABLE)/ \
	    && echo "installed bulkio.load, bulkio.conf into $(MODS_AVAILABLE) (a2enmod bulkio)"; \
	fi

install-client: client/bulkio
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 client/bulkio $(DESTDIR)$(BINDIR)/bulkio
	install -m 644 docs/bulkio.1 $(DESTDIR)$(MANDIR)/man1/bulkio.1

deps:
	@$(RUN) deps

run: deps all
	@$(RUN) run

start: all
	@$(RUN) start

stop:
	@$(RUN) stop

migrate:
	@$(RUN) migrate

token:
	@$(RUN) token

build/unit/%: t/unit/%.c t/unit/test_common.h $(CORE_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -g -O1 $(APR_CFLAGS) -I$(PG_INC) -Isrc -o $@ $< \
	    $(CORE_SRC) -lcmocka $(APR_LIBS) $(LIBS)

build/unit-asan/%: t/unit/%.c t/unit/test_common.h $(CORE_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -g -O1 $(SANITIZE) $(APR_CFLAGS) -I$(PG_INC) -Isrc -o $@ \
	    $< $(CORE_SRC) -lcmocka $(APR_LIBS) $(LIBS)

build/unit/test_cli_%: client/test/test_cli_%.c $(CLIENT_UNIT_OBJ_SRC) $(CLIENT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -std=gnu11 -g -O1 -Iclient -o $@ $< $(CLIENT_UNIT_OBJ_SRC) -lcmocka

build/unit-asan/test_cli_%: client/test/test_cli_%.c $(CLIENT_UNIT_OBJ_SRC) $(CLIENT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -std=gnu11 -g -O1 $(SANITIZE) -Iclient -o $@ $< \
	    $(CLIENT_UNIT_OBJ_SRC) -lcmocka

unit-plain: $(UNIT_BIN) $(CLIENT_UNIT_BIN)
	@set -e; for t in $(UNIT_BIN) $(CLIENT_UNIT_BIN); do echo "== $$t"; $$t; done

unit-asan: $(ASAN_BIN) $(CLIENT_ASAN_BIN)
	@set -e; for t in $(ASAN_BIN) $(CLIENT_ASAN_BIN); do echo "== $$t (ASan/UBSan)"; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

unit: unit-plain unit-asan

apache-test: all
	@scripts/apache-test.sh

# fault tests alone (they are part of apache-test too)
test-faults: all
	@scripts/apache-test.sh t/faults.t t/takeover.t t/spool.t t/retention.t

# two servers on one database and one spool directory
test-cluster: all
	@CLUSTER_SPOOL=file scripts/cluster-test.sh
	@CLUSTER_SPOOL=database CLUSTER_RECORDS=$${CLUSTER_RECORDS:-10000} scripts/cluster-test.sh

test-replica: all
	@scripts/replica-test.sh

# the web console in headless chromium (puppeteer-core from npm, make deps);
# BULKIO_SCREENSHOTS=docs/img refreshes the README's screenshots
test-browser: all
	@BULKIO_BROWSER=1 scripts/apache-test.sh t/browser/console.t

# tests that need no server: docs and packaging in step with the code
test-static: all
	prove t/directives.t t/docker.t t/docs.t t/logtags.t t/architecture.t

# installs into the system apache2 and removes it again (root, Debian)
test-system: all
	@scripts/system-test.sh

test: unit fuzz-smoke unit-valgrind test-static apache-test test-browser \
      test-asan test-cluster test-replica test-system test-deb soak-short

# ---- Debian packages ---------------------------------------------------------
# make deb: dpkg-buildpackage (debian/) on a copy of the checkout's files in
# build/deb/src, so that the .deb, .changes and .buildinfo files land in
# build/deb/ and nothing beside the checkout; then lintian, which fails the
# build on an error (the warnings that stay are explained in
# debian/*.lintian-overrides and docs/install.md).
DEB_DIR := build/deb

deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard; \
	else \
	    find . \( -path ./build -o -path './.?*' -o -path ./node_modules \) -prune \
	        -o -type f -print0; \
	fi | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc
	@if command -v lintian >/dev/null; then \
	    lintian --fail-on error --info $(DEB_DIR)/*.changes; \
	else \
	    echo "lintian not installed (make deps): not checked"; \
	fi
	@ls -l $(DEB_DIR)/*.deb

# make deb, then installs the packages into the system apache2, tries them
# on port BULKIO_DEB_TEST_PORT (8091) and purges them (root, Debian; the
# script skips before building elsewhere)
test-deb:
	@scripts/deb-test.sh

# make soak [SOAK_MINUTES=30] [SOAK_PORT=9030]: mixed load against a
# dedicated installation (.soak) with graceful restarts every 2 minutes,
# PostgreSQL restarts every 10 (once halfway in shorter runs), SIGKILLs of
# httpd children and pg_terminate_backend() of backends at random, then
# exact checks and start-versus-end figures; make test runs 3 minutes of it.
SOAK_MINUTES ?= 30
soak: all
	@SOAK_MINUTES=$(SOAK_MINUTES) scripts/soak.sh

soak-short: all
	@SOAK_MINUTES=3 scripts/soak.sh

# make bench [BENCH_ROWS=100000] [BENCH_RUNS=3]: a dedicated installation
# in .bench on BENCH_PORT; every row the median of BENCH_RUNS interleaved
# rounds (ours, psql \copy, pgloader); the table goes to bench/results.md,
# the chart to bench/results.png. BENCH_ONLY=results,spools: those sections
# alone, the table printed only.
BENCH_ROWS ?= 1000000
BENCH_RUNS ?= 3
BENCH_PORT ?= 8095

build/bench/export_sql: bench/export_sql.c $(CORE_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 $(APR_CFLAGS) -I$(PG_INC) -Isrc -o $@ $< \
	    $(CORE_SRC) $(APR_LIBS) $(LIBS)

# parse + validate + COPY-encode a file, no database (bench/NOTES.md):
# build/bench/parse_bench users csv FILE
build/bench/parse_bench: bench/parse_bench.c $(CORE_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(APR_CFLAGS) -I$(PG_INC) -Isrc -o $@ $< \
	    $(CORE_SRC) $(APR_LIBS) $(LIBS)

bench: all build/bench/export_sql
	@export BULKIO_RUN_DIR=$(CURDIR)/.bench BULKIO_PORT=$(BENCH_PORT); \
	    trap '$(RUN) stop' EXIT; $(RUN) start >/dev/null && \
	    bench/bench.py --rows $(BENCH_ROWS) --runs $(BENCH_RUNS) \
	        --port $(BENCH_PORT) $(if $(BENCH_ONLY),--only $(BENCH_ONLY))

# ---- fuzzing and sanitizers -------------------------------------------------
# libFuzzer targets (t/fuzz), the Apache::Test suite against an ASan/UBSan
# build of the module, the unit tests under valgrind.
FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 10
FUZZ_TARGETS    := ndjson json csv multipart jwt
FUZZ_BIN        := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_FLAGS      := -g -O1 -fsanitize=fuzzer,address,undefined \
                   -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: fuzz fuzz-smoke fuzz-build test-asan unit-valgrind

FUZZ_OBJ        := $(patsubst src/%.c,build/fuzz/obj/%.o,$(CORE_SRC))
.SECONDARY: $(FUZZ_OBJ)

# BULKIO_BLOCK: the parsers read 16-byte blocks instead of 64 KiB ones
build/fuzz/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) -DBULKIO_BLOCK=16 \
	    $(APR_CFLAGS) -I$(PG_INC) -Isrc -c -o $@ $<

build/fuzz/fuzz_%: t/fuzz/fuzz_%.c $(wildcard t/fuzz/*.h) $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) $(APR_CFLAGS) -I$(PG_INC) -Isrc \
	    -o $@ $< $(FUZZ_OBJ) $(APR_LIBS) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@t/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@t/fuzz/run.sh $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)

# The module built with ASan/UBSan from a copy of the sources (so that its
# objects do not mix with the normal build's), and an httpd wrapper that
# preloads the ASan runtime: httpd itself is not instrumented.
ASAN_DIR        := build/asan
ASAN_MOD        := $(ASAN_DIR)/.libs/mod_bulkio.so
ASAN_HTTPD      := $(ASAN_DIR)/bin/httpd
# No leak detection: httpd never destroys some pools before its processes
# exit, so every pool block would be reported; memory use is checked by the
# benchmarks instead.  Reports go to t/logs/asan/report.<pid>, which
# scripts/apache-test.sh checks; a process with an ASan error aborts (an
# "exit signal" line in error_log too), UBSan reports and carries on, so
# that one run shows every report.
ASAN_LOG        := log_path=$(CURDIR)/t/logs/asan/report
ASAN_RUN_OPTS   := ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:$(ASAN_LOG) \
                   UBSAN_OPTIONS=print_stacktrace=1:$(ASAN_LOG)

$(ASAN_MOD): $(SRC) $(HDRS) debian/changelog
	rm -rf $(ASAN_DIR)/src $(ASAN_DIR)/.libs
	mkdir -p $(ASAN_DIR)/src
	mkdir -p $(ASAN_DIR)/build
	cp mod_bulkio.c $(ASAN_DIR)/ && cp $(wildcard src/*.[ch]) $(ASAN_DIR)/src/
	cp build/console_files.c $(ASAN_DIR)/build/
	cd $(ASAN_DIR) && $(APXS) -c -o mod_bulkio.la \
	    -Wc,-Wall -Wc,-Wextra -Wc,-Werror -Wc,-std=gnu11 -I$(PG_INC) \
	    -Wc,-fsanitize=address,undefined -Wc,-fno-omit-frame-pointer \
	    $(APXS_VERSION_DEF) $(SRC) $(LIBS) -lasan -lubsan

$(ASAN_HTTPD):
	@mkdir -p $(@D)
	printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$$@"\n' \
	    "$$(readlink -f $$($(CC) -print-file-name=libasan.so))" \
	    "$$($(APXS) -q SBINDIR)/$$($(APXS) -q TARGET)" >$@
	chmod 755 $@

test-asan: $(ASAN_MOD) $(ASAN_HTTPD)
	@BULKIO_TEST_MODULE=$(CURDIR)/$(ASAN_MOD) $(ASAN_RUN_OPTS) \
	    BULKIO_TEST_IMPORT_CONNECTIONS=1 \
	    scripts/apache-test.sh -httpd $(CURDIR)/$(ASAN_HTTPD)

unit-valgrind: $(UNIT_BIN) $(CLIENT_UNIT_BIN)
	@set -e; for t in $(UNIT_BIN) $(CLIENT_UNIT_BIN); do echo "== $$t (valgrind)"; \
	    valgrind -q --error-exitcode=1 --leak-check=full \
	        --errors-for-leak-kinds=definite $$t; done

clean:
	rm -rf .libs src/.libs *.la *.lo *.slo *.o src/*.la src/*.lo src/*.slo \
	    $(GEN_SRC) \
	    src/*.o $(CLIENT_BIN) build t/logs t/TEST t/conf/httpd.conf \
	    t/conf/apache_test_config.pm t/conf/extra.conf

help:
	@echo "make            build .libs/mod_bulkio.so (apxs) and client/bulkio (-Wall -Wextra -Werror)"
	@echo "make deps       install the Debian packages the project needs"
	@echo "make run        local PostgreSQL + httpd on 127.0.0.1:\$$BULKIO_PORT (8080), foreground"
	@echo "make start|stop the same, in the background"
	@echo "make token      a development JWT, valid 12 h (SUB=name for another subject,"
	@echo "                TTL=30m|8h|2d for another lifetime, SCOPE='bulkio:export' for scopes)"
	@echo "make migrate    apply new sql/ migrations (BULKIO_DATABASE_URL for an existing database)"
	@echo "make test       unit tests (plain, ASan/UBSan, valgrind), fuzz-smoke, static checks, the Apache::Test suite (plain, ASan/UBSan), the cluster test, test-system, test-deb"
	@echo "make test-browser the web console in headless chromium (BULKIO_SCREENSHOTS=docs/img for the README's screenshots)"
	@echo "make test-static  docs/directives.md, README and docker/ in step with the code"
	@echo "make test-system  install into the system apache2 (a2enmod), /v1/health, uninstall (root)"
	@echo "make deb        the Debian packages libapache2-mod-bulkio and bulkio-client in build/deb/ (dpkg-buildpackage, lintian)"
	@echo "make test-deb     make deb, then dpkg -i, a2enmod, an import with the packaged bulkio, dpkg --purge (root)"
	@echo "make test-faults  the fault, spool and retention tests alone"
	@echo "make test-cluster two servers on one database: shared spool, then database spool (BULKIO_PORT, +1)"
	@echo "make test-replica exports from a streaming replica (BULKIO_PORT, +3 for PostgreSQL)"
	@echo "make fuzz       each libFuzzer target for FUZZ_TIME seconds (60)"
	@echo "make test-asan  the Apache::Test suite against an ASan/UBSan build of the module"
	@echo "make install    install the module into the system httpd (and bulkio.load/.conf into $(MODS_AVAILABLE)) and the client into \$$DESTDIR\$$BINDIR (/usr/local/bin), its man page bulkio(1) into \$$DESTDIR\$$MANDIR/man1 (/usr/local/share/man)"
	@echo "make install-client  only the client: client/bulkio into \$$DESTDIR\$$BINDIR, docs/bulkio.1 into \$$DESTDIR\$$MANDIR/man1"
	@echo "make bench      benchmark against COPY and pgloader (BENCH_ROWS=100000 for a quick run, BENCH_RUNS=3)"
	@echo "make soak       mixed load with restarts, exact checks (SOAK_MINUTES=30)"
