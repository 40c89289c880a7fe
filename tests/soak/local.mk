# tests/soak/: the soak (tests/soak/soak.py says what it does and checks).
# `make soak` runs it for SOAK_SECONDS (default 600; SOAK_SEED=N replays a
# plan); make check runs 15 s of it (tests/soak/test_soak.sh), and .ci/run
# a minute.
soak: all
	python3 $(srcdir)/tests/soak/soak.py --builddir $(abs_top_builddir) \
		--seconds $${SOAK_SECONDS:-600}
.PHONY: soak
TESTS += tests/soak/test_soak.sh
EXTRA_DIST += tests/soak/soak.py tests/soak/test_soak.sh
