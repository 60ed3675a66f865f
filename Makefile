# opsctl: `make` builds opsctl, libopsmaint (static and shared) and the
# generated completions and man pages; `make check` runs every test;
# `make install PREFIX=/usr/local DESTDIR=` installs it all.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/vendor-completions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PLUGINDIR  ?= $(LIBDIR)/opsctl
DOCDIR     ?= $(DATADIR)/doc/opsctl
# opsctl reads /etc/opsctl/opsctl.conf whatever the PREFIX, so the sample and
# the logrotate snippet go under /etc; systemd also looks in
# /usr/local/lib/systemd/system, so units follow PREFIX.
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS      := $(wildcard contrib/systemd/*.service contrib/systemd/*.timer)

VERSION    := 0.1.0
SOVERSION  := 0

CC         ?= cc
CXX        ?= g++
PKG_CONFIG ?= pkg-config
PKGS       := libpq sqlite3 libcjson libcrypto libssl libarchive libcurl hiredis yaml-0.1
# libarchive and libcurl are compiled against but loaded on first use
# (lib/core/lazylib.c), so that commands which need neither do not pay for their
# three dozen dependencies at start-up.
PKGS_LINKED := libpq sqlite3 libcjson libcrypto libssl hiredis yaml-0.1

# Debian's hardening flags (dpkg-buildflags with hardening=+all; gcc on
# Debian already defaults to PIE).
HARDEN_CFLAGS  := -O2 -g -fstack-protector-strong -fstack-clash-protection \
                  -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2 -fcf-protection
HARDEN_LDFLAGS := -Wl,-z,relro -Wl,-z,now

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wno-unused-parameter
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS_LINKED))

CFLAGS     ?= $(HARDEN_CFLAGS)
LDFLAGS    ?= $(HARDEN_LDFLAGS)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DOPS_VERSION='"$(VERSION)"' -DOPS_PLUGINDIR='"$(PLUGINDIR)"' \
              -Ilib/include -Ilib $(WARN) $(PKG_CFLAGS) $(CFLAGS)
# FAISS through its C API, in a plugin (opsctl-faiss.so) that lib/vector/vecfaiss.c
# loads with dlopen the first time a vector command needs it: FAISS pulls in
# OpenMP, OpenBLAS and libstdc++, whose start-up every other command would
# otherwise pay (opsctl --version went from 3 to 6 ms).  Debian's
# libfaiss-dev has the C API headers but not the library, so
# lib/vector/faiss_capi.cpp implements the functions opsctl calls against the static
# libfaiss.a; `make FAISS_C_LIBS=-lfaiss_c` builds the plugin from a system
# libfaiss_c instead and leaves the shim out.
FAISS_C_LIBS ?=
ifeq ($(strip $(FAISS_C_LIBS)),)
FAISS_SHIM := lib/vector/faiss_capi.cpp
FAISS_LIBS := -lfaiss -fopenmp -lblas -llapack -lstdc++
else
FAISS_SHIM :=
FAISS_LIBS := $(FAISS_C_LIBS)
endif
CXXFLAGS_SHIM := -std=c++17 -Wall -Wextra -Werror -Wno-unused-parameter -fopenmp
FAISS_PLUGIN := opsctl-faiss.so

LIBS       := $(PKG_LIBS) -lpthread -lm

# lib/ is one folder per layer and domain (core, run, store, db, then the
# domains); a file left loose in lib/ would escape the layer check.
$(if $(wildcard lib/*.c lib/*.h),$(error loose files in lib/: $(wildcard lib/*.c lib/*.h); put them in their layer's folder))
LIB_SRC    := $(sort $(wildcard lib/*/*.c))
CMD_SRC    := $(sort $(wildcard cmd/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/*/test_*.c))

B          := build
LIB_OBJ    := $(LIB_SRC:%.c=$(B)/%.o)
CMD_OBJ    := $(CMD_SRC:%.c=$(B)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)

# The sanitizer build of the library and unit tests (run by `make check`).
BA         := build-asan
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_LIB_OBJ := $(LIB_SRC:%.c=$(BA)/%.o)
ASAN_CMD_OBJ := $(CMD_SRC:%.c=$(BA)/%.o)
ASAN_UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BA)/unit/%)

COMPLETIONS := completions/opsctl.bash completions/_opsctl completions/opsctl.fish

.PHONY: all lib unit unit-asan check check-layers check-unit demo install uninstall clean \
	bench docs fuzz
all: opsctl libopsmaint.a libopsmaint.so opsmaint.pc $(FAISS_PLUGIN) docs

# Header dependencies come from the compiler (-MMD -MP), so editing one
# header rebuilds only the objects that include it.
DEPFLAGS    = -MMD -MP -MF $(@:.o=.d)

# libopsmaint.so exports only what the public headers declare between
# OPS_API_BEGIN and OPS_API_END (lib/include/opsmaint/api.h); everything else
# in the library's objects is hidden.  The static libopsmaint.a that opsctl,
# the unit tests and the fuzz harnesses link still reaches all of it.
$(LIB_OBJ) $(ASAN_LIB_OBJ): VISIBILITY := -fvisibility=hidden

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(VISIBILITY) $(DEPFLAGS) -fPIC -c -o $@ $<

$(B)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_SHIM) $(CFLAGS) -fPIC -c -o $@ $<

libopsmaint.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

libopsmaint.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libopsmaint.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LIBS)
libopsmaint.so: libopsmaint.so.$(VERSION)
	ln -sf $< $@

$(FAISS_PLUGIN): $(FAISS_SHIM:%.cpp=$(B)/%.o)
	$(CXX) -shared -fopenmp $(LDFLAGS) -Wl,--no-undefined -o $@ $^ $(FAISS_LIBS)

# The binary links the static library: one file to install, fast start.
opsctl: $(CMD_OBJ) libopsmaint.a
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) libopsmaint.a $(LIBS)

# The .pc file names PREFIX, so it is written again by install with the
# install-time PREFIX and LIBDIR.  The public headers include
# <cjson/cJSON.h>, so a program built against libopsmaint needs cJSON's
# flags and library itself: Requires.  The others only the library uses.
PC_REQUIRES := libcjson
PC_LINES = 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: opsmaint' 'Description: maintenance library behind opsctl' \
	  'Version: $(VERSION)' 'Requires: $(PC_REQUIRES)' \
	  'Requires.private: $(filter-out $(PC_REQUIRES),$(PKGS_LINKED))' \
	  'Libs: -L$${libdir} -lopsmaint' 'Libs.private: -lpthread -lm' \
	  'Cflags: -I$${includedir}'
opsmaint.pc: Makefile
	printf '%s\n' $(PC_LINES) > $@

# Man pages and completions are generated from the command and option tables
# in cmd/ and the key table in lib/core/config_keys.def; the copies in the tree are
# kept current by the build and checked by the tests.
# `opsctl __gen man DIR` writes opsctl.1, opsctl.conf.5 and one
# opsctl-COMMAND.1 per command, rewriting only pages whose text changed.
docs: $(B)/man.stamp $(COMPLETIONS)
$(B)/man.stamp: opsctl
	@mkdir -p $(B)
	./opsctl __gen man man
	./opsctl __gen conf contrib
	touch $@
completions/opsctl.bash: opsctl
	./opsctl completion bash > $@.tmp && mv $@.tmp $@
completions/_opsctl: opsctl
	./opsctl completion zsh > $@.tmp && mv $@.tmp $@
completions/opsctl.fish: opsctl
	./opsctl completion fish > $@.tmp && mv $@.tmp $@

# Unit tests mirror lib/ (tests/unit/FOLDER/test_MODULE.c); those of the
# front end (tests/unit/cmd/test_X.c) also link cmd/X.o.  Their rules are
# static patterns: as implicit rules, make took the generic rule below
# whenever cmd/X.o was not built yet (build-asan/ on a fresh clone).
UNIT_CMD_BIN := $(filter $(B)/unit/cmd/%,$(UNIT_BIN))
ASAN_UNIT_CMD_BIN := $(filter $(BA)/unit/cmd/%,$(ASAN_UNIT_BIN))
$(UNIT_CMD_BIN): $(B)/unit/cmd/test_%: tests/unit/cmd/test_%.c tests/unit/unit.h $(B)/cmd/%.o \
		libopsmaint.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Icmd $(LDFLAGS) -o $@ $< $(B)/cmd/$*.o libopsmaint.a $(LIBS)
$(B)/unit/%: tests/unit/%.c tests/unit/unit.h libopsmaint.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< libopsmaint.a $(LIBS)
unit: $(UNIT_BIN)

$(BA)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(VISIBILITY) $(DEPFLAGS) $(SAN) -O1 -c -o $@ $<
$(BA)/libopsmaint.a: $(ASAN_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^
$(ASAN_UNIT_CMD_BIN): $(BA)/unit/cmd/test_%: tests/unit/cmd/test_%.c tests/unit/unit.h \
		$(BA)/cmd/%.o $(BA)/libopsmaint.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -Itests/unit -Icmd -o $@ $< $(BA)/cmd/$*.o $(BA)/libopsmaint.a $(LIBS)
$(BA)/unit/%: tests/unit/%.c tests/unit/unit.h $(BA)/libopsmaint.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -Itests/unit -o $@ $< $(BA)/libopsmaint.a $(LIBS)
unit-asan: $(ASAN_UNIT_BIN)

# The libFuzzer harness of the index loader (tests/fuzz); run for a bounded
# time by tests/integration/t420-vector-fuzz.sh.
FUZZ_CC ?= clang
$(B)/fuzz/fuzz_index_load: tests/fuzz/fuzz_index_load.c libopsmaint.a $(FAISS_PLUGIN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Ilib/include -Ilib $(PKG_CFLAGS) -g -O1 \
	  -fsanitize=fuzzer,address,undefined -o $@ $< libopsmaint.a $(LIBS)
# The COPY row parser's harness compiles lib/vector/vector_source.c itself,
# so the parser is instrumented and its static functions reachable.
$(B)/fuzz/fuzz_copy_row: tests/fuzz/fuzz_copy_row.c lib/vector/vector_source.c libopsmaint.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Ilib/include -Ilib $(PKG_CFLAGS) -g -O1 \
	  -fsanitize=fuzzer,address,undefined -o $@ $< libopsmaint.a $(LIBS)
fuzz: $(B)/fuzz/fuzz_index_load $(B)/fuzz/fuzz_copy_row

# The layers of DESIGN.md, the exports of libopsmaint.so and the module ->
# test map (tests/modules.map), read from the objects the build made.
check-layers: $(LIB_OBJ) $(CMD_OBJ) libopsmaint.so
	scripts/check-layers

check: all unit unit-asan fuzz check-layers
	scripts/test

# Quick subsets: `make check-unit`, or `scripts/test tests/integration/t110-*.sh`.
check-unit: unit unit-asan
	scripts/test --unit

# The README's first command: a sample knowledge-hub database (guide 003's
# shape) maintained end to end.
demo: opsctl
	scripts/demo

bench: opsctl
	tests/bench/run
	tests/bench/backup
	tests/bench/vector

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/opsmaint \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 opsctl $(DESTDIR)$(BINDIR)/opsctl
	install -d $(DESTDIR)$(PLUGINDIR)
	install -m 755 $(FAISS_PLUGIN) $(DESTDIR)$(PLUGINDIR)/$(FAISS_PLUGIN)
	install -m 644 libopsmaint.a $(DESTDIR)$(LIBDIR)/libopsmaint.a
	install -m 755 libopsmaint.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libopsmaint.so.$(VERSION)
	ln -sf libopsmaint.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libopsmaint.so.$(SOVERSION)
	ln -sf libopsmaint.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libopsmaint.so
	install -m 644 lib/include/opsmaint/*.h $(DESTDIR)$(INCLUDEDIR)/opsmaint/
	printf '%s\n' $(PC_LINES) > $(DESTDIR)$(PKGCONFIGDIR)/opsmaint.pc
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 completions/opsctl.bash $(DESTDIR)$(BASHCOMPDIR)/opsctl
	install -m 644 completions/_opsctl $(DESTDIR)$(ZSHCOMPDIR)/_opsctl
	install -m 644 completions/opsctl.fish $(DESTDIR)$(FISHCOMPDIR)/opsctl.fish
	install -d $(DESTDIR)$(SYSCONFDIR)/opsctl $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	  $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 contrib/opsctl.conf.sample $(DESTDIR)$(SYSCONFDIR)/opsctl/opsctl.conf.sample
	install -m 644 contrib/logrotate.opsctl $(DESTDIR)$(SYSCONFDIR)/logrotate.d/opsctl
	for u in $(UNITS); do \
	  sed 's|/usr/local/bin/opsctl|$(BINDIR)/opsctl|' $$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
	  chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; \
	done
	sed 's|/usr/local/bin|$(BINDIR)|' contrib/crontab.example >$(DESTDIR)$(DOCDIR)/crontab.example
	install -m 644 contrib/opsctl.conf.sample README.md $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/opsctl $(DESTDIR)$(LIBDIR)/libopsmaint.* \
	  $(DESTDIR)$(PKGCONFIGDIR)/opsmaint.pc $(DESTDIR)$(BASHCOMPDIR)/opsctl \
	  $(DESTDIR)$(ZSHCOMPDIR)/_opsctl $(DESTDIR)$(FISHCOMPDIR)/opsctl.fish \
	  $(DESTDIR)$(MANDIR)/man1/opsctl.1 $(DESTDIR)$(MANDIR)/man1/opsctl-*.1 \
	  $(DESTDIR)$(MANDIR)/man5/opsctl.conf.5 \
	  $(DESTDIR)$(SYSCONFDIR)/opsctl/opsctl.conf.sample $(DESTDIR)$(SYSCONFDIR)/logrotate.d/opsctl \
	  $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITS)))
	rm -rf $(DESTDIR)$(INCLUDEDIR)/opsmaint $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(DOCDIR)
	rmdir $(DESTDIR)$(SYSCONFDIR)/opsctl 2>/dev/null || true

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(ASAN_LIB_OBJ:.o=.d) $(ASAN_CMD_OBJ:.o=.d)

clean:
	rm -rf $(B) $(BA) opsctl libopsmaint.a libopsmaint.so libopsmaint.so.* opsmaint.pc $(FAISS_PLUGIN)
