# mlistd - build, run, test.  See README.md.
#
#   make            build mlistd, mlistctl, mlist and the test tools (installs missing Debian packages first)
#   make run        demo instance from conf/ under spool/, mlistd in the foreground on 127.0.0.1:2525
#   make test       every unit test (Check) and end-to-end test (pytest); ends with a summary line
#   make asan-test  the same, built with AddressSanitizer and UndefinedBehaviorSanitizer
#   make install    PREFIX=/usr/local DESTDIR=  (binaries, man pages, systemd unit, example config)

PREFIX	?= /usr/local
DESTDIR	?=
BUILD	?= build
# One name per object whatever form BUILD is given in: the -MMD files name their
# target as BUILD was spelled, and an object built with BUILD=$(CURDIR)/build
# (the test suite's MLISTD_BUILD) would otherwise never be rebuilt by a plain
# `make` when a header it includes changes (seen: a stale object, a link error).
override BUILD := $(patsubst $(CURDIR)/%,%,$(BUILD))
PYTHON	 = /usr/bin/python3

CC	?= cc
PKGS	 = libsodium libetpan sqlite3 libconfig gumbo icu-uc icu-i18n gnutls libpsl libseccomp librnp zlib
CFLAGS	?= -O2 -g
# the project's own flags: kept apart, so that CFLAGS given on the command line (asan-test) cannot drop them
WFLAGS	 = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIE -fstack-protector-strong \
	   -D_FORTIFY_SOURCE=2 $(SAN)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now $(SAN)
# pkg-config runs once, after tools/install-deps (see "deps" below); a missing package stops the
# build with pkg-config's own message instead of compiling without its flags
ifeq ($(MLISTD_DEPS_DONE),1)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>&1) 
PKG_LIBS_ALL := $(shell pkg-config --libs $(PKGS) 2>&1)
ifneq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo ok),ok)
$(error pkg-config cannot find every library ($(PKGS)): $(PKG_CFLAGS) - run tools/install-deps as root)
endif
# libunbound's .pc requires libevent's for --cflags, which it does not need: linked by name
# libetpan's .pc asks for -specs=no-pie-link.specs: we build PIE, so drop it
PKG_LIBS := $(filter-out -specs=%,$(PKG_LIBS_ALL)) -lunbound
endif
INCLUDES = -Imlistd

UTIL_SRC  = $(wildcard mlistd/util/*.c)
MAIL_SRC  = $(wildcard mlistd/mail/*.c)
# the stages: every folder of the daemon but mail/ and util/, and the queue manager
STAGE_SRC = $(filter-out mlistd/mail/% mlistd/util/%,$(wildcard mlistd/*/*.c))
LIB_OBJ   = $(patsubst %.c,$(BUILD)/%.o,$(UTIL_SRC) $(MAIL_SRC))
STAGE_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(STAGE_SRC))
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# small programs that drive a module from pytest or a benchmark; part of `all`: a tool left
# behind by a plain `make` refuses a store a newer schema made ("schema version N is newer")
TOOL_BIN  = $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
ALL_BIN   = $(BUILD)/bin/mlistd $(BUILD)/bin/mlistctl $(BUILD)/bin/mlist
# LD_PRELOAD shims for the e2e tests (tests/shim/*.c): e.g. a system without randomness
SHIM_LIB  = $(patsubst tests/shim/%.c,$(BUILD)/tests/%.so,$(wildcard tests/shim/*.c))
# the daemon with the parser's test-only triggers (worker.c, MLISTD_TEST_HOOKS): for the e2e tests only
HOOKS_BIN = $(BUILD)/tests/mlistd-test-hooks

.PHONY: all deps run test unit e2e asan-test install clean bench fuzz man

# Every target that compiles first installs what is missing, then builds in a second make: so
# "make -j" cannot compile before the packages (and their pkg-config files) are there.
ifneq ($(MLISTD_DEPS_DONE),1)
all test unit e2e run install man: deps
	@$(MAKE) --no-print-directory MLISTD_DEPS_DONE=1 $@
# a file named on the command line (make build/tests/tools/authcheck) goes the same way: its
# rules exist only in the second make (without this: "No rule to make target")
FILE_GOALS := $(filter $(BUILD)/%,$(MAKECMDGOALS))
ifneq ($(FILE_GOALS),)
$(FILE_GOALS): deps
	@$(MAKE) --no-print-directory MLISTD_DEPS_DONE=1 $@
endif
else
all: $(ALL_BIN) $(HOOKS_BIN) $(TOOL_BIN) $(SHIM_LIB)

# -MMD: each object depends on the headers it includes, and on nothing else
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(WFLAGS) $(INCLUDES) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(STAGE_OBJ:.o=.d) $(BUILD)/mlistd/main.d $(BUILD)/tools/mlist.d \
    $(BUILD)/tools/mlistctl.d $(UNIT_BIN:=.d) $(TOOL_BIN:=.d)

$(BUILD)/libmlist.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^
$(BUILD)/libmlistd.a: $(STAGE_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/bin/mlistd: $(BUILD)/mlistd/main.o $(BUILD)/libmlistd.a $(BUILD)/libmlist.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/bin/mlist: $(BUILD)/tools/mlist.o $(BUILD)/libmlist.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/bin/mlistctl: $(BUILD)/tools/mlistctl.o $(BUILD)/libmlistd.a $(BUILD)/libmlist.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# worker.c again with its test hooks; linked before libmlistd.a, so the archive's worker.o is not taken
$(BUILD)/test-hooks/worker.o: mlistd/pipeline/worker.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (test hooks)"
	@$(CC) $(CFLAGS) $(WFLAGS) $(INCLUDES) $(PKG_CFLAGS) -DMLISTD_TEST_HOOKS -MMD -MP -c -o $@ $<
-include $(BUILD)/test-hooks/worker.d
$(HOOKS_BIN): $(BUILD)/mlistd/main.o $(BUILD)/test-hooks/worker.o $(BUILD)/libmlistd.a $(BUILD)/libmlist.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

unit: all $(UNIT_BIN)
	@sh tests/run-unit $(UNIT_BIN)

e2e: all
	MLISTD_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider -n $${MLISTD_TEST_JOBS:-3} tests/e2e

test: all $(UNIT_BIN)
	@MLISTD_BUILD=$(abspath $(BUILD)) PYTHON=$(PYTHON) sh tests/run-all $(UNIT_BIN)

run: all
	@sh tools/demo-instance $(BUILD)

# the manual pages are made from README.md (tools/mkman), so the two cannot disagree
MANPAGES = $(BUILD)/man/mlistd.8 $(BUILD)/man/mlistctl.8 $(BUILD)/man/mlist.1 $(BUILD)/man/mlistd.conf.5

man: $(MANPAGES)

$(MANPAGES): README.md tools/mkman
	$(PYTHON) tools/mkman README.md $(BUILD)/man

install: all man
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mlistd/templates \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 $(BUILD)/bin/mlist $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(BUILD)/bin/mlistd $(BUILD)/bin/mlistctl $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 conf/mlistd.conf $(DESTDIR)$(PREFIX)/share/mlistd/mlistd.conf.example
	install -m 644 conf/templates/*.conf $(DESTDIR)$(PREFIX)/share/mlistd/templates/
	install -d $(DESTDIR)$(PREFIX)/share/mlistd/templates/notices
	install -m 644 conf/templates/notices/*.txt conf/templates/notices/pieces \
	    $(DESTDIR)$(PREFIX)/share/mlistd/templates/notices/
	install -m 644 $(BUILD)/man/mlist.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(BUILD)/man/mlistd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 $(BUILD)/man/mlistd.8 $(BUILD)/man/mlistctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' conf/mlistd.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/mlistd.service
	chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/mlistd.service

endif

# unit tests: one Check binary per module; the spool fault test wraps syscalls
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
# the worker's test runs hostile probes inside the real, confined worker in place of the transform
WRAP_test_worker = -Wl,--wrap=transform_post
# a look-up key asprintf cannot make (out of memory) must be an error, not "none"
WRAP_test_store_bind = -Wl,--wrap=asprintf,--wrap=__asprintf_chk
WRAP_test_faults = -Wl,--wrap=write,--wrap=fsync,--wrap=rename,--wrap=renameat2,--wrap=close,--wrap=syncfs
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmlistd.a $(BUILD)/libmlist.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(WFLAGS) $(INCLUDES) $(PKG_CFLAGS) -MMD -MP -Wno-unused-parameter $(LDFLAGS) $(WRAP_$*) -o $@ $< \
	    $(BUILD)/libmlistd.a $(BUILD)/libmlist.a $(PKG_LIBS) $(CHECK_LIBS)

# no sanitizer: the shim is preloaded into programs built either way
$(BUILD)/tests/%.so: tests/shim/%.c
	@mkdir -p $(dir $@)
	@echo "  SHIM    $@"
	@$(CC) -O2 -std=c11 -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libmlist.a
	@mkdir -p $(dir $@)
	@echo "  TOOL    $@"
	@$(CC) $(CFLAGS) $(WFLAGS) $(INCLUDES) $(PKG_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< \
	    $(BUILD)/libmlist.a $(PKG_LIBS)

deps:
	@sh tools/install-deps

asan-test: deps
	$(MAKE) BUILD=build/asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    CFLAGS="-O1 -g" test

# libFuzzer harnesses (clang): SMTP framing, MIME transform, our header/DSN/signature/command
# parsers, the list-file loader; FUZZ_SECONDS each (default 60). Not part of `make test`.
fuzz: deps
	@sh tools/install-deps clang
	@sh tests/fuzz/run-fuzz

clean:
	rm -rf build
