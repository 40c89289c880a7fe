# tests/fuzz: the libFuzzer harnesses, one rule shape for all of them.
#
# A harness registers itself in the local.mk next to the code it tests:
#   VN_FUZZERS += NAME                  (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/NAME-seeds/)
#   VN_FUZZ_NAME_SRC = tests/fuzz/fuzz_NAME.c and the sources it needs (paths from top_srcdir)
#   VN_FUZZ_NAME_MAXLEN = the longest input worth trying (libFuzzer -max_len)
#   VN_FUZZ_NAME_CPPFLAGS, VN_FUZZ_NAME_LIBS   (optional)
# and gets, from the function below:
#   tests/fuzz/fuzz_NAME    the libFuzzer binary (needs clang: configure CC=clang)
#   tests/fuzz/replay_NAME  the harness without libFuzzer (tests/fuzz/replay.c), any compiler
#   make fuzz-NAME          FUZZ_SECONDS of fuzzing from a scratch copy of the seeds
#                           (tests/fuzz/run-fuzz.sh; a crashing input is kept)
# `make fuzz` runs every harness (-j2: two at a time); `make check` replays
# every seed and kept regression input through every replay_NAME once
# (tests/fuzz/test_seeds.sh), under ASan/UBSan in a sanitizer build.
#
# The rules are made with GNU make's $(call)/$(eval): automake's portability
# warnings about them are off (the build needs GNU make anyway).
AUTOMAKE_OPTIONS = -Wno-portability

FUZZ_SECONDS = 60
VN_FUZZ_CFLAGS = $(VNET_CFLAGS) $(AM_CPPFLAGS) $(LIBMNL_CFLAGS) -g -O1
# Every header a harness may include: a change rebuilds the harnesses.
VN_FUZZ_HDRS = $(wildcard $(top_srcdir)/libvnet/*.h $(top_srcdir)/libvnet/*/*.h \
	$(top_srcdir)/libvnet/include/vnet/*.h $(top_srcdir)/sockapi/*.h $(top_srcdir)/tools/*.h \
	$(top_srcdir)/tests/unit/*.h) config.h

define vn_fuzz_harness
tests/fuzz/fuzz_$(1): $$(VN_FUZZ_$(1)_SRC) $$(VN_FUZZ_HDRS)
	$$(AM_V_at)$$(MKDIR_P) tests/fuzz
	$$(AM_V_CCLD)$$(CC) $$(VN_FUZZ_CFLAGS) $$(VN_FUZZ_$(1)_CPPFLAGS) \
		-fsanitize=fuzzer,address,undefined -o $$@ $$(filter %.c,$$^) \
		$$(VN_FUZZ_$(1)_LIBS) -lpthread
tests/fuzz/replay_$(1): tests/fuzz/replay.c $$(VN_FUZZ_$(1)_SRC) $$(VN_FUZZ_HDRS)
	$$(AM_V_at)$$(MKDIR_P) tests/fuzz
	$$(AM_V_CCLD)$$(CC) $$(VN_FUZZ_CFLAGS) $$(VN_FUZZ_$(1)_CPPFLAGS) $$(VNET_LDFLAGS) \
		-o $$@ $$(filter %.c,$$^) $$(VN_FUZZ_$(1)_LIBS) -lpthread
fuzz-$(1): tests/fuzz/fuzz_$(1)
	$$(AM_V_at)$$(SHELL) $$(top_srcdir)/tests/fuzz/run-fuzz.sh $(1) \
		$$(VN_FUZZ_$(1)_MAXLEN) $$(FUZZ_SECONDS) $$(top_srcdir)/tests/fuzz/$(1)-seeds
.PHONY: fuzz-$(1)
endef
$(foreach h,$(VN_FUZZERS),$(eval $(call vn_fuzz_harness,$(h))))

if HAVE_LIBFUZZER
fuzz: $(VN_FUZZERS:%=fuzz-%)
else
fuzz:
	@echo "make fuzz: $(CC) cannot build libFuzzer harnesses; configure with CC=clang" >&2; exit 1
endif
.PHONY: fuzz

VN_FUZZ_REPLAYS = $(VN_FUZZERS:%=tests/fuzz/replay_%)
TESTS += tests/fuzz/test_seeds.sh
tests/fuzz/test_seeds.log: $(VN_FUZZ_REPLAYS)
AM_TESTS_ENVIRONMENT += VN_FUZZERS='$(VN_FUZZERS)'; export VN_FUZZERS;

EXTRA_DIST += tests/fuzz/replay.c tests/fuzz/run-fuzz.sh tests/fuzz/test_seeds.sh \
	$(VN_FUZZERS:%=tests/fuzz/fuzz_%.c) $(VN_FUZZERS:%=tests/fuzz/%-seeds)
CLEANFILES += $(VN_FUZZERS:%=tests/fuzz/fuzz_%) $(VN_FUZZ_REPLAYS)
clean-local: clean-fuzz
clean-fuzz:
	-rm -rf $(VN_FUZZERS:%=tests/fuzz/%.corpus) $(VN_FUZZERS:%=tests/fuzz/%.crashes) \
		$(VN_FUZZERS:%=tests/fuzz/%.fuzz.log) $(VN_FUZZERS:%=tests/fuzz/%.replay.err)
.PHONY: clean-fuzz
