# tests/: integration tests over the simulated device, and the valgrind pass.
# Unit tests are registered next to the code they test (each directory's local.mk).

# Tests scale their frame counts down under valgrind (VNET_TEST_QUICK=1):
# they still check every byte of every frame they move.
VALGRIND_CMD = $(LIBTOOL) --mode=execute $(VALGRIND) --quiet --error-exitcode=99 \
	--leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
check-valgrind:
	$(MAKE) $(AM_MAKEFLAGS) check LOG_COMPILER="$(VALGRIND_CMD)" \
		TESTS_ENVIRONMENT="VNET_TEST_QUICK=1; export VNET_TEST_QUICK;"
.PHONY: check-valgrind
