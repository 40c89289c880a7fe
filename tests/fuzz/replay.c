/* SPDX-License-Identifier: MIT */
/*
 * A libFuzzer harness without libFuzzer: runs LLVMFuzzerTestOneInput() once
 * over each file named on the command line (a directory: each file in it, in
 * name order), so that any compiler can replay the seeds and kept crash
 * inputs (tests/fuzz/test_seeds.sh in `make check`). Like libFuzzer, each
 * input is given in a heap buffer of exactly its size, so that a sanitizer
 * sees a read past its end. Exit status 0, or 1 when a file cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n = -1;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc(n ? (size_t)n : 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		return 0;
	}
	fprintf(stderr, "replay: %s: %s\n", path, f ? "read failed" : strerror(errno));
	if (f)
		fclose(f);
	free(buf);
	return -1;
}

static int skip_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Every file of dir in name order; the count replayed, or -1. */
static int replay_dir(const char *dir)
{
	struct dirent **e;
	int n = scandir(dir, &e, skip_dots, alphasort), done = 0, rc = 0;

	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, e[i]->d_name);
		if (replay_file(path))
			rc = -1;
		else
			done++;
		free(e[i]);
	}
	free(e);
	return rc ? rc : done;
}

int main(int argc, char **argv)
{
	int total = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		int n;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			n = replay_dir(argv[i]);
		else
			n = replay_file(argv[i]) ? -1 : 1;
		if (n < 0)
			rc = 1;
		else
			total += n;
	}
	printf("replayed %d inputs\n", total);
	return rc;
}
