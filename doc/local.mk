# doc/: `make doc` builds the HTML and man reference of the public headers
# with Doxygen into doc/html and doc/man of the build tree. Doxyfile fails
# on any warning, among them an undocumented public item.
if HAVE_DOXYGEN
doc: doc/Doxyfile
	$(AM_V_GEN)rm -rf doc/html doc/man && $(DOXYGEN) doc/Doxyfile && \
		echo "make doc: doc/html/index.html, doc/man/man3vnet/"
else
doc:
	@echo "make doc: skipped: configure found no doxygen (install it, then re-run configure)"
endif
.PHONY: doc
# the output of make doc (CLEANFILES takes no directories)
clean-local: clean-doc
clean-doc:
	-rm -rf doc/html doc/man
.PHONY: clean-doc

# The same run as a check, output thrown away; skipped without doxygen.
TESTS += tests/doc/check-doxygen.sh
EXTRA_DIST += tests/doc/check-doxygen.sh
