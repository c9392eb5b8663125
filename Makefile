# softreg — GNU make. `make`, `make test`, `make run`, `make bench`,
# `make sanitize`, `make install PREFIX=...`. Switches: NO_OMP=1, SANITIZE=1,
# NATIVE=1, CC=clang.
CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# -ffp-contract=off: neither gcc nor clang may fuse a*b+c into one FMA behind
# our back; results must not depend on the compiler's choices. Kernels that
# want FMA ask for it explicitly.
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 $(WARN) -ffp-contract=off -fPIC -Iinclude -D_POSIX_C_SOURCE=200809L
LDLIBS  := -lz -lm

ifeq ($(NO_OMP),)
  CFLAGS += -fopenmp
  LDLIBS += -fopenmp
endif
ifneq ($(SANITIZE),)
  CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDLIBS += -fsanitize=address,undefined
  BUILD  := build/sanitize
endif
ifneq ($(NATIVE),)
  CFLAGS += -march=native
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC  := $(sort $(wildcard cli/*.c))
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all test run bench sanitize install clean check-deps
all: check-deps $(BUILD)/libsoftreg.a $(BUILD)/libsoftreg.so $(BUILD)/softreg

# Say clearly which Debian package is missing, instead of a compiler error.
check-deps:
	@for h in zlib.h:zlib1g-dev; do \
	  f=$${h%%:*}; p=$${h##*:}; \
	  echo "#include <$$f>" | $(CC) -E -x c - >/dev/null 2>&1 || \
	    { echo "missing $$f: apt-get install $$p" >&2; exit 1; }; \
	done

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsoftreg.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libsoftreg.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/softreg: $(CLI_OBJ) $(BUILD)/libsoftreg.a
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libsoftreg.a tests/testutil.h
	@echo "#include <cmocka.h>" | $(CC) -E -x c - >/dev/null 2>&1 || \
	  { echo "missing cmocka.h: apt-get install libcmocka-dev" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libsoftreg.a -lcmocka $(LDLIBS)

test: all $(TEST_BIN)
	@bash scripts/fetch-mnist
	@BUILD=$(BUILD) bash tests/run.sh $(TEST_BIN)

run: all
	@bash scripts/fetch-mnist
	time ./$(BUILD)/softreg train

sanitize:
	$(MAKE) SANITIZE=1 test

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/softreg.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libsoftreg.a $(BUILD)/libsoftreg.so $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/softreg $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
