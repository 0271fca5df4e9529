# keyward: build, test, run.  GNU make + pkg-config.
#
#   make            build keyward-server and keyward-admin into build/
#   make check      install missing packages (as root), build, run every test
#   make run        install missing packages (as root), build, start a local node
#   make sanitize   ASan+UBSan build of the unit tests, and run them
#   make fuzz       libFuzzer targets (test/fuzz/), FUZZ_SECONDS each
#   make fuzz-smoke the same for a few seconds each (part of make check)
#   make bench      keyward against its ceilings, one table (test/bench/run)
#   make bench-smoke every benchmark for seconds, failing on no successful
#                   operation (part of make check)
#   make chaos      the nemesis suite (test/chaos/): CHAOS_CYCLES fault
#                   cycles on a pair in network namespaces (root only)
#   make chaos-smoke a short fixed-seed run of it (part of make check)
#   make install    into $(DESTDIR)$(PREFIX)
#   make deb        a Debian package (packaging/debian) in build/deb/
#   make package-check  make deb, lintian, systemd-analyze and an install
#                   test of the package in a throwaway root (test/package/)

VERSION		:= 0.1.0
PREFIX		?= /usr/local
SYSCONFDIR	?= /etc
SYSTEMDUNITDIR	?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
CC		?= cc
CFLAGS		?= -O2 -g
PYTHON		?= /usr/bin/python3
BUILD		?= build

PKGS		:= libmicrohttpd jansson libpq openssl gnutls inih libsystemd
WARN		:= -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wvla -Wpointer-arith -Wwrite-strings \
		   -Wundef -Wold-style-definition -Wmissing-declarations \
		   -Wnull-dereference -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARN		+= -Werror
endif
KW_CPPFLAGS	:= -D_GNU_SOURCE -DKW_VERSION=\"$(VERSION)\" -I. \
		   $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
		   $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
KW_LIBS		:= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -ldl
CHECK_LIBS	:= $(shell pkg-config --libs check 2>/dev/null)
HARDEN		:= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
HARDEN_LD	:= -pie -Wl,-z,relro,-z,now

ALL_CFLAGS	= $(WARN) $(KW_CPPFLAGS) $(CPPFLAGS) $(HARDEN) $(CFLAGS)
ALL_LDFLAGS	= $(HARDEN_LD) $(LDFLAGS)

LIB_SRC		:= $(wildcard lib/*.c)
DB_SRC		:= $(wildcard db/*.c)
SQL		:= $(sort $(wildcard db/[0-9]*.sql))
PGCONF_IN	:= db/postgresql.conf.in db/postgresql.node.conf.in \
		   db/pg_hba.conf.in db/pg_ident.conf.in
SERVER_SRC	:= $(wildcard server/*.c)
# KMIP (kmip/): the encoding, messages, listener and operations; linked
# into keyward-server, the unit tests and the fuzz targets
KMIP_SRC	:= $(wildcard kmip/*.c)
KMIP_OBJ	:= $(KMIP_SRC:%.c=$(BUILD)/%.o)
ADMIN_SRC	:= $(wildcard admin/*.c)
UNIT_SRC	:= $(wildcard test/unit/check_*.c)

LIB_OBJ		:= $(LIB_SRC:%.c=$(BUILD)/%.o)
DB_OBJ		:= $(DB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/db/migrations.o
SERVER_OBJ	:= $(SERVER_SRC:%.c=$(BUILD)/%.o)
ADMIN_OBJ	:= $(ADMIN_SRC:%.c=$(BUILD)/%.o) $(BUILD)/admin/pgtemplates.o
# server objects the unit tests link (everything but main and the MHD glue)
SERVER_TESTABLE	:= $(filter-out $(BUILD)/server/main.o $(BUILD)/server/http.o \
		   $(BUILD)/server/http_plain.o,$(SERVER_OBJ))
UNIT_BIN	:= $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)

BINS		:= $(BUILD)/keyward-server $(BUILD)/keyward-admin
# test/bench's programs: kwload (load over mutual TLS), kwnull (the null
# handler over keyward's TLS stack)
BENCH_BINS	:= $(BUILD)/bench/kwload $(BUILD)/bench/kwnull

.PHONY: all deps check unit integration run sanitize bench bench-smoke \
	install clean fuzz fuzz-smoke fuzz-deps fuzz-build fuzz-bins chaos \
	chaos-smoke deb package-check
.DELETE_ON_ERROR:

all: $(BINS) $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/db/migrations.c: db/embed-sql.sh $(SQL)
	@mkdir -p $(dir $@)
	sh db/embed-sql.sh $(SQL) > $@

$(BUILD)/db/migrations.o: $(BUILD)/db/migrations.c db/migrations.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# the PostgreSQL configuration templates, embedded in keyward-admin
$(BUILD)/admin/pgtemplates.c: db/embed-conf.sh $(PGCONF_IN)
	@mkdir -p $(dir $@)
	sh db/embed-conf.sh $(PGCONF_IN) > $@

$(BUILD)/admin/pgtemplates.o: $(BUILD)/admin/pgtemplates.c admin/pgconf.h admin/pair.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/keyward-server: $(SERVER_OBJ) $(KMIP_OBJ) $(DB_OBJ) $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(KW_LIBS)

$(BUILD)/keyward-admin: $(ADMIN_OBJ) $(DB_OBJ) $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(KW_LIBS)

$(BUILD)/test/%: test/unit/%.c $(LIB_OBJ) $(DB_OBJ) $(SERVER_TESTABLE) $(KMIP_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(shell pkg-config --cflags check) \
	    -o $@ $^ $(KW_LIBS) $(CHECK_LIBS)

deps:
	@sh scripts/keyward-deps

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all
	@sh test/integration/run

check: deps
	$(MAKE) all
	BUILD=$(BUILD) sh test/docs/check-man
	sh test/docs/check-admin-log
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration
	$(MAKE) bench-smoke
	$(MAKE) chaos-smoke
	@if command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null && \
	    command -v lintian >/dev/null && command -v systemd-analyze >/dev/null; then \
		$(MAKE) package-check; \
	else \
		echo "make check: SKIP package-check (needs dpkg-dev, debhelper," \
		    "lintian and systemd: make deps installs them)"; \
	fi

run: deps
	$(MAKE) all
	sh scripts/keyward-run

sanitize: deps
	$(MAKE) BUILD=build-san CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" unit

# Fuzzing (see test/fuzz/README): libFuzzer targets built with clang
# under ASan+UBSan, every object in $(FUZZ_BUILD)/, apart from build/.
# A target whose library file does not exist yet is left out.  Warnings
# in the project's files are not fatal here (gcc's -Werror build is the
# one that judges them); the harnesses get -Werror with WERROR=1.
FUZZ_CC		?= clang-14
FUZZ_BUILD	:= build-fuzz
FUZZ_SECONDS	?= 60
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS	:= fuzz_api_route fuzz_base64 fuzz_json_body fuzz_config \
		   $(if $(wildcard lib/acl.c),fuzz_acl) \
		   $(if $(wildcard lib/authcookie.c),fuzz_cookie)
FUZZ_TARGETS	+= fuzz_ttlv
FUZZ_TARGETS	+= fuzz_kmip_dispatch
FUZZ_BINS	:= $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

fuzz: fuzz-build
	@sh test/fuzz/run run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@sh test/fuzz/run run $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz-deps: deps
	@sh test/fuzz/run check $(FUZZ_CC)

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    WERROR= FUZZ_WERROR=$(WERROR) HARDEN=-U_FORTIFY_SOURCE HARDEN_LD= \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	    LDFLAGS="$(FUZZ_SAN)" fuzz-bins

# (run by fuzz-build with BUILD=$(FUZZ_BUILD))
fuzz-bins: $(FUZZ_BINS)

$(BUILD)/libkeyward.a: $(LIB_OBJ) $(DB_OBJ) $(SERVER_TESTABLE) $(KMIP_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/%: test/fuzz/%.c test/fuzz/fuzz.h $(BUILD)/libkeyward.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(if $(filter 1,$(FUZZ_WERROR)),-Werror) \
	    $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libkeyward.a \
	    $(KW_LIBS)

# The nemesis suite (test/chaos/chaos.py says what each setting does).
# CHAOS_SEED empty: a random seed, printed.  CHAOS_BIN=DIR tests other
# binaries (for instance an older build) with this checkout's suite.
CHAOS_CYCLES	?= 200
CHAOS_SEED	?=
CHAOS_SMOKE_CYCLES ?= 11
CHAOS_SMOKE_SEED ?= 20251207
CHAOS_ENV	= BUILD=$(BUILD) CHAOS_BIN="$(CHAOS_BIN)" CHAOS_KEEP="$(CHAOS_KEEP)"

chaos: all
	$(CHAOS_ENV) CHAOS_CYCLES=$(CHAOS_CYCLES) CHAOS_SEED="$(CHAOS_SEED)" \
	    $(PYTHON) test/chaos/chaos.py

chaos-smoke: all
	$(PYTHON) -m pytest -q -p no:cacheprovider test/chaos/test_checker.py
	BUILD=$(BUILD) CHAOS_BIN="$(CHAOS_BIN)" $(PYTHON) -m pytest -q -rs \
	    -p no:cacheprovider test/chaos/test_keepalived.py
	$(CHAOS_ENV) CHAOS_SMOKE=1 CHAOS_CYCLES=$(CHAOS_SMOKE_CYCLES) \
	    CHAOS_SEED=$(CHAOS_SMOKE_SEED) CHAOS_DWELL=2 CHAOS_FINAL_EEKS=300 \
	    $(PYTHON) test/chaos/chaos.py

$(BUILD)/bench/%: test/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(KW_LIBS)

bench: deps
	$(MAKE) all
	BUILD=$(BUILD) $(PYTHON) test/bench/run

# every benchmark (test/bench/run, compare, failover) for a second or so
# a step; fails when a step completes no successful operation, never on
# a rate (test/bench/smoke)
bench-smoke: all
	@BUILD=$(BUILD) sh test/bench/smoke

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/keyward-server $(DESTDIR)$(PREFIX)/sbin/keyward-server
	install -m 0755 $(BUILD)/keyward-admin $(DESTDIR)$(PREFIX)/sbin/keyward-admin
	install -m 0755 scripts/keyward-init $(DESTDIR)$(PREFIX)/sbin/keyward-init
	install -m 0755 scripts/keyward-backup $(DESTDIR)$(PREFIX)/sbin/keyward-backup
	install -m 0755 scripts/keyward-restore $(DESTDIR)$(PREFIX)/sbin/keyward-restore
	install -d $(DESTDIR)$(SYSCONFDIR)/cron.d
	install -m 0644 packaging/cron.d/keyward-backup $(DESTDIR)$(SYSCONFDIR)/cron.d/keyward-backup
	install -d $(DESTDIR)$(PREFIX)/share/doc/keyward $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 packaging/keyward.conf.example packaging/acls.conf.example $(DESTDIR)$(PREFIX)/share/doc/keyward/
	install -d $(DESTDIR)$(PREFIX)/lib/keyward $(DESTDIR)$(PREFIX)/share/doc/keyward/keepalived
	install -m 0755 packaging/keepalived/keyward-vrrp-check $(DESTDIR)$(PREFIX)/lib/keyward/keyward-vrrp-check
	install -m 0644 packaging/keepalived/keyward.conf $(DESTDIR)$(PREFIX)/share/doc/keyward/keepalived/keyward.conf
	install -m 0644 packaging/man/keyward-server.8 packaging/man/keyward-admin.8 packaging/man/keyward-init.8 packaging/man/keyward-backup.8 packaging/man/keyward-restore.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 packaging/man/keyward.conf.5 packaging/man/keyward-acls.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	set -e; for u in $(SYSTEMD_UNITS); do \
		sed 's|/usr/sbin/keyward-|$(PREFIX)/sbin/keyward-|g' packaging/systemd/$$u \
		    > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
	done

# Debian package: the tree (less build output, the make-run state and
# .git) copied to $(DEB_DIR)/keyward-VERSION with packaging/debian as its
# debian/, built there with dpkg-buildpackage; the .deb, .changes and
# .buildinfo land in $(DEB_DIR).  debian/changelog's version must be
# VERSION (or VERSION+N, VERSION-N).
DEB_DIR		:= $(BUILD)/deb
DEB_SRC		:= $(DEB_DIR)/keyward-$(VERSION)
SYSTEMD_UNITS	:= keyward-server.service keyward-postgresql.service \
		   keyward-backup.service keyward-backup.timer

deb:
	@v=$$(dpkg-parsechangelog -l packaging/debian/changelog -S Version) && \
	case $$v in $(VERSION) | $(VERSION)[-+]*) ;; *) echo "make deb: packaging/debian/changelog" \
	    "is at $$v, the Makefile at $(VERSION)" >&2; exit 1;; esac
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./.git --exclude='./build*' --exclude='./$(BUILD)' \
	    --exclude=./run \
	    --exclude=./debian --exclude='__pycache__' . | tar -xf - -C $(DEB_SRC)
	cp -R packaging/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc
	@ls -l $(DEB_DIR)/*.deb

package-check: deps
	$(MAKE) deb
	sh test/package/run $(DEB_DIR)

clean:
	rm -rf build build-san build-fuzz

# (not the package build's copy of the tree in $(BUILD)/deb)
-include $(shell find $(BUILD) -path '$(BUILD)/deb' -prune -o -name '*.d' -type f -print 2>/dev/null)
